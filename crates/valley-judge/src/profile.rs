//! Judge profiles: whose verdicts to reproduce, with which limits.

use valley_types::ExtractMode;

use crate::protocol::Runner;

/// Which grader's verdicts the judge reproduces. Recorded in every verdict record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Profile {
    /// LiveCodeBench's grader (nvidia-livecodebench 26.3): in-process tests with its stdin/stdout
    /// emulation, 6 s SIGALRM per test, `(t + 1) × tests + 5` s per record, first-failure stop,
    /// exact-or-Decimal line comparison. For pass@1.
    #[default]
    Lcb,
    /// TACO's grader: a process per stdin test, 4 s wall, all tests run, lenient comparison.
    /// For labelling training data the way published TACO-graded data was labelled.
    Taco,
    /// TACO's process model with DMOJ's standard comparison; a crash is a failure.
    TacoStrict,
    /// DMOJ-style: the unmodified program per test, CPU and memory limits, token comparison with
    /// optional float tolerance, verdict precedence TLE > MLE > OLE > RE > WA.
    Strict,
}

impl Profile {
    /// Every profile.
    pub const ALL: [Profile; 4] = [Self::Lcb, Self::Taco, Self::TacoStrict, Self::Strict];

    /// The profile's name (`lcb`, `taco`, `taco-strict`, `strict`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Lcb => "lcb",
            Self::Taco => "taco",
            Self::TacoStrict => "taco-strict",
            Self::Strict => "strict",
        }
    }

    /// Per-test time limit in seconds when none is given (LCB 6, TACO 4, strict 6 s of CPU).
    pub fn default_timeout(self) -> f64 {
        match self {
            Self::Lcb | Self::Strict => 6.0,
            Self::Taco | Self::TacoStrict => 4.0,
        }
    }

    /// How code is taken from a response when a candidate has no `code`.
    pub fn extract_mode(self) -> ExtractMode {
        match self {
            Self::Lcb => ExtractMode::Lcb,
            _ => ExtractMode::Lenient,
        }
    }

    /// Modules of the declared environment ([`crate::env`]) this profile cannot judge without:
    /// numpy for LiveCodeBench (its grader imports it, so programs that use it run there) and
    /// TACO (its test header imports it into every program); none for `strict`. Checked once
    /// when the judge starts.
    pub fn required_modules(self) -> &'static [&'static str] {
        match self {
            Self::Lcb | Self::Taco | Self::TacoStrict => &["numpy"],
            Self::Strict => &[],
        }
    }

    pub(crate) fn runner(self) -> Runner {
        match self {
            Self::Lcb => Runner::Lcb,
            Self::Taco | Self::TacoStrict => Runner::Taco,
            Self::Strict => Runner::Strict,
        }
    }

    /// `sys.set_int_max_str_digits` as the reference sets it (LCB raises it to 50000).
    pub(crate) fn int_max_str_digits(self) -> u32 {
        match self {
            Self::Lcb => 50_000,
            _ => 4300,
        }
    }

    /// Seconds the whole record may take before the grading child is killed.
    pub(crate) fn record_deadline(self, timeout: f64, tests: usize) -> f64 {
        let n = tests as f64;
        match self {
            // LCB's own global deadline, with whole-second timeouts.
            Self::Lcb => (timeout.ceil() + 1.0) * n + 5.0,
            // A test may run three times (TACO's retries) at 4 s each.
            Self::Taco | Self::TacoStrict => (3.0 * timeout + 1.0) * (2.0 * n) + 5.0,
            Self::Strict => (2.0 * timeout + 1.0) * n + 5.0,
        }
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|p| p.name() == s).ok_or_else(|| {
            format!("unknown profile `{s}` (expected lcb, taco, taco-strict or strict)")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_lcb_deadline_matches_the_reference() {
        for p in Profile::ALL {
            assert_eq!(p.name().parse::<Profile>().unwrap(), p);
        }
        assert_eq!(Profile::Lcb.record_deadline(6.0, 2), 19.0);
        assert_eq!(Profile::Lcb.record_deadline(6.0, 100), 705.0);
    }
}
