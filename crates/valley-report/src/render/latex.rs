//! LaTeX tables (booktabs), ready to `\input` into a paper.

use std::fmt::Write as _;

use super::format::{opt, size_label};
use crate::analysis::{Analysis, Provenance};

/// Escapes LaTeX's special characters.
fn tex(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\textbackslash{}"),
            '&' | '%' | '$' | '#' | '_' | '{' | '}' => {
                out.push('\\');
                out.push(ch);
            }
            '~' => out.push_str("\\textasciitilde{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            '—' => out.push_str("---"),
            _ => out.push(ch),
        }
    }
    out
}

/// The scaling table: one block per student, as the paper's Table 1 with pass@1 added.
pub fn scaling_tex(analysis: &Analysis, provenance: &Provenance) -> String {
    let mut s = format!(
        "% {}\n\\begin{{tabular}}{{llrlrr}}\n\\toprule\nStudent & Data & pass@1 & 95\\% CI & Completion rate & Think tag rate \\\\\n",
        provenance.line()
    );
    for f in &analysis.students {
        s.push_str("\\midrule\n");
        for (i, p) in f.baseline.iter().chain(&f.points).enumerate() {
            let _ = writeln!(
                s,
                "{} & {} & {:.3} & [{:.3}, {:.3}] & {} & {} \\\\",
                if i == 0 { tex(&f.label) } else { String::new() },
                size_label(p.data_size),
                p.pass_at_1,
                p.pass_at_1_ci95[0],
                p.pass_at_1_ci95[1],
                tex(&opt(p.completion_rate, 4)),
                tex(&opt(p.think_tag_rate, 4)),
            );
        }
    }
    s.push_str("\\bottomrule\n\\end{tabular}\n");
    s
}

/// The split table in the paper's Table 2 layout.
pub fn splits_tex(analysis: &Analysis, provenance: &Provenance) -> Option<String> {
    let t = analysis.splits.as_ref()?;
    let mut s = format!(
        "% {}\n\\begin{{tabular}}{{l{}}}\n\\toprule\nDataset",
        provenance.line(),
        "r".repeat(t.stages.len())
    );
    for c in &t.stages {
        let _ = write!(s, " & {}", tex(&c.label));
    }
    s.push_str(" \\\\\n\\midrule\nBaseline");
    for c in &t.stages {
        let _ = write!(s, " & {}", tex(&opt(c.baseline.as_ref().map(|b| b.pass_at_1), 3)));
    }
    s.push_str(" \\\\\n");
    for (ri, r) in t.rows.iter().enumerate() {
        s.push_str(&tex(&r.label));
        for c in &t.stages {
            let _ = write!(s, " & {}", tex(&opt(c.cells[ri].as_ref().map(|b| b.pass_at_1), 3)));
        }
        s.push_str(" \\\\\n");
    }
    s.push_str("\\bottomrule\n\\end{tabular}\n");
    Some(s)
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes() {
        assert_eq!(super::tex("a_b & 50% {x}"), "a\\_b \\& 50\\% \\{x\\}");
        assert_eq!(super::tex("—"), "---");
    }
}
