//! The one font every picture uses: DejaVu Sans, embedded so that text renders the same on
//! any machine, with no system font (licence: `fonts/LICENSE-DejaVu.txt`).

use std::sync::OnceLock;

use ttf_parser::{Face, GlyphId, OutlineBuilder};

static FONT_DATA: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

/// What SVG files ask for; viewers fall back to a similar sans-serif face.
pub const SVG_FONT_FAMILY: &str = "DejaVu Sans, Verdana, Arial, sans-serif";

fn face() -> &'static Face<'static> {
    static FACE: OnceLock<Face<'static>> = OnceLock::new();
    FACE.get_or_init(|| Face::parse(FONT_DATA, 0).expect("the embedded DejaVu Sans parses"))
}

fn scale(size: f32) -> f32 {
    size / face().units_per_em() as f32
}

fn glyph(c: char) -> GlyphId {
    face().glyph_index(c).unwrap_or(GlyphId(0))
}

/// Width in pixels of `text` set at `size` pixels per em (sum of advances, no kerning).
pub fn text_width(text: &str, size: f32) -> f32 {
    let f = face();
    text.chars().map(|c| f.glyph_hor_advance(glyph(c)).unwrap_or(0) as f32).sum::<f32>()
        * scale(size)
}

/// Height of capital letters and digits in pixels, used to centre text vertically.
pub fn cap_height(size: f32) -> f32 {
    let units = face().capital_height().unwrap_or(1493) as f32;
    units * scale(size)
}

/// The outlines of `text` as a path whose origin is the start of the baseline, y down.
pub(crate) fn text_path(text: &str, size: f32) -> Option<tiny_skia::Path> {
    let f = face();
    let s = scale(size);
    let mut builder = PathSink { path: tiny_skia::PathBuilder::new(), x0: 0.0, s };
    for c in text.chars() {
        let id = glyph(c);
        f.outline_glyph(id, &mut builder);
        builder.x0 += f.glyph_hor_advance(id).unwrap_or(0) as f32 * s;
    }
    builder.path.finish()
}

/// Receives glyph outlines in font units (y up) and writes them to a tiny-skia path (y down).
struct PathSink {
    path: tiny_skia::PathBuilder,
    x0: f32,
    s: f32,
}

impl PathSink {
    fn p(&self, x: f32, y: f32) -> (f32, f32) {
        (self.x0 + x * self.s, -y * self.s)
    }
}

impl OutlineBuilder for PathSink {
    fn move_to(&mut self, x: f32, y: f32) {
        let (x, y) = self.p(x, y);
        self.path.move_to(x, y);
    }

    fn line_to(&mut self, x: f32, y: f32) {
        let (x, y) = self.p(x, y);
        self.path.line_to(x, y);
    }

    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        let (x1, y1) = self.p(x1, y1);
        let (x, y) = self.p(x, y);
        self.path.quad_to(x1, y1, x, y);
    }

    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        let (x1, y1) = self.p(x1, y1);
        let (x2, y2) = self.p(x2, y2);
        let (x, y) = self.p(x, y);
        self.path.cubic_to(x1, y1, x2, y2, x, y);
    }

    fn close(&mut self) {
        self.path.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_scale_with_size() {
        let w10 = text_width("123", 10.0);
        assert!(w10 > 10.0 && w10 < 25.0, "{w10}");
        assert!((text_width("123", 20.0) - 2.0 * w10).abs() < 1e-3);
        assert!((cap_height(20.0) - 20.0 * 1493.0 / 2048.0).abs() < 0.5);
    }

    #[test]
    fn digits_and_symbols_have_outlines() {
        for c in ['0', '9', 'x', '→', '✓', '✗', '×'] {
            assert_ne!(glyph(c), GlyphId(0), "{c} missing from DejaVu Sans");
        }
        let b = text_path("8", 20.0).unwrap().bounds();
        assert!(b.top() < -10.0 && b.bottom() <= 0.5 && b.left() >= 0.0, "{b:?}");
        assert!(text_path(" ", 20.0).is_none());
    }
}
