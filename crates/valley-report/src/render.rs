//! The report's artifacts, each rendered from the [`crate::Analysis`]: tables in Markdown, CSV
//! and LaTeX, figures in SVG and PNG, and the HTML page that gathers them.

mod csv;
mod format;
mod html;
mod latex;
mod markdown;
mod png;
mod svg;

pub use csv::{comparisons_csv, runs_csv, scaling_csv, splits_csv};
pub use format::size_label;
pub use html::index_html;
pub use latex::{scaling_tex, splits_tex};
pub use markdown::{scaling_md, splits_md};
pub use png::{RenderPngError, svg_to_png};
pub use svg::valley_svg;
