//! The report's artifacts, each rendered from the [`crate::Analysis`]: tables in Markdown, CSV
//! and LaTeX, figures in SVG and PNG (the valley of pass@1, the completion and think-tag rates of
//! the paper's Table 1, and where the samples ended), and the HTML page that gathers them.

mod csv;
mod decomposition;
mod format;
mod frame;
mod html;
mod latex;
mod markdown;
mod png;
mod rates_svg;
mod svg;

pub use csv::{comparisons_csv, runs_csv, scaling_csv, splits_csv};
pub use decomposition::{decomposition_csv, decomposition_md, decomposition_svg};
pub use format::size_label;
pub use html::index_html;
pub use latex::{scaling_tex, splits_tex};
pub use markdown::{scaling_md, splits_md};
pub use png::{RenderPngError, svg_to_png};
pub use rates_svg::rates_svg;
pub use svg::valley_svg;
