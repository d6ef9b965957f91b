//! What every figure shares, written once: the canvas (size, font, white ground), the heading
//! and its subtitle, grid lines with their labels, ticks on the x axis and the axes themselves.
//! The figures are hand-written SVG rather than a plotting crate's: three small figures whose
//! bytes are stable for the golden tests, rasterised to PNG by resvg ([`super::svg_to_png`]).
//!
//! Text uses DejaVu Sans, the font the PNG is rasterised with (embedded in this crate), so both
//! look the same.

use std::fmt::Write as _;

use crate::analysis::Provenance;

/// Figure width and height (every figure's).
pub(super) const W: f64 = 720.0;
pub(super) const H: f64 = 460.0;

/// Escapes text for XML.
pub(crate) fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A figure's plot area, in pixels of the [`W`] × [`H`] canvas.
pub(super) struct Frame {
    pub(super) left: f64,
    pub(super) right: f64,
    pub(super) top: f64,
    pub(super) bottom: f64,
}

impl Frame {
    /// Opens the figure: `<svg>`, the provenance as a comment, the `title` (what a browser
    /// shows), the ground, and the `heading` with its `subtitle` (in `subtitle_size` points)
    /// above the plot. The texts are escaped here.
    pub(super) fn open(
        &self,
        s: &mut String,
        provenance: &Provenance,
        title: &str,
        heading: &str,
        (subtitle, subtitle_size): (&str, u32),
    ) {
        let _ = write!(
            s,
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="DejaVu Sans, sans-serif" font-size="13">
<!-- {0} -->
<title>{1}</title>
<rect width="{W}" height="{H}" fill="#ffffff"/>
<text x="{3}" y="26" font-size="17" font-weight="bold">{2}</text>
<text x="{3}" y="46" font-size="{subtitle_size}" fill="#444444">{4}</text>
"##,
            xml(&provenance.line()),
            xml(title),
            xml(heading),
            self.left,
            xml(subtitle),
        );
    }

    /// A horizontal grid line at pixel row `y`, its value `label` left of the plot.
    pub(super) fn y_grid(&self, s: &mut String, y: f64, label: &str) {
        let _ = write!(
            s,
            r##"<line x1="{0}" y1="{2:.1}" x2="{1}" y2="{2:.1}" stroke="#e6e6e6"/>
<text x="{3}" y="{4:.1}" text-anchor="end" fill="#333333">{label}</text>
"##,
            self.left,
            self.right,
            y,
            self.left - 8.0,
            y + 4.5
        );
    }

    /// A vertical grid line at pixel column `x`, its tick below the axis and `label` under it.
    pub(super) fn x_tick(&self, s: &mut String, x: f64, label: &str) {
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" y1="{0}" x2="{x:.1}" y2="{1}" stroke="#f0f0f0"/>
<line x1="{x:.1}" y1="{1}" x2="{x:.1}" y2="{2}" stroke="#333333"/>
<text x="{x:.1}" y="{3}" text-anchor="middle" fill="#333333">{label}</text>
"##,
            self.top,
            self.bottom,
            self.bottom + 5.0,
            self.bottom + 20.0,
        );
    }

    /// The x and y axes and their names.
    pub(super) fn axes(&self, s: &mut String, x_name: &str, y_name: &str) {
        let _ = write!(
            s,
            r##"<line x1="{0}" y1="{3}" x2="{1}" y2="{3}" stroke="#333333"/>
<line x1="{0}" y1="{2}" x2="{0}" y2="{3}" stroke="#333333"/>
<text x="{4}" y="{5}" text-anchor="middle" fill="#222222">{x_name}</text>
<text transform="translate(20 {6}) rotate(-90)" text-anchor="middle" fill="#222222">{y_name}</text>
"##,
            self.left,
            self.right,
            self.top,
            self.bottom,
            (self.left + self.right) / 2.0,
            H - 26.0,
            (self.top + self.bottom) / 2.0
        );
    }
}
