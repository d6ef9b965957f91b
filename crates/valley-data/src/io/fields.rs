//! Field mapping: read a record field from a differently named input column
//! (`--field response=output`).

/// Which input column each record field is read from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldMap {
    pairs: Vec<(String, String)>,
}

impl FieldMap {
    /// Parses `FIELD=COLUMN` specs; a field may be mapped once, and a column read once.
    pub fn parse<S: AsRef<str>>(specs: &[S]) -> Result<Self, String> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for spec in specs {
            let spec = spec.as_ref();
            let (field, column) = spec
                .split_once('=')
                .map(|(f, c)| (f.trim(), c.trim()))
                .filter(|(f, c)| !f.is_empty() && !c.is_empty())
                .ok_or_else(|| format!("invalid field mapping `{spec}` (expected FIELD=COLUMN)"))?;
            if pairs.iter().any(|(f, _)| f == field) {
                return Err(format!("field `{field}` is mapped twice"));
            }
            if pairs.iter().any(|(_, c)| c == column) {
                return Err(format!("column `{column}` is mapped twice"));
            }
            pairs.push((field.to_owned(), column.to_owned()));
        }
        Ok(Self { pairs })
    }

    /// Whether no field is mapped.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The input column a record field is read from.
    pub fn column_of<'a>(&'a self, field: &'a str) -> &'a str {
        self.pairs.iter().find(|(f, _)| f == field).map_or(field, |(_, c)| c.as_str())
    }

    /// A field's name for messages that wrap it in backticks: `` response` (column `output ``
    /// when mapped, so that `` `{}` `` reads `` `response` (column `output`) ``.
    pub fn describe(&self, field: &str) -> String {
        match self.mapped_column(field) {
            Some(c) => format!("{field}` (column `{c}"),
            None => field.to_owned(),
        }
    }

    /// The input column a field was mapped from, if it was.
    pub fn mapped_column(&self, field: &str) -> Option<&str> {
        self.pairs.iter().find(|(f, _)| f == field).map(|(_, c)| c.as_str())
    }

    /// The first mapped field whose column the row lacks, as (field, column). A column the user
    /// named must be there: read as absent, an optional field (a candidate's `code`) would
    /// silently become "nothing" in every row (issue 14).
    pub fn absent_column(
        &self,
        row: &serde_json::Map<String, serde_json::Value>,
    ) -> Option<(&str, &str)> {
        self.pairs.iter().find(|(_, c)| !row.contains_key(c)).map(|(f, c)| (f.as_str(), c.as_str()))
    }

    /// Renames the mapped columns of a row to their record fields. A mapped column that is absent
    /// leaves the field absent (even when a column of the field's own name exists), so decoding
    /// reports it as missing. Swaps (`--field question=response --field response=question`)
    /// work.
    pub fn apply(&self, row: &mut serde_json::Map<String, serde_json::Value>) {
        let moved: Vec<_> = self.pairs.iter().map(|(f, c)| (f, row.shift_remove(c))).collect();
        for (field, value) in moved {
            // A column named like a mapped field is shadowed by the mapping.
            row.shift_remove(field);
            if let Some(v) = value {
                row.insert(field.clone(), v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_apply() {
        let m = FieldMap::parse(&["response=output", " question = input "]).unwrap();
        let mut row = serde_json::json!({"id": 1, "input": "q", "output": "r"});
        m.apply(row.as_object_mut().unwrap());
        assert_eq!(row, serde_json::json!({"id": 1, "question": "q", "response": "r"}));
        assert_eq!(m.column_of("response"), "output");
        assert_eq!(m.column_of("id"), "id");
        let mut row = serde_json::json!({"response": "old"});
        m.apply(row.as_object_mut().unwrap());
        assert_eq!(row, serde_json::json!({}), "a mapped field never falls back to its own column");
        let row = serde_json::json!({"output": "r"});
        assert_eq!(m.absent_column(row.as_object().unwrap()), Some(("question", "input")));
        let row = serde_json::json!({"output": null, "input": "q"});
        assert_eq!(m.absent_column(row.as_object().unwrap()), None);
        let swap = FieldMap::parse(&["question=response", "response=question"]).unwrap();
        let mut row = serde_json::json!({"question": "r", "response": "q"});
        swap.apply(row.as_object_mut().unwrap());
        assert_eq!(row, serde_json::json!({"question": "q", "response": "r"}));
    }

    #[test]
    fn rejects_bad_specs() {
        assert!(FieldMap::parse(&["response"]).is_err());
        assert!(FieldMap::parse(&["=x"]).is_err());
        assert!(FieldMap::parse(&["a=x", "a=y"]).is_err());
        assert!(FieldMap::parse(&["a=x", "b=x"]).is_err());
    }
}
