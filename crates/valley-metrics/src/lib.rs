//! Pure metric functions over valley records: pass@k, completion rate, think-tag rate, and their
//! confidence intervals. No I/O.
//!
//! - [`pass_at_k`] (one problem) and [`mean_pass_at_k`] (a benchmark): the unbiased estimator of
//!   Chen et al. (2021), as LiveCodeBench computes it;
//! - [`bootstrap_mean_ci`]: a percentile bootstrap interval of a mean over problems, seeded so the
//!   same inputs give the same interval on every machine;
//! - [`Rate`] and the per-response rates: [`completion_rate`], [`think_tag_rate`],
//!   [`closed_think_rate`], [`no_code_rate`];
//! - [`failure_decomposition`]: the share of samples passed, not finished, without code, failed;
//! - [`summarize`]: all of them for a set of judged samples ([`EvalSummary`]);
//! - [`nearest_rank`] and [`interpolated`] percentiles, and [`length_stats`] of response lengths;
//! - [`SplitMix64`]: the one seeded generator every stage draws from.
//!
//! ```
//! use valley_metrics::{Counts, Rate, bootstrap_mean_ci, mean_pass_at_k, think_tag_rate, Bootstrap};
//! let problems = [Counts { n: 4, c: 1 }, Counts { n: 4, c: 4 }];
//! assert_eq!(mean_pass_at_k(&problems, 1), Some(0.625));
//! let ci = bootstrap_mean_ci(&[0.25, 1.0], &Bootstrap::default()).unwrap();
//! assert!(ci.lo >= 0.25 && ci.hi <= 1.0);
//! let r = think_tag_rate(["<think>a</think>b", "b"]);
//! assert_eq!(r, Rate { count: 1, total: 2 });
//! ```

mod bootstrap;
mod completion;
mod failure_decomposition;
mod no_code;
mod pass_at_k;
mod percentile;
mod rate;
mod rng;
mod summary;
mod think_tag;

pub use bootstrap::{Bootstrap, Interval, bootstrap_mean_ci};
pub use completion::completion_rate;
pub use failure_decomposition::failure_decomposition;
pub use no_code::no_code_rate;
pub use pass_at_k::{Counts, mean_pass_at_k, pass_at_k};
pub use percentile::{interpolated, length_stats, nearest_rank};
pub use rate::Rate;
pub use rng::SplitMix64;
pub use summary::{EvalSummary, SampleOutcome, summarize};
pub use think_tag::{closed_think_rate, think_tag_rate};
