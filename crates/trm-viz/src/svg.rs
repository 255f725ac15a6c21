//! Scene -> SVG text. Text stays text (font family DejaVu Sans with fallbacks).

use std::fmt::Write;

use crate::color::Color;
use crate::font::SVG_FONT_FAMILY;
use crate::scene::{Anchor, Item, Scene, Stroke};

/// A coordinate with at most two decimals and no trailing zeros.
fn num(v: f32) -> String {
    let s = format!("{:.2}", v);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn paint_attr(name: &str, c: Color) -> String {
    let mut s = format!(" {name}=\"{}\"", c.to_hex());
    if c.a != 255 {
        write!(s, " {name}-opacity=\"{}\"", num(c.a as f32 / 255.0)).unwrap();
    }
    s
}

fn stroke_attrs(s: &Stroke) -> String {
    let mut out = paint_attr("stroke", s.color);
    write!(out, " stroke-width=\"{}\"", num(s.width)).unwrap();
    if let Some((on, off)) = s.dash {
        write!(out, " stroke-dasharray=\"{} {}\"", num(on), num(off)).unwrap();
    }
    out
}

pub(crate) fn render(scene: &Scene) -> String {
    let (w, h) = (scene.width, scene.height);
    let mut out = String::new();
    writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"{SVG_FONT_FAMILY}\">"
    )
    .unwrap();
    writeln!(out, "<rect width=\"{w}\" height=\"{h}\"{}/>", paint_attr("fill", scene.background))
        .unwrap();
    for item in &scene.items {
        match item {
            Item::Rect { x, y, w, h, fill, stroke } => {
                write!(
                    out,
                    "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"",
                    num(*x),
                    num(*y),
                    num(*w),
                    num(*h)
                )
                .unwrap();
                match fill {
                    Some(c) => out.push_str(&paint_attr("fill", *c)),
                    None => out.push_str(" fill=\"none\""),
                }
                if let Some(s) = stroke {
                    out.push_str(&stroke_attrs(s));
                }
                out.push_str("/>\n");
            }
            Item::Line { points, stroke } => {
                let pts: Vec<String> =
                    points.iter().map(|(x, y)| format!("{},{}", num(*x), num(*y))).collect();
                writeln!(
                    out,
                    "<polyline points=\"{}\" fill=\"none\"{}/>",
                    pts.join(" "),
                    stroke_attrs(stroke)
                )
                .unwrap();
            }
            Item::Circle { cx, cy, r, fill } => {
                writeln!(
                    out,
                    "<circle cx=\"{}\" cy=\"{}\" r=\"{}\"{}/>",
                    num(*cx),
                    num(*cy),
                    num(*r),
                    paint_attr("fill", *fill)
                )
                .unwrap();
            }
            Item::Text { x, y, text, size, color, anchor, vertical } => {
                let anchor = match anchor {
                    Anchor::Start => "start",
                    Anchor::Middle => "middle",
                    Anchor::End => "end",
                };
                write!(
                    out,
                    "<text x=\"{}\" y=\"{}\" font-size=\"{}\" text-anchor=\"{anchor}\"",
                    num(*x),
                    num(*y),
                    num(*size)
                )
                .unwrap();
                out.push_str(&paint_attr("fill", *color));
                if *vertical {
                    write!(out, " transform=\"rotate(-90 {} {})\"", num(*x), num(*y)).unwrap();
                }
                writeln!(out, ">{}</text>", escape(text)).unwrap();
            }
        }
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_every_shape() {
        let mut s = Scene::new(50.0, 40.0);
        s.fill_rect(1.0, 2.5, 3.0, 4.0, Color::hex(0x0074D9));
        s.line((0.0, 0.0), (10.0, 10.0), Stroke::dashed(Color::BLACK, 1.5, 4.0, 2.0));
        s.circle(5.0, 5.0, 2.0, Color::BLACK.with_alpha(128));
        s.vertical_text(10.0, 20.0, "a<b", 12.0, Color::BLACK, Anchor::Middle);
        let svg = s.to_svg();
        assert!(
            svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"50\" height=\"40\"")
        );
        assert!(
            svg.contains("<rect x=\"1\" y=\"2.5\" width=\"3\" height=\"4\" fill=\"#0074d9\"/>"),
            "{svg}"
        );
        assert!(svg.contains("stroke-dasharray=\"4 2\""));
        assert!(svg.contains("fill-opacity=\"0.5\""));
        assert!(svg.contains("rotate(-90 10 20)\">a&lt;b</text>"));
        assert!(svg.trim_end().ends_with("</svg>"));
    }
}
