//! CSV tables (RFC 4180 quoting), one row per run or comparison, for spreadsheets and scripts.

use std::fmt::Write as _;

use crate::analysis::Analysis;

pub(crate) fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(String::new, |x| format!("{x}"))
}

fn row(out: &mut String, fields: &[String]) {
    let line: Vec<String> = fields.iter().map(|f| field(f)).collect();
    let _ = writeln!(out, "{}", line.join(","));
}

/// Every curve point: `model,label,run,data_size,pass_at_1,ci95_lo,ci95_hi,ci_source,
/// completion_rate,think_tag_rate,n_problems,n_samples`.
pub fn scaling_csv(analysis: &Analysis) -> String {
    let mut s = String::from(
        "model,label,run,data_size,pass_at_1,ci95_lo,ci95_hi,ci_source,completion_rate,think_tag_rate,n_problems,n_samples\n",
    );
    for f in &analysis.students {
        for p in f.baseline.iter().chain(&f.points) {
            row(
                &mut s,
                &[
                    f.model.clone(),
                    f.label.clone(),
                    p.run.clone(),
                    p.data_size.to_string(),
                    format!("{}", p.pass_at_1),
                    format!("{}", p.pass_at_1_ci95[0]),
                    format!("{}", p.pass_at_1_ci95[1]),
                    p.ci_source.name().into(),
                    num(p.completion_rate),
                    num(p.think_tag_rate),
                    p.n_problems.to_string(),
                    p.n_samples.to_string(),
                ],
            );
        }
    }
    s
}

/// The Table 2 layout: `dataset,<stage>,<stage>…`, pass@1 in each cell (empty: no run).
pub fn splits_csv(analysis: &Analysis) -> Option<String> {
    let t = analysis.splits.as_ref()?;
    let mut s = String::new();
    let mut head = vec!["dataset".to_owned()];
    head.extend(t.stages.iter().map(|c| c.label.clone()));
    row(&mut s, &head);
    let mut base = vec!["Baseline".to_owned()];
    base.extend(t.stages.iter().map(|c| num(c.baseline.as_ref().map(|b| b.pass_at_1))));
    row(&mut s, &base);
    for (ri, r) in t.rows.iter().enumerate() {
        let mut line = vec![r.label.clone()];
        line.extend(t.stages.iter().map(|c| num(c.cells[ri].as_ref().map(|b| b.pass_at_1))));
        row(&mut s, &line);
    }
    Some(s)
}

/// Every comparison with its statistics.
pub fn comparisons_csv(analysis: &Analysis) -> Option<String> {
    let t = analysis.splits.as_ref()?;
    let mut s = String::from(
        "stage,a,b,difference,relative_difference,ci95_lo,ci95_hi,method,significant,cohens_h,n_common,a_better,b_better,mcnemar_p,cohens_dz\n",
    );
    for c in &t.comparisons {
        let p = c.paired.as_ref();
        row(
            &mut s,
            &[
                c.stage.clone(),
                c.a.clone(),
                c.b.clone(),
                format!("{}", c.difference),
                num(c.relative_difference),
                format!("{}", c.ci95[0]),
                format!("{}", c.ci95[1]),
                c.method.into(),
                c.significant.to_string(),
                format!("{}", c.cohens_h),
                p.map_or_else(String::new, |p| p.n_common.to_string()),
                p.map_or_else(String::new, |p| p.a_better.to_string()),
                p.map_or_else(String::new, |p| p.b_better.to_string()),
                num(p.map(|p| p.mcnemar_p)),
                num(p.and_then(|p| p.cohens_dz)),
            ],
        );
    }
    Some(s)
}

/// Every run, in input order.
pub fn runs_csv(analysis: &Analysis) -> String {
    let mut s = String::from(
        "run,model,base,split,data_size,pass_at_1,ci95_lo,ci95_hi,ci_source,completion_rate,think_tag_rate,n_problems,n_samples\n",
    );
    for r in &analysis.runs {
        row(
            &mut s,
            &[
                r.run.clone(),
                r.model.clone(),
                r.base.clone().unwrap_or_default(),
                r.split.clone().unwrap_or_default(),
                r.data_size.map_or_else(String::new, |d| d.to_string()),
                format!("{}", r.pass_at_1.value),
                format!("{}", r.pass_at_1.ci95[0]),
                format!("{}", r.pass_at_1.ci95[1]),
                r.pass_at_1.source.name().into(),
                num(r.completion_rate),
                num(r.think_tag_rate),
                r.n_problems.to_string(),
                r.n_samples.to_string(),
            ],
        );
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn quoting() {
        assert_eq!(super::field("a,b"), "\"a,b\"");
        assert_eq!(super::field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(super::field("plain"), "plain");
    }
}
