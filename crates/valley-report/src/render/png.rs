//! SVG to PNG with resvg (pure Rust), text drawn with the embedded DejaVu Sans subset so the
//! image is the same on every machine whatever fonts it has (provenance:
//! `assets/DejaVuSans-PROVENANCE.md`).

use std::sync::{Arc, OnceLock};

use resvg::{tiny_skia, usvg};

/// DejaVu Sans, subset to Latin-1 and a few symbols (Bitstream Vera license).
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans-subset.ttf");

/// Rasterising an SVG failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderPngError {
    /// The SVG did not parse (a bug: the report writes it).
    #[error("cannot parse the figure's SVG (this is a bug, please report it)")]
    Parse(#[source] usvg::Error),
    /// The image has no area or is too large.
    #[error("cannot allocate a {0}×{1} image")]
    Size(u32, u32),
    /// PNG encoding failed.
    #[error("cannot encode the PNG")]
    Encode(#[source] Box<dyn std::error::Error + Send + Sync>),
}

fn options() -> &'static usvg::Options<'static> {
    static OPTIONS: OnceLock<usvg::Options<'static>> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_font_data(FONT.to_vec());
        usvg::Options {
            font_family: "DejaVu Sans".into(),
            fontdb: Arc::new(db),
            ..usvg::Options::default()
        }
    })
}

/// Rasterises `svg` at `scale` times its size, on its own background.
pub fn svg_to_png(svg: &str, scale: f32) -> Result<Vec<u8>, RenderPngError> {
    let tree = usvg::Tree::from_str(svg, options()).map_err(RenderPngError::Parse)?;
    let size = tree.size().to_int_size().scale_by(scale).ok_or(RenderPngError::Size(0, 0))?;
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or(RenderPngError::Size(size.width(), size.height()))?;
    resvg::render(&tree, tiny_skia::Transform::from_scale(scale, scale), &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|e| RenderPngError::Encode(Box::new(e)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn draws_text_with_the_embedded_font() {
        let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" width="60" height="20"><rect width="60" height="20" fill="#fff"/><text x="2" y="15" font-size="14">pass@1</text></svg>"##;
        let png = super::svg_to_png(svg, 1.0).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let blank = r##"<svg xmlns="http://www.w3.org/2000/svg" width="60" height="20"><rect width="60" height="20" fill="#fff"/></svg>"##;
        // the text left ink: the two images differ
        assert_ne!(png, super::svg_to_png(blank, 1.0).unwrap());
    }
}
