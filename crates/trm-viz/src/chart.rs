//! A small line chart: axes with round-number ticks (linear or log), series as lines and/or
//! markers, a legend, dashed reference lines. Learning curves and the per-step accuracy curve
//! are built from it; callers can build their own.

use crate::color::{self, Color};
use crate::font;
use crate::scene::{Anchor, Scene, Stroke};

/// One line of a chart. Points need not be sorted; non-finite values break the line.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Label in the legend.
    pub name: String,
    /// Data points `(x, y)`.
    pub points: Vec<(f64, f64)>,
    /// Colour of the line and the markers.
    pub color: Color,
    /// Draw a dot at each point (for sparse series such as evaluations).
    pub markers: bool,
}

/// A chart: title, axis labels, series and options.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Chart {
    /// Heading drawn above the plot.
    pub title: String,
    /// Caption under the x axis.
    pub x_label: String,
    /// Caption beside the y axis, read bottom to top.
    pub y_label: String,
    /// Lines to draw, in legend order.
    pub series: Vec<Series>,
    /// Logarithmic y axis; values <= 0 are left out.
    pub log_y: bool,
    /// Fixed y range instead of the data's.
    pub y_range: Option<(f64, f64)>,
    /// Dashed vertical lines at these x values, with a caption.
    pub x_lines: Vec<(f64, String)>,
    /// Divide x by this before labelling ticks (e.g. 60 to show seconds as minutes).
    pub x_unit: Option<f64>,
    /// x takes whole values (steps): ticks are whole numbers too.
    pub x_integer: bool,
}

const TITLE: f32 = 13.0;
const TICK: f32 = 10.5;
const AXIS: f32 = 11.0;
const GRID: Color = Color::hex(0xEBEBEB);
const FRAME: Color = Color::hex(0x999999);

/// Round tick values covering `lo..=hi`, at most `n + 1` intervals (steps of 1, 2 or 5 times a
/// power of ten), and the step.
pub fn nice_ticks(lo: f64, hi: f64, n: usize) -> (Vec<f64>, f64) {
    let span = (hi - lo).abs().max(f64::MIN_POSITIVE);
    let raw = span / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| span / s <= n as f64 + 1.0)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    ((first..=last).map(|i| i as f64 * step).collect(), step)
}

/// A tick label: `step` decides the decimals; large values get k/M, tiny ones an exponent.
pub fn tick_label(v: f64, step: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if a >= 1e6 && step >= 1e5 {
        return format!("{}M", tick_label(v / 1e6, step / 1e6));
    }
    if a >= 1e4 && step >= 1e3 {
        return format!("{}k", tick_label(v / 1e3, step / 1e3));
    }
    if step < 1e-3 {
        // Exponent form with as many mantissa digits as the step needs: 1.5e-3, 8e-5.
        let digits = (a.log10().floor() - step.log10().floor()).max(0.0) as usize;
        let s = format!("{v:.digits$e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.trim_end_matches('0').trim_end_matches('.')
        } else {
            mantissa
        };
        return format!("{mantissa}e{exp}");
    }
    let decimals = (-step.log10().floor()).clamp(0.0, 6.0) as usize;
    format!("{v:.decimals$}")
}

/// Ticks of a log axis: powers of ten, with 2 and 5 added when the range spans few decades.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let mults: &[f64] = if b - a <= 2 { &[1.0, 2.0, 5.0] } else { &[1.0] };
    let mut out = Vec::new();
    for e in a..=b {
        for m in mults {
            let v = m * 10f64.powi(e);
            if v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9) {
                out.push(v);
            }
        }
    }
    out
}

fn log_label(v: f64) -> String {
    if (1e-2..1e4).contains(&v) {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{v:.0e}")
    }
}

/// Keeps at most two points per pixel column (the lowest and the highest, in order), so long
/// runs draw fast and make small SVGs while keeping the curve's envelope.
fn decimate(points: &[(f64, f64)], x0: f64, x1: f64, columns: usize) -> Vec<(f64, f64)> {
    if points.len() <= 2 * columns || x1 <= x0 {
        return points.to_vec();
    }
    let mut out = Vec::with_capacity(2 * columns + 2);
    let bucket = |x: f64| (((x - x0) / (x1 - x0)) * columns as f64) as i64;
    let mut i = 0;
    while i < points.len() {
        let b = bucket(points[i].0);
        let mut j = i;
        let (mut lo, mut hi) = (i, i);
        while j < points.len() && bucket(points[j].0) == b {
            if points[j].1 < points[lo].1 {
                lo = j;
            }
            if points[j].1 > points[hi].1 {
                hi = j;
            }
            j += 1;
        }
        out.push(points[lo.min(hi)]);
        if lo != hi {
            out.push(points[lo.max(hi)]);
        }
        i = j;
    }
    out
}

impl Chart {
    fn data_range(&self) -> Option<((f64, f64), (f64, f64))> {
        let ok = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite() && (!self.log_y || p.1 > 0.0);
        let pts: Vec<&(f64, f64)> =
            self.series.iter().flat_map(|s| s.points.iter()).filter(ok).collect();
        if pts.is_empty() {
            return None;
        }
        let fold = |f: fn(&(f64, f64)) -> f64| {
            pts.iter()
                .map(|p| f(p))
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)))
        };
        let mut xr = fold(|p| p.0);
        for (x, _) in &self.x_lines {
            xr = (xr.0.min(*x), xr.1.max(*x));
        }
        Some((xr, fold(|p| p.1)))
    }

    /// Draws the chart into the rectangle `(x, y, w, h)` of `scene`.
    pub fn draw(&self, scene: &mut Scene, x: f32, y: f32, w: f32, h: f32) {
        let title_h =
            if self.title.is_empty() && self.series.len() < 2 { 6.0 } else { TITLE + 10.0 };
        scene.text(x, y + TITLE, self.title.as_str(), TITLE, color::TEXT, Anchor::Start);
        // Legend at the right of the title line.
        if self.series.len() > 1 {
            let mut lx = x + w - 4.0;
            for s in self.series.iter().rev() {
                let tw = font::text_width(&s.name, TICK);
                scene.text(lx, y + TITLE, s.name.as_str(), TICK, color::MUTED, Anchor::End);
                lx -= tw + 4.0;
                scene.line(
                    (lx - 14.0, y + TITLE - 4.0),
                    (lx, y + TITLE - 4.0),
                    Stroke::solid(s.color, 2.0),
                );
                lx -= 24.0;
            }
        }
        let Some(((x_lo, x_hi), (mut y_lo, mut y_hi))) = self.data_range() else {
            scene.stroke_rect(
                x + 0.5,
                y + title_h + 0.5,
                w - 1.0,
                h - title_h - 1.0,
                Stroke::solid(FRAME, 1.0),
            );
            scene.text_centred(
                x + w / 2.0,
                y + (h + title_h) / 2.0,
                "no data",
                AXIS,
                color::MUTED,
                Anchor::Middle,
            );
            return;
        };
        if let Some((a, b)) = self.y_range {
            (y_lo, y_hi) = (a, b);
        }
        // Axis ranges and ticks.
        let (y_ticks, y_labels, y_lo, y_hi) = if self.log_y {
            let (lo, hi) = (10f64.powf(y_lo.log10().floor()), 10f64.powf(y_hi.log10().ceil()));
            let (lo, hi) = if lo == hi { (lo / 10.0, hi * 10.0) } else { (lo, hi) };
            let t = log_ticks(lo, hi);
            let labels = t.iter().map(|v| log_label(*v)).collect::<Vec<_>>();
            (t, labels, lo, hi)
        } else {
            let (lo, hi) = if y_hi - y_lo < 1e-12 * y_hi.abs().max(1.0) {
                let pad = if y_hi == 0.0 { 1.0 } else { y_hi.abs() * 0.1 };
                (y_lo - pad, y_hi + pad)
            } else {
                (y_lo, y_hi)
            };
            let (_, step) = nice_ticks(lo, hi, 5);
            let (lo, hi) = if self.y_range.is_some() {
                (lo, hi)
            } else {
                ((lo / step).floor() * step, (hi / step).ceil() * step)
            };
            let (t, step) = nice_ticks(lo, hi, 5);
            let labels = t.iter().map(|v| tick_label(*v, step)).collect::<Vec<_>>();
            (t, labels, lo, hi)
        };
        let unit = self.x_unit.unwrap_or(1.0);
        let (x_lo, x_hi) =
            if x_hi - x_lo < 1e-12 { (x_lo - 0.5 * unit, x_hi + 0.5 * unit) } else { (x_lo, x_hi) };
        let (mut x_ticks, mut x_step) = nice_ticks(x_lo / unit, x_hi / unit, 5);
        if self.x_integer && x_step < 1.0 {
            x_step = 1.0;
            x_ticks = ((x_lo / unit).ceil() as i64..=(x_hi / unit).floor() as i64)
                .map(|v| v as f64)
                .collect();
        }

        let label_w = y_labels.iter().map(|l| font::text_width(l, TICK)).fold(0.0, f32::max);
        let left = x + label_w + 8.0 + if self.y_label.is_empty() { 0.0 } else { AXIS + 6.0 };
        let bottom = y + h - TICK - 8.0 - if self.x_label.is_empty() { 0.0 } else { AXIS + 6.0 };
        let top = y + title_h;
        let right = x + w - 8.0;
        let (pw, ph) = ((right - left).max(1.0), (bottom - top).max(1.0));
        let ymap = |v: f64| -> f32 {
            let t = if self.log_y {
                (v.log10() - y_lo.log10()) / (y_hi.log10() - y_lo.log10())
            } else {
                (v - y_lo) / (y_hi - y_lo)
            };
            bottom - (t as f32) * ph
        };
        let xmap = |v: f64| -> f32 { left + (((v - x_lo) / (x_hi - x_lo)) as f32) * pw };

        for (t, label) in y_ticks.iter().zip(&y_labels) {
            let py = ymap(*t).round() + 0.5;
            scene.line((left, py), (right, py), Stroke::solid(GRID, 1.0));
            scene.text_centred(left - 5.0, py, label.as_str(), TICK, color::MUTED, Anchor::End);
        }
        for t in &x_ticks {
            let px = xmap(t * unit).round() + 0.5;
            scene.line((px, top), (px, bottom), Stroke::solid(GRID, 1.0));
            scene.text(
                px,
                bottom + TICK + 4.0,
                tick_label(*t, x_step),
                TICK,
                color::MUTED,
                Anchor::Middle,
            );
        }
        scene.stroke_rect(
            left.round() + 0.5,
            top.round() + 0.5,
            pw.round() - 1.0,
            ph.round(),
            Stroke::solid(FRAME, 1.0),
        );
        if !self.x_label.is_empty() {
            scene.text(
                left + pw / 2.0,
                y + h - 3.0,
                self.x_label.as_str(),
                AXIS,
                color::TEXT,
                Anchor::Middle,
            );
        }
        if !self.y_label.is_empty() {
            scene.vertical_text(
                x + AXIS,
                top + ph / 2.0,
                self.y_label.as_str(),
                AXIS,
                color::TEXT,
                Anchor::Middle,
            );
        }
        for (v, caption) in &self.x_lines {
            let px = xmap(*v);
            scene.line((px, top), (px, bottom), Stroke::dashed(color::MUTED, 1.0, 4.0, 3.0));
            scene.text(
                px + 3.0,
                top + TICK + 2.0,
                caption.as_str(),
                TICK,
                color::MUTED,
                Anchor::Start,
            );
        }
        for s in &self.series {
            let mut pts: Vec<(f64, f64)> = s.points.clone();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            let visible =
                |p: &(f64, f64)| p.0.is_finite() && p.1.is_finite() && (!self.log_y || p.1 > 0.0);
            for run in pts.split(|p| !visible(p)).filter(|r| !r.is_empty()) {
                let run = decimate(run, x_lo, x_hi, pw as usize);
                let line: Vec<(f32, f32)> = run.iter().map(|&(a, b)| (xmap(a), ymap(b))).collect();
                if s.markers || line.len() == 1 {
                    for &(px, py) in &line {
                        scene.circle(px, py, 2.6, s.color);
                    }
                }
                scene.polyline(line, Stroke::solid(s.color, 1.6));
            }
        }
    }

    /// The chart alone as a `width x height` picture.
    pub fn to_scene(&self, width: f32, height: f32) -> Scene {
        let mut scene = Scene::new(width, height);
        self.draw(&mut scene, 10.0, 8.0, width - 20.0, height - 14.0);
        scene
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round() {
        assert_eq!(nice_ticks(0.0, 1.0, 5).0, vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]);
        let (t, step) = nice_ticks(0.0, 50_000.0, 5);
        assert_eq!((t.len(), step), (6, 10_000.0));
        assert_eq!(tick_label(20_000.0, 10_000.0), "20k");
        assert_eq!(tick_label(0.25, 0.05), "0.25");
        assert_eq!(tick_label(3.0, 1.0), "3");
        assert_eq!(tick_label(1e-4, 2e-5), "1e-4");
        assert_eq!(tick_label(8e-5, 2e-5), "8e-5");
        assert_eq!(tick_label(1.5e-3, 5e-4), "1.5e-3");
        assert_eq!(tick_label(0.002, 0.001), "0.002");
        assert_eq!(log_ticks(0.01, 10.0), vec![0.01, 0.1, 1.0, 10.0]);
        assert_eq!(log_ticks(0.1, 1.0).len(), 4);
    }

    #[test]
    fn decimation_keeps_the_envelope() {
        let pts: Vec<(f64, f64)> = (0..10_000)
            .map(|i| (i as f64, if i == 5_000 { 100.0 } else { (i % 7) as f64 }))
            .collect();
        let d = decimate(&pts, 0.0, 9_999.0, 100);
        assert!(d.len() <= 202, "{}", d.len());
        assert!(d.contains(&(5_000.0, 100.0)));
        assert!(d.windows(2).all(|w| w[0].0 <= w[1].0));
    }

    #[test]
    fn draws_lines_inside_the_rectangle() {
        let chart = Chart {
            title: "t".into(),
            series: vec![Series {
                name: "a".into(),
                points: vec![(0.0, 1.0), (1.0, 2.0), (2.0, f64::NAN), (3.0, 0.5)],
                color: Color::BLACK,
                markers: false,
            }],
            ..Chart::default()
        };
        let scene = chart.to_scene(300.0, 200.0);
        let lines: Vec<_> = scene
            .items
            .iter()
            .filter_map(|i| match i {
                crate::scene::Item::Line { points, stroke } if stroke.color == Color::BLACK => {
                    Some(points.clone())
                }
                _ => None,
            })
            .collect();
        assert_eq!(lines.len(), 1, "NaN splits the line and the single point after it is a dot");
        assert!(lines[0]
            .iter()
            .all(|&(px, py)| (0.0..300.0).contains(&px) && (0.0..200.0).contains(&py)));
        let empty = Chart::default().to_scene(100.0, 80.0);
        assert!(empty
            .items
            .iter()
            .any(|i| matches!(i, crate::scene::Item::Text { text, .. } if text == "no data")));
    }
}
