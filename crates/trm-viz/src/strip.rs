//! The step strip: the answer after each supervision step, side by side, with the cells that
//! changed since the previous step framed (Sudoku: shaded yellow). This is TRM's deep
//! supervision made visible: each step refines the previous answer.

use anyhow::{ensure, Result};

use crate::cells::{self, Kind, Overlay};
use crate::color;
use crate::font;
use crate::grid::{Grid, Marks};
use crate::scene::{Anchor, Scene};

/// What surrounds the steps of a strip. All fields are optional.
#[derive(Debug, Clone, Default)]
pub struct StripOptions {
    /// Drawn first, labelled "input". For Sudoku its digits are the givens; for Sudoku and
    /// Maze (whose answers refine the input) step 1's changes are counted against it.
    pub input: Option<Grid>,
    /// Drawn last, labelled "truth"; cells of each step that differ from it are marked wrong.
    pub truth: Option<Grid>,
    /// One caption per step (e.g. with the q-halt confidence); default "step 1", "step 2", ...
    pub labels: Option<Vec<String>>,
    /// Grids per row before wrapping; default 8.
    pub columns: Option<usize>,
    /// A heading above the strip.
    pub title: Option<String>,
}

const MARGIN: f32 = 12.0;
const CAPTION: f32 = 12.0;
const STATS: f32 = 10.0;
const GAP: f32 = 16.0;

struct Panel<'a> {
    grid: &'a Grid,
    label: String,
    stats: String,
    marks: Option<Marks>,
}

/// A strip of `steps` (grids of `kind`, e.g. the model's answer after each supervision step).
/// [`Kind::ArcTokens`] canvases are cropped to the rectangle that any grid of the strip uses.
pub fn step_strip(kind: Kind, steps: &[Grid], opts: &StripOptions) -> Result<Scene> {
    ensure!(!steps.is_empty(), "a step strip needs at least one step");
    if let Some(labels) = &opts.labels {
        ensure!(labels.len() == steps.len(), "{} labels for {} steps", labels.len(), steps.len());
    }
    // ARC token canvases are mostly padding: show only the rectangle any of them uses.
    let cropped: Option<(Vec<Grid>, Option<Grid>, Option<Grid>)> = match kind {
        Kind::ArcTokens => {
            let all = steps.iter().chain(&opts.input).chain(&opts.truth);
            let b = all.filter_map(|g| g.bounds_without(0)).reduce(|a, b| {
                let (r0, c0) = (a.0.min(b.0), a.1.min(b.1));
                (r0, c0, (a.0 + a.2).max(b.0 + b.2) - r0, (a.1 + a.3).max(b.1 + b.3) - c0)
            });
            b.map(|(r0, c0, h, w)| {
                let crop = |g: &Grid| g.crop(r0, c0, h, w);
                (
                    steps.iter().map(crop).collect(),
                    opts.input.as_ref().map(crop),
                    opts.truth.as_ref().map(crop),
                )
            })
        }
        _ => None,
    };
    let (steps, input, truth) = match &cropped {
        Some((s, i, t)) => (s.as_slice(), i.as_ref(), t.as_ref()),
        None => (steps, opts.input.as_ref(), opts.truth.as_ref()),
    };
    let mut panels = Vec::new();
    if let Some(input) = input {
        panels.push(Panel {
            grid: input,
            label: "input".into(),
            stats: String::new(),
            marks: None,
        });
    }
    for (i, step) in steps.iter().enumerate() {
        let previous = match i {
            0 if matches!(kind, Kind::Sudoku | Kind::Maze) => input,
            0 => None,
            _ => Some(&steps[i - 1]),
        };
        let changed = previous.map(|p| Marks::changed(p, step));
        let wrong = truth.map(|t| Marks::wrong(step, t));
        let mut stats = Vec::new();
        if let Some(c) = &changed {
            stats.push(format!("{} changed", c.count_changed()));
        }
        if let Some(w) = &wrong {
            stats.push(match w.count_wrong() {
                0 => "correct".to_string(),
                n => format!("{n} wrong"),
            });
        }
        let marks = match (changed, wrong) {
            (Some(c), Some(w)) => Some(c.union(&w)?),
            (c, w) => c.or(w),
        };
        let label =
            opts.labels.as_ref().map_or_else(|| format!("step {}", i + 1), |l| l[i].clone());
        panels.push(Panel { grid: step, label, stats: stats.join(" · "), marks });
    }
    if let Some(truth) = truth {
        panels.push(Panel {
            grid: truth,
            label: "truth".into(),
            stats: String::new(),
            marks: None,
        });
    }

    let max_side = panels.iter().map(|p| p.grid.rows().max(p.grid.cols())).max().unwrap_or(1);
    let cell = match kind {
        Kind::Sudoku => cells::fit_cell(max_side, max_side, 180.0, 12.0, 32.0),
        _ => cells::fit_cell(max_side, max_side, 200.0, 3.0, 22.0),
    };
    let layouts: Vec<_> =
        panels.iter().map(|p| cells::layout(kind, p.grid.rows(), p.grid.cols(), cell)).collect();
    let panel_w = panels
        .iter()
        .zip(&layouts)
        .map(|(p, l)| {
            l.width.max(font::text_width(&p.label, CAPTION)).max(font::text_width(&p.stats, STATS))
        })
        .fold(0.0, f32::max);
    let grid_h = layouts.iter().map(|l| l.height).fold(0.0, f32::max);
    let panel_h = CAPTION + 6.0 + grid_h + 6.0 + STATS;
    let columns = opts.columns.unwrap_or(8).max(1).min(panels.len());
    let rows = panels.len().div_ceil(columns);
    let title_h = if opts.title.is_some() { 28.0 } else { 0.0 };
    let width = 2.0 * MARGIN + columns as f32 * panel_w + (columns - 1) as f32 * GAP;
    let height = 2.0 * MARGIN + title_h + rows as f32 * panel_h + (rows - 1) as f32 * GAP;
    let mut scene = Scene::new(width, height);
    if let Some(title) = &opts.title {
        scene.text(MARGIN, MARGIN + 16.0, title.as_str(), 16.0, color::TEXT, Anchor::Start);
    }
    let givens = if kind == Kind::Sudoku { input } else { None };
    for (i, (p, lay)) in panels.iter().zip(&layouts).enumerate() {
        let x = MARGIN + (i % columns) as f32 * (panel_w + GAP);
        let y = MARGIN + title_h + (i / columns) as f32 * (panel_h + GAP);
        let cx = x + panel_w / 2.0;
        scene.text(cx, y + CAPTION, p.label.as_str(), CAPTION, color::TEXT, Anchor::Middle);
        let gx = x + (panel_w - lay.width) / 2.0;
        cells::draw(
            &mut scene,
            gx,
            y + CAPTION + 6.0,
            kind,
            p.grid,
            lay,
            Overlay { givens, marks: p.marks.as_ref() },
        );
        if !p.stats.is_empty() {
            scene.text(
                cx,
                y + panel_h - 1.0,
                p.stats.as_str(),
                STATS,
                color::MUTED,
                Anchor::Middle,
            );
        }
    }
    Ok(scene)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arc_token_canvases_are_cropped_to_their_content() {
        let mut canvas = vec![0u8; 900];
        canvas[..3].copy_from_slice(&[2, 3, 1]);
        canvas[30..33].copy_from_slice(&[1, 1, 1]);
        let g = Grid::square(&canvas).unwrap();
        let scene = step_strip(Kind::ArcTokens, &[g.clone(), g], &StripOptions::default()).unwrap();
        // Two panels of 2x3 cells of 22 px, not two 30x30 canvases.
        assert!(scene.width < 250, "{}", scene.width);
        let full =
            step_strip(Kind::Arc, &[Grid::filled(30, 30, 0).unwrap()], &StripOptions::default())
                .unwrap();
        assert!(full.width > 200);
    }
}
