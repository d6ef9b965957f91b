//! The statistics the report draws its conclusions with: least squares on log data size,
//! uncertainty of a run's pass@1, paired comparisons of two runs on the same problems.

mod ols;
mod paired;
mod quantile;
mod uncertainty;

pub use ols::{Ols, PowerLaw, ols, power_law};
pub(crate) use paired::cohens_h;
pub use paired::{Paired, mcnemar_exact_p, paired};
pub use quantile::{Z95, t95};
pub use uncertainty::{Estimate, IntervalSource, difference_interval, estimate};
pub(crate) use valley_metrics::SplitMix64;
