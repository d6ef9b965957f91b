//! The embedded Python harness (`python/*.py`), concatenated in dependency order into the one
//! program the sandbox runs with `python -c`.

/// The harness source: shared helpers, the profiles, then the zygote's main loop.
pub(crate) const HARNESS: &str = concat!(
    include_str!("../python/common.py"),
    "\n",
    include_str!("../python/lcb.py"),
    "\n",
    include_str!("../python/taco.py"),
    "\n",
    include_str!("../python/strict.py"),
    "\n",
    include_str!("../python/assert_style.py"),
    "\n",
    include_str!("../python/zygote.py"),
);

#[cfg(test)]
mod tests {
    #[test]
    fn harness_ends_by_calling_main_and_defines_every_runner() {
        let h = super::HARNESS;
        assert!(h.trim_end().ends_with("main()"));
        for f in ["def lcb_run(", "def taco_run(", "def strict_run(", "def assert_run("] {
            assert!(h.contains(f), "{f}");
        }
    }
}
