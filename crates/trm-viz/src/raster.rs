//! Scene -> pixels with tiny-skia (anti-aliased), text from the embedded font's outlines.

use anyhow::{anyhow, Result};
use tiny_skia::{
    FillRule, LineCap, LineJoin, Paint, PathBuilder, Pixmap, Rect, StrokeDash, Transform,
};

use crate::color::Color;
use crate::font;
use crate::scene::{Anchor, Item, Scene, Stroke};

fn paint(color: Color) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color_rgba8(color.r, color.g, color.b, color.a);
    p.anti_alias = true;
    p
}

fn stroke_style(s: &Stroke) -> tiny_skia::Stroke {
    tiny_skia::Stroke {
        width: s.width,
        line_cap: LineCap::Butt,
        line_join: LineJoin::Round,
        dash: s.dash.and_then(|(on, off)| StrokeDash::new(vec![on, off], 0.0)),
        ..Default::default()
    }
}

pub(crate) fn draw(scene: &Scene) -> Pixmap {
    let mut pm = Pixmap::new(scene.width, scene.height).expect("scene size is at least 1x1");
    let bg = scene.background;
    pm.fill(tiny_skia::Color::from_rgba8(bg.r, bg.g, bg.b, bg.a));
    let id = Transform::identity();
    for item in &scene.items {
        match item {
            Item::Rect { x, y, w, h, fill, stroke } => {
                let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) else { continue };
                if let Some(fill) = fill {
                    pm.fill_rect(rect, &paint(*fill), id, None);
                }
                if let Some(s) = stroke {
                    pm.stroke_path(
                        &PathBuilder::from_rect(rect),
                        &paint(s.color),
                        &stroke_style(s),
                        id,
                        None,
                    );
                }
            }
            Item::Line { points, stroke } => {
                let mut pb = PathBuilder::new();
                pb.move_to(points[0].0, points[0].1);
                for p in &points[1..] {
                    pb.line_to(p.0, p.1);
                }
                if let Some(path) = pb.finish() {
                    pm.stroke_path(&path, &paint(stroke.color), &stroke_style(stroke), id, None);
                }
            }
            Item::Circle { cx, cy, r, fill } => {
                if let Some(path) = PathBuilder::from_circle(*cx, *cy, *r) {
                    pm.fill_path(&path, &paint(*fill), FillRule::Winding, id, None);
                }
            }
            Item::Text { x, y, text, size, color, anchor, vertical } => {
                let Some(path) = font::text_path(text, *size) else { continue };
                let dx = match anchor {
                    Anchor::Start => 0.0,
                    Anchor::Middle => -font::text_width(text, *size) / 2.0,
                    Anchor::End => -font::text_width(text, *size),
                };
                let mut t = Transform::from_translate(*x, *y);
                if *vertical {
                    t = t.pre_rotate(-90.0);
                }
                t = t.pre_translate(dx, 0.0);
                pm.fill_path(&path, &paint(*color), FillRule::Winding, t, None);
            }
        }
    }
    pm
}

pub(crate) fn rgba(scene: &Scene) -> Vec<u8> {
    let pm = draw(scene);
    let mut out = Vec::with_capacity(pm.data().len());
    for px in pm.pixels() {
        let c = px.demultiply();
        out.extend_from_slice(&[c.red(), c.green(), c.blue(), c.alpha()]);
    }
    out
}

/// PNG bytes: RGB when every pixel is opaque (the usual case), else RGBA; strongest
/// compression with adaptive filtering, since pictures are small and kept in docs.
pub(crate) fn png(scene: &Scene) -> Result<Vec<u8>> {
    let rgba = rgba(scene);
    let opaque = rgba.chunks_exact(4).all(|p| p[3] == 255);
    let (color, data) = if opaque {
        (png::ColorType::Rgb, rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect())
    } else {
        (png::ColorType::Rgba, rgba)
    };
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, scene.width, scene.height);
    enc.set_color(color);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Best);
    enc.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
    let mut writer = enc.write_header().map_err(|e| anyhow!("PNG encoding failed: {e}"))?;
    writer.write_image_data(&data).map_err(|e| anyhow!("PNG encoding failed: {e}"))?;
    writer.finish().map_err(|e| anyhow!("PNG encoding failed: {e}"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scene::Stroke;

    fn at(scene: &Scene, rgba: &[u8], x: u32, y: u32) -> [u8; 4] {
        let i = ((y * scene.width + x) * 4) as usize;
        rgba[i..i + 4].try_into().unwrap()
    }

    #[test]
    fn shapes_land_where_asked() {
        let mut s = Scene::new(40.0, 30.0);
        s.fill_rect(10.0, 10.0, 10.0, 10.0, Color::hex(0xFF0000));
        s.line((0.0, 25.5), (40.0, 25.5), Stroke::solid(Color::hex(0x0000FF), 1.0));
        s.circle(32.0, 8.0, 4.0, Color::hex(0x00FF00));
        let px = s.to_rgba();
        assert_eq!(px.len(), 40 * 30 * 4);
        assert_eq!(at(&s, &px, 15, 15), [255, 0, 0, 255]);
        assert_eq!(at(&s, &px, 5, 5), [255, 255, 255, 255]);
        assert_eq!(at(&s, &px, 20, 25), [0, 0, 255, 255]);
        assert_eq!(at(&s, &px, 32, 8), [0, 255, 0, 255]);
    }

    #[test]
    fn text_puts_ink_inside_its_box_only() {
        let mut s = Scene::new(60.0, 30.0);
        s.text(30.0, 22.0, "88", 20.0, Color::BLACK, Anchor::Middle);
        let px = s.to_rgba();
        let w = font::text_width("88", 20.0);
        let (x0, x1) = ((30.0 - w / 2.0).floor() as u32, (30.0 + w / 2.0).ceil() as u32);
        let mut inked = 0;
        for y in 0..30 {
            for x in 0..60 {
                if at(&s, &px, x, y)[0] < 128 {
                    inked += 1;
                    assert!(x >= x0 && x <= x1 && y <= 23, "ink at {x},{y}");
                }
            }
        }
        assert!(inked > 40, "{inked}");
    }

    #[test]
    fn png_is_deterministic() {
        let mut s = Scene::new(20.0, 20.0);
        s.text(2.0, 15.0, "ab", 12.0, Color::BLACK, Anchor::Start);
        let a = s.to_png().unwrap();
        assert_eq!(&a[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(a, s.to_png().unwrap());
    }
}
