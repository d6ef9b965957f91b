//! The failure decomposition of an evaluated run: where each sample's attempt ended.
//!
//! `valley eval` computes it (`valley_metrics::failure_decomposition`), `metrics.json` and the
//! run-result record carry it, and `valley report` draws it across data sizes, so a reader sees
//! how much of a valley is reasoning that never finished rather than code that is wrong
//! (issue 13).

use serde::{Deserialize, Serialize};

/// Shares of a run's samples, each sample counted once, in this order: `passed` (whether or not
/// it finished), else `not_finished` (cut at the token budget), else `no_code` (finished, nothing
/// to run), else `failed` (ran and did not pass). The four sum to 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailureDecomposition {
    /// Samples whose code passed every test.
    pub passed: f64,
    /// Samples that did not pass and were cut at the token budget.
    pub not_finished: f64,
    /// Samples that finished without code to run.
    pub no_code: f64,
    /// Samples that finished, submitted code, and failed.
    pub failed: f64,
}

impl FailureDecomposition {
    /// The four shares with their names, in the decomposition's order.
    pub fn parts(&self) -> [(&'static str, f64); 4] {
        [
            ("passed", self.passed),
            ("not_finished", self.not_finished),
            ("no_code", self.no_code),
            ("failed", self.failed),
        ]
    }

    /// Checks what serde cannot: every share in [0, 1], the four summing to 1 (within 1e-6).
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in self.parts() {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("`{name}`: {v} is outside [0, 1]"));
            }
        }
        let sum: f64 = self.parts().iter().map(|(_, v)| v).sum();
        if (sum - 1.0).abs() > 1e-6 {
            return Err(format!("the four shares sum to {sum}, not 1"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_shares() {
        let d = FailureDecomposition { passed: 0.1, not_finished: 0.6, no_code: 0.1, failed: 0.2 };
        assert_eq!(d.validate(), Ok(()));
        let bad = FailureDecomposition { failed: 0.3, ..d };
        assert!(bad.validate().unwrap_err().contains("sum"));
        let neg = FailureDecomposition { passed: -0.1, failed: 0.4, ..d };
        assert!(neg.validate().unwrap_err().contains("passed"));
        let json = serde_json::to_value(d).unwrap();
        assert_eq!(json["not_finished"], 0.6);
    }
}
