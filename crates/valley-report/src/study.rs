//! A study's runs arranged as the report reads them: one scaling curve per student, and split
//! stages (a student, or a run continued from, trained further on data groups).

use std::collections::{BTreeMap, HashMap};

use valley_types::RunResult;

/// A run record that does not fit the study, by its position in the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {message}")]
pub struct StudyError {
    /// Index of the offending run in the input (0-based).
    pub index: usize,
    /// The field at fault.
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

/// Where a run sits in the grid: model, base, split, data size.
type Place<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<u64>);

/// One student's scaling curve: its untrained baseline and its runs by data size.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// The student (`model` of its runs).
    pub model: String,
    /// Display name.
    pub label: String,
    /// The `data_size: 0` run, if any.
    pub baseline: Option<usize>,
    /// Trained runs (no split, no base), by increasing data size.
    pub points: Vec<usize>,
}

/// One column of the split table: a starting point (the student, or a run continued from) and
/// the runs trained further on data groups.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// The student.
    pub model: String,
    /// The run continued from, if any.
    pub base: Option<String>,
    /// Display name (`Qwen 2.5`, `Qwen 2.5-30K`).
    pub label: String,
    /// The run that is this stage's baseline: the untrained student, or the base run.
    pub baseline: Option<usize>,
    /// Split runs by split name.
    pub splits: BTreeMap<String, usize>,
}

/// The runs of a study, validated and arranged.
#[derive(Debug, Clone, PartialEq)]
pub struct Study {
    /// Every run, in input order.
    pub runs: Vec<RunResult>,
    /// One curve per student, in order of first appearance.
    pub curves: Vec<Curve>,
    /// Split stages, in order of first appearance.
    pub stages: Vec<Stage>,
}

impl Study {
    /// Validates and arranges `runs`: each record valid on its own, run names unique, every
    /// `base` naming a run of the same student, no two runs in the same place of the grid.
    pub fn new(runs: Vec<RunResult>) -> Result<Self, StudyError> {
        let err = |index, field, message: String| StudyError { index, field, message };
        let mut by_name: HashMap<&str, usize> = HashMap::new();
        for (i, r) in runs.iter().enumerate() {
            r.validate().map_err(|(f, m)| err(i, f, m))?;
            if let Some(first) = by_name.insert(&r.run, i) {
                return Err(err(i, "run", format!("`{}` already names run {}", r.run, first + 1)));
            }
        }
        let mut places: HashMap<Place<'_>, usize> = HashMap::new();
        for (i, r) in runs.iter().enumerate() {
            if let Some(base) = &r.base {
                let Some(&b) = by_name.get(base.as_str()) else {
                    return Err(err(i, "base", format!("no run named `{base}`")));
                };
                if b == i {
                    return Err(err(i, "base", "a run cannot continue from itself".into()));
                }
                if runs[b].model != r.model {
                    return Err(err(
                        i,
                        "base",
                        format!("`{base}` is a run of `{}`, not of `{}`", runs[b].model, r.model),
                    ));
                }
            }
            let key = (r.model.as_str(), r.base.as_deref(), r.split.as_deref(), r.data_size);
            let key_without_size = (key.0, key.1, key.2, None);
            let mut clash = places.insert(key, i);
            if clash.is_none() && r.split.is_some() && r.data_size.is_some() {
                // a split is one place whatever its size
                clash = places.insert(key_without_size, i);
            }
            if let Some(first) = clash {
                let field = if r.split.is_some() { "split" } else { "data_size" };
                return Err(err(
                    i,
                    field,
                    format!(
                        "run `{}` is in the same place of the grid as run `{}` (model, base, split, data_size); replicates are not supported",
                        r.run, runs[first].run
                    ),
                ));
            }
        }

        let mut curves: Vec<Curve> = Vec::new();
        for (i, r) in runs.iter().enumerate() {
            let ci = match curves.iter().position(|c| c.model == r.model) {
                Some(ci) => ci,
                None => {
                    curves.push(Curve {
                        model: r.model.clone(),
                        label: r.model.clone(),
                        baseline: None,
                        points: Vec::new(),
                    });
                    curves.len() - 1
                }
            };
            let curve = &mut curves[ci];
            if r.is_baseline() {
                curve.baseline = Some(i);
                if let Some(l) = &r.label {
                    curve.label.clone_from(l);
                }
            } else if r.base.is_none() && r.split.is_none() {
                curve.points.push(i);
            }
        }
        for c in &mut curves {
            c.points.sort_by_key(|&i| runs[i].data_size);
        }

        let mut stages: Vec<Stage> = Vec::new();
        for (i, r) in runs.iter().enumerate() {
            let Some(split) = &r.split else { continue };
            let si = match stages.iter().position(|s| s.model == r.model && s.base == r.base) {
                Some(si) => si,
                None => {
                    let (label, baseline) = match &r.base {
                        Some(b) => {
                            let bi = by_name[b.as_str()];
                            (runs[bi].label.clone().unwrap_or_else(|| b.clone()), Some(bi))
                        }
                        None => {
                            let curve = curves.iter().find(|c| c.model == r.model);
                            let label = curve.map_or_else(|| r.model.clone(), |c| c.label.clone());
                            (label, curve.and_then(|c| c.baseline))
                        }
                    };
                    stages.push(Stage {
                        model: r.model.clone(),
                        base: r.base.clone(),
                        label,
                        baseline,
                        splits: BTreeMap::new(),
                    });
                    stages.len() - 1
                }
            };
            stages[si].splits.insert(split.clone(), i);
        }
        Ok(Self { runs, curves, stages })
    }
}

/// A data size as the paper writes it: `0` → `Baseline`, `1000` → `1K`, `1500` → `1.5K`,
/// `2000000` → `2M`, `500` → `500`.
pub fn size_label(size: u64) -> String {
    let short = |v: f64, unit: &str| {
        let t = format!("{v:.1}");
        format!("{}{unit}", t.strip_suffix(".0").unwrap_or(&t))
    };
    match size {
        0 => "Baseline".into(),
        s if s >= 1_000_000 => short(s as f64 / 1e6, "M"),
        s if s >= 1_000 => short(s as f64 / 1e3, "K"),
        s => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(json: &str) -> RunResult {
        let mut v: serde_json::Value = serde_json::from_str(json).unwrap();
        let m = v.as_object_mut().unwrap();
        m.entry("model").or_insert("m".into());
        m.entry("pass_at_1").or_insert(0.1.into());
        m.entry("n_problems").or_insert(10.into());
        m.entry("n_samples").or_insert(10.into());
        serde_json::from_value(v).unwrap()
    }

    fn check(lines: &[&str], expect: Result<(usize, usize), (usize, &str)>) -> Option<Study> {
        let got = Study::new(lines.iter().map(|l| run(l)).collect());
        match (&got, expect) {
            (Ok(s), Ok((curves, stages))) => {
                assert_eq!((s.curves.len(), s.stages.len()), (curves, stages))
            }
            (Err(e), Err((index, field))) => assert_eq!((e.index, e.field), (index, field), "{e}"),
            _ => panic!("{lines:?}: {got:?}"),
        }
        got.ok()
    }

    #[test]
    fn arranges_curves_and_stages() {
        let s = check(
            &[
                r#"{"run":"q30","data_size":30000}"#,
                r#"{"run":"q0","data_size":0,"label":"Qwen 2.5"}"#,
                r#"{"run":"q1","data_size":1000}"#,
                r#"{"run":"c","split":"correct","data_size":6000}"#,
                r#"{"run":"c30","split":"correct","base":"q30","data_size":6000}"#,
                r#"{"run":"l0","model":"l","data_size":0}"#,
            ],
            Ok((2, 2)),
        )
        .unwrap();
        assert_eq!(s.curves[0].points, [2, 0]);
        assert_eq!((s.curves[0].baseline, s.curves[0].label.as_str()), (Some(1), "Qwen 2.5"));
        assert_eq!((s.stages[0].baseline, s.stages[0].label.as_str()), (Some(1), "Qwen 2.5"));
        assert_eq!((s.stages[1].baseline, s.stages[1].label.as_str()), (Some(0), "q30"));
    }

    #[test]
    fn rejects_what_does_not_fit() {
        check(&[r#"{"run":"a","data_size":0}"#, r#"{"run":"a","data_size":1}"#], Err((1, "run")));
        check(
            &[r#"{"run":"a","data_size":1}"#, r#"{"run":"b","data_size":1}"#],
            Err((1, "data_size")),
        );
        check(
            &[r#"{"run":"a","split":"easy","data_size":4}"#, r#"{"run":"b","split":"easy"}"#],
            Err((1, "split")),
        );
        check(&[r#"{"run":"a","split":"easy","base":"x"}"#], Err((0, "base")));
        check(&[r#"{"run":"a","split":"easy","base":"a"}"#], Err((0, "base")));
        check(
            &[r#"{"run":"a","data_size":9}"#, r#"{"run":"b","model":"o","split":"e","base":"a"}"#],
            Err((1, "base")),
        );
        check(&[r#"{"run":"a","pass_at_1":2.0,"data_size":1}"#], Err((0, "pass_at_1")));
    }
}
