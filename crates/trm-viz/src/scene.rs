//! A picture as a list of simple shapes, drawn in order, that becomes a PNG or an SVG.
//!
//! Every picture in this crate is built as a [`Scene`] first, so PNG and SVG show the same
//! thing and callers can add their own shapes before saving.

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::color::Color;
use crate::font;

/// Horizontal alignment of text against its `x`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The text begins at `x`.
    Start,
    /// The text is centred on `x`.
    Middle,
    /// The text ends at `x`.
    End,
}

/// An outline: colour, width in pixels and an optional dash pattern (on, off).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stroke {
    /// Colour of the line.
    pub color: Color,
    /// Line width in pixels.
    pub width: f32,
    /// Dash pattern `(on, off)` in pixels; `None` draws a solid line.
    pub dash: Option<(f32, f32)>,
}

impl Stroke {
    /// A solid line `width` pixels wide.
    pub fn solid(color: Color, width: f32) -> Stroke {
        Stroke { color, width, dash: None }
    }

    /// A dashed line `width` pixels wide: `on` pixels drawn, then `off` pixels left out.
    pub fn dashed(color: Color, width: f32, on: f32, off: f32) -> Stroke {
        Stroke { color, width, dash: Some((on, off)) }
    }
}

/// One shape. Coordinates are pixels from the top-left corner.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// An axis-aligned rectangle, filled, outlined or both.
    Rect {
        /// Left edge in pixels.
        x: f32,
        /// Top edge in pixels.
        y: f32,
        /// Width in pixels.
        w: f32,
        /// Height in pixels.
        h: f32,
        /// Fill colour; `None` leaves the inside empty.
        fill: Option<Color>,
        /// Outline, centred on the edge; `None` for no outline.
        stroke: Option<Stroke>,
    },
    /// An open polyline (two points for a plain line).
    Line {
        /// Vertices in pixels, in drawing order.
        points: Vec<(f32, f32)>,
        /// Colour, width and dashes of the line.
        stroke: Stroke,
    },
    /// A filled disc.
    Circle {
        /// Centre x in pixels.
        cx: f32,
        /// Centre y in pixels.
        cy: f32,
        /// Radius in pixels.
        r: f32,
        /// Fill colour.
        fill: Color,
    },
    /// Text on the baseline `y`; `vertical` turns it to read bottom to top (y-axis labels).
    Text {
        /// Horizontal position in pixels that `anchor` aligns the text to.
        x: f32,
        /// Baseline position in pixels.
        y: f32,
        /// The string to draw.
        text: String,
        /// Font size in pixels per em.
        size: f32,
        /// Colour of the glyphs.
        color: Color,
        /// How the text aligns against `x`.
        anchor: Anchor,
        /// Turn the text to read bottom to top.
        vertical: bool,
    },
}

/// Output file format, chosen by the file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// PNG raster image.
    Png,
    /// SVG vector image.
    Svg,
}

impl Format {
    /// `.png` or `.svg` (any case); anything else is an error naming the path.
    pub fn from_path(path: &Path) -> Result<Format> {
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("png") => Ok(Format::Png),
            Some("svg") => Ok(Format::Svg),
            _ => bail!(
                "{}: unknown picture format; end the file name with .png or .svg",
                path.display()
            ),
        }
    }
}

/// A picture: size, background and shapes.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Colour of the whole picture under the shapes.
    pub background: Color,
    /// Shapes, drawn in order (later ones on top).
    pub items: Vec<Item>,
}

impl Scene {
    /// An empty white picture. Sizes are rounded up to whole pixels (at least 1).
    pub fn new(width: f32, height: f32) -> Scene {
        Scene {
            width: width.ceil().max(1.0) as u32,
            height: height.ceil().max(1.0) as u32,
            background: Color::WHITE,
            items: Vec::new(),
        }
    }

    /// A filled rectangle without outline.
    pub fn fill_rect(&mut self, x: f32, y: f32, w: f32, h: f32, fill: Color) {
        self.items.push(Item::Rect { x, y, w, h, fill: Some(fill), stroke: None });
    }

    /// A rectangle outline; the stroke is centred on the rectangle's edge.
    pub fn stroke_rect(&mut self, x: f32, y: f32, w: f32, h: f32, stroke: Stroke) {
        self.items.push(Item::Rect { x, y, w, h, fill: None, stroke: Some(stroke) });
    }

    /// A frame of width `width` drawn just inside the rectangle.
    pub fn inner_frame(&mut self, x: f32, y: f32, w: f32, h: f32, color: Color, width: f32) {
        let half = width / 2.0;
        self.stroke_rect(x + half, y + half, w - width, h - width, Stroke::solid(color, width));
    }

    /// A straight line from `from` to `to`.
    pub fn line(&mut self, from: (f32, f32), to: (f32, f32), stroke: Stroke) {
        self.items.push(Item::Line { points: vec![from, to], stroke });
    }

    /// An open line through `points`; fewer than two points draw nothing.
    pub fn polyline(&mut self, points: Vec<(f32, f32)>, stroke: Stroke) {
        if points.len() >= 2 {
            self.items.push(Item::Line { points, stroke });
        }
    }

    /// A filled disc of radius `r` centred at `(cx, cy)`.
    pub fn circle(&mut self, cx: f32, cy: f32, r: f32, fill: Color) {
        self.items.push(Item::Circle { cx, cy, r, fill });
    }

    /// Text whose baseline is at `y`.
    pub fn text(
        &mut self,
        x: f32,
        y: f32,
        text: impl Into<String>,
        size: f32,
        color: Color,
        anchor: Anchor,
    ) {
        self.items.push(Item::Text {
            x,
            y,
            text: text.into(),
            size,
            color,
            anchor,
            vertical: false,
        });
    }

    /// Text centred vertically on `cy` (capital letters and digits centred).
    pub fn text_centred(
        &mut self,
        x: f32,
        cy: f32,
        text: impl Into<String>,
        size: f32,
        color: Color,
        anchor: Anchor,
    ) {
        self.text(x, cy + font::cap_height(size) / 2.0, text, size, color, anchor);
    }

    /// Text reading bottom to top, its baseline on the vertical line `x`.
    pub fn vertical_text(
        &mut self,
        x: f32,
        y: f32,
        text: impl Into<String>,
        size: f32,
        color: Color,
        anchor: Anchor,
    ) {
        self.items.push(Item::Text {
            x,
            y,
            text: text.into(),
            size,
            color,
            anchor,
            vertical: true,
        });
    }

    /// Adds another scene's shapes shifted by `(dx, dy)` (its background is dropped).
    pub fn place(&mut self, other: &Scene, dx: f32, dy: f32) {
        for item in &other.items {
            self.items.push(shifted(item, dx, dy));
        }
    }

    /// Straight (non-premultiplied) RGBA pixels, row by row.
    pub fn to_rgba(&self) -> Vec<u8> {
        crate::raster::rgba(self)
    }

    /// The picture encoded as a PNG file.
    pub fn to_png(&self) -> Result<Vec<u8>> {
        crate::raster::png(self)
    }

    /// The picture as an SVG document.
    pub fn to_svg(&self) -> String {
        crate::svg::render(self)
    }

    /// Writes the picture as PNG or SVG, by the extension of `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = match Format::from_path(path)? {
            Format::Png => {
                self.to_png().with_context(|| format!("{}: cannot encode PNG", path.display()))?
            }
            Format::Svg => self.to_svg().into_bytes(),
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{}: cannot create folder", dir.display()))?;
        }
        std::fs::write(path, bytes)
            .with_context(|| format!("{}: cannot write picture", path.display()))
    }
}

fn shifted(item: &Item, dx: f32, dy: f32) -> Item {
    let mut item = item.clone();
    match &mut item {
        Item::Rect { x, y, .. } | Item::Text { x, y, .. } => {
            *x += dx;
            *y += dy;
        }
        Item::Circle { cx, cy, .. } => {
            *cx += dx;
            *cy += dy;
        }
        Item::Line { points, .. } => {
            for p in points {
                p.0 += dx;
                p.1 += dy;
            }
        }
    }
    item
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_follows_extension() {
        assert_eq!(Format::from_path(Path::new("a/b.PNG")).unwrap(), Format::Png);
        assert_eq!(Format::from_path(Path::new("b.svg")).unwrap(), Format::Svg);
        let err = Format::from_path(Path::new("pic.jpg")).unwrap_err().to_string();
        assert!(err.contains("pic.jpg") && err.contains(".png"), "{err}");
    }

    #[test]
    fn place_shifts_every_shape() {
        let mut a = Scene::new(10.0, 10.0);
        a.fill_rect(1.0, 2.0, 3.0, 4.0, Color::BLACK);
        a.line((0.0, 0.0), (1.0, 1.0), Stroke::solid(Color::BLACK, 1.0));
        let mut b = Scene::new(20.0, 20.0);
        b.place(&a, 5.0, 6.0);
        assert_eq!(
            b.items[0],
            Item::Rect { x: 6.0, y: 8.0, w: 3.0, h: 4.0, fill: Some(Color::BLACK), stroke: None }
        );
        assert!(matches!(&b.items[1], Item::Line { points, .. } if points[1] == (6.0, 7.0)));
    }
}
