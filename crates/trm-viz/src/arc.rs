//! ARC task pictures: every demonstration pair and test pair (input -> output) in the standard
//! palette, and the model's attempts beside the truth for each test input.

use std::path::Path;

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;
use trm_data::arc::read::parse_grid;

use crate::cells::{self, Kind, Overlay};
use crate::color::{self, Color};
use crate::font;
use crate::grid::{Grid, Marks};
use crate::scene::{Anchor, Scene};

/// One input -> output pair; `output` is `None` for a test input whose answer is hidden.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// The input grid (colours 0..=9).
    pub input: Grid,
    /// The expected output grid; `None` when the answer is hidden.
    pub output: Option<Grid>,
}

/// An ARC task: demonstration pairs and test pairs, grids of colours 0..=9. Read tasks with
/// `trm_data::arc::read_tasks` and convert with `Task::from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// Demonstration pairs, shown with their outputs.
    pub train: Vec<Pair>,
    /// Test pairs, whose outputs may be hidden.
    pub test: Vec<Pair>,
}

/// Reads attempts: one list per test input, in any of these forms:
/// - ARC Prize submission for one task: `[{"attempt_1": grid, "attempt_2": grid}, ...]`;
/// - a whole submission `{"<task id>": [...]}` (the entry `task_id`, or the only entry);
/// - `[[grid, grid], ...]` (attempts per test input) or `[grid, ...]` (one each).
///
/// `null` attempts are skipped.
pub fn parse_attempts(json: &str, task_id: Option<&str>) -> Result<Vec<Vec<Grid>>> {
    let v: Value = serde_json::from_str(json).context("not valid JSON")?;
    let list = match &v {
        Value::Object(map) => {
            let (id, entry) = match task_id.and_then(|id| map.get_key_value(id)) {
                Some((id, entry)) => (id.as_str(), entry),
                None if map.len() == 1 => map.iter().next().map(|(k, v)| (k.as_str(), v)).unwrap(),
                None => match task_id {
                    Some(id) => bail!(
                        "no attempts for task \"{id}\" among the {} tasks in the file",
                        map.len()
                    ),
                    None => {
                        bail!("the file holds attempts for {} tasks; say which task", map.len())
                    }
                },
            };
            entry.as_array().with_context(|| {
                format!("task \"{id}\": expected a list with one entry per test input")
            })?
        }
        Value::Array(list) => list,
        _ => bail!("expected a list with one entry per test input"),
    };
    let is_grid = |x: &Value| {
        x.as_array()
            .and_then(|rows| rows.first())
            .and_then(|row| row.as_array())
            .is_some_and(|row| row.first().is_some_and(Value::is_number))
    };
    list.iter()
        .enumerate()
        .map(|(i, entry)| {
            let place = format!("test input {}", i + 1);
            let candidates: Vec<(String, &Value)> = match entry {
                Value::Object(map) => {
                    let mut keys: Vec<&String> = map.keys().collect();
                    keys.sort_by_key(|k| (k.len(), k.to_string()));
                    keys.into_iter().map(|k| (format!("{place} {k}"), &map[k])).collect()
                }
                x if is_grid(x) => vec![(format!("{place} attempt"), x)],
                Value::Array(xs) => xs.iter().enumerate().map(|(j, x)| (format!("{place} attempt {}", j + 1), x)).collect(),
                _ => bail!("{place}: expected attempts (an object like {{\"attempt_1\": grid}} or a list of grids)"),
            };
            candidates
                .into_iter()
                .filter(|(_, x)| !x.is_null())
                .map(|(place, x)| Ok(Grid::from(&parse_grid(x).with_context(|| place)?)))
                .collect()
        })
        .collect()
}

/// The attempts in the file `path` ([`parse_attempts`]) at `task`, whose id is `task_id`;
/// an error when they are for more test inputs than the task has. Errors name the file.
pub fn read_attempts(path: &Path, task: &Task, task_id: Option<&str>) -> Result<Vec<Vec<Grid>>> {
    let text = trm_data::text::read_file(path)?;
    let attempts = parse_attempts(&text, task_id)
        .with_context(|| format!("{}: bad attempts", path.display()))?;
    ensure!(
        attempts.len() <= task.test.len(),
        "{}: attempts for {} test inputs, but the task has {}",
        path.display(),
        attempts.len(),
        task.test.len()
    );
    Ok(attempts)
}

const MARGIN: f32 = 14.0;
const CAPTION: f32 = 12.0;
const LABEL: f32 = 14.0;
const ROW_GAP: f32 = 18.0;
const COL_GAP: f32 = 30.0;

fn dims(g: &Grid) -> String {
    format!("{}×{}", g.rows(), g.cols())
}

/// The task with its pairs one per row (input, arrow, output), test pairs after the
/// demonstrations. `attempts[i]` are drawn beside the truth of test input `i`, framed and
/// captioned green when they equal it and red (wrong cells crossed) when not. `title`
/// (e.g. the task id) heads the picture, with the number of test inputs solved.
pub fn task_picture(task: &Task, attempts: &[Vec<Grid>], title: Option<&str>) -> Result<Scene> {
    ensure!(!task.train.is_empty() || !task.test.is_empty(), "the task has no pairs");
    ensure!(
        attempts.len() <= task.test.len(),
        "{} lists of attempts for {} test inputs",
        attempts.len(),
        task.test.len()
    );
    let all = task.train.iter().chain(&task.test);
    let mut grids: Vec<&Grid> =
        all.clone().flat_map(|p| std::iter::once(&p.input).chain(&p.output)).collect();
    grids.extend(attempts.iter().flatten());
    let max_side = grids.iter().map(|g| g.rows().max(g.cols())).max().unwrap_or(1);
    let cell = cells::fit_cell(max_side, max_side, 200.0, 4.0, 24.0);
    let lay = |g: &Grid| cells::layout(Kind::Arc, g.rows(), g.cols(), cell);

    // Column widths: label, inputs, outputs, then one column per attempt.
    let labels: Vec<String> = (1..=task.train.len())
        .map(|i| format!("train {i}"))
        .chain((1..=task.test.len()).map(|i| format!("test {i}")))
        .collect();
    let label_w =
        labels.iter().map(|l| font::text_width(&format!("{l} ✓"), LABEL)).fold(0.0, f32::max)
            + 10.0;
    let col_w = |gs: &mut dyn Iterator<Item = &Grid>, caption: &str| {
        gs.map(|g| lay(g).width.max(font::text_width(&format!("{caption} {}", dims(g)), CAPTION)))
            .fold(font::text_width(caption, CAPTION), f32::max)
    };
    let in_w = col_w(&mut all.clone().map(|p| &p.input), "input");
    let out_w = all
        .clone()
        .map(|p| match &p.output {
            Some(o) => lay(o).width.max(font::text_width(&format!("output {}", dims(o)), CAPTION)),
            None => lay(&p.input).width.max(font::text_width("output unknown", CAPTION)),
        })
        .fold(0.0, f32::max);
    let n_attempts = attempts.iter().map(Vec::len).max().unwrap_or(0);
    let att_w: Vec<f32> = (0..n_attempts)
        .map(|j| {
            col_w(&mut attempts.iter().filter_map(|a| a.get(j)), &format!("attempt {} ✓", j + 1))
        })
        .collect();

    let row_h = |p: &Pair, extra: &[&Grid]| {
        let mut h = lay(&p.input).height;
        for g in p.output.iter().chain(extra.iter().copied()) {
            h = h.max(lay(g).height);
        }
        CAPTION + 6.0 + h
    };
    let title_h = if title.is_some() || !attempts.is_empty() { 30.0 } else { 0.0 };
    let mut height = MARGIN + title_h;
    for p in &task.train {
        height += row_h(p, &[]) + ROW_GAP;
    }
    for (i, p) in task.test.iter().enumerate() {
        let extra: Vec<&Grid> = attempts.get(i).map(|a| a.iter().collect()).unwrap_or_default();
        height += row_h(p, &extra) + ROW_GAP;
    }
    height +=
        MARGIN - ROW_GAP + if task.test.is_empty() || task.train.is_empty() { 0.0 } else { 8.0 };
    let x_in = MARGIN + label_w;
    let x_out = x_in + in_w + COL_GAP;
    let mut x_att = Vec::new();
    let mut x = x_out + out_w + COL_GAP;
    for w in &att_w {
        x_att.push(x);
        x += w + COL_GAP * 0.6;
    }
    let width = (x - if att_w.is_empty() { COL_GAP } else { COL_GAP * 0.6 } + MARGIN)
        .max(MARGIN * 2.0 + 200.0);
    let mut scene = Scene::new(width, height);

    let grid_at = |scene: &mut Scene,
                   x: f32,
                   y: f32,
                   g: &Grid,
                   caption: &str,
                   ink: Color,
                   marks: Option<&Marks>| {
        scene.text(x, y + CAPTION, caption, CAPTION, ink, Anchor::Start);
        let l = lay(g);
        cells::draw(scene, x, y + CAPTION + 6.0, Kind::Arc, g, &l, Overlay { givens: None, marks });
        l
    };
    let mut y = MARGIN + title_h;
    let mut solved = 0;
    let mut known = 0;
    for (i, p) in task.train.iter().chain(&task.test).enumerate() {
        let test_index = i.checked_sub(task.train.len());
        if test_index == Some(0) && !task.train.is_empty() {
            scene.line(
                (MARGIN, y - ROW_GAP / 2.0 + 2.0),
                (width - MARGIN, y - ROW_GAP / 2.0 + 2.0),
                crate::scene::Stroke::solid(color::PAD, 2.0),
            );
            y += 8.0;
        }
        let tries: &[Grid] = test_index.and_then(|t| attempts.get(t)).map_or(&[], |a| a.as_slice());
        let h = row_h(p, &tries.iter().collect::<Vec<_>>());
        let grid_top = y + CAPTION + 6.0;
        let li = grid_at(
            &mut scene,
            x_in,
            y,
            &p.input,
            &format!("input {}", dims(&p.input)),
            color::MUTED,
            None,
        );
        scene.text_centred(
            x_in + in_w + COL_GAP / 2.0,
            grid_top + li.height / 2.0,
            "→",
            18.0,
            color::MUTED,
            Anchor::Middle,
        );
        let truth_caption = if test_index.is_some() { "truth" } else { "output" };
        match &p.output {
            Some(out) => {
                grid_at(
                    &mut scene,
                    x_out,
                    y,
                    out,
                    &format!("{truth_caption} {}", dims(out)),
                    color::MUTED,
                    None,
                );
            }
            None => {
                scene.text(
                    x_out,
                    y + CAPTION,
                    "output unknown",
                    CAPTION,
                    color::MUTED,
                    Anchor::Start,
                );
                scene.fill_rect(x_out, grid_top, li.width, li.height, color::PAD);
                scene.text_centred(
                    x_out + li.width / 2.0,
                    grid_top + li.height / 2.0,
                    "?",
                    20.0,
                    color::MUTED,
                    Anchor::Middle,
                );
            }
        }
        let mut label_ink = color::TEXT;
        let mut any_correct = false;
        for (j, a) in tries.iter().enumerate() {
            let (caption, ink, marks) = match &p.output {
                Some(truth) if a == truth => (format!("attempt {} ✓", j + 1), color::CORRECT, None),
                Some(truth) if a.same_shape(truth) => {
                    (format!("attempt {} ✗", j + 1), color::INCORRECT, Some(Marks::wrong(a, truth)))
                }
                Some(_) => (format!("attempt {} ✗ {}", j + 1, dims(a)), color::INCORRECT, None),
                None => (format!("attempt {}", j + 1), color::MUTED, None),
            };
            any_correct |= ink == color::CORRECT;
            let l = grid_at(&mut scene, x_att[j], y, a, &caption, ink, marks.as_ref());
            if p.output.is_some() {
                scene.stroke_rect(
                    x_att[j] - 2.5,
                    grid_top - 2.5,
                    l.width + 5.0,
                    l.height + 5.0,
                    crate::scene::Stroke::solid(ink, 3.0),
                );
            }
        }
        if p.output.is_some() && !tries.is_empty() {
            known += 1;
            solved += any_correct as usize;
            label_ink = if any_correct { color::CORRECT } else { color::INCORRECT };
        }
        let label = if label_ink == color::CORRECT {
            format!("{} ✓", labels[i])
        } else if label_ink == color::INCORRECT {
            format!("{} ✗", labels[i])
        } else {
            labels[i].clone()
        };
        scene.text(MARGIN, grid_top + LABEL, label, LABEL, label_ink, Anchor::Start);
        y += h + ROW_GAP;
    }
    if title_h > 0.0 {
        let mut head = title.unwrap_or("ARC task").to_string();
        if known > 0 {
            head.push_str(&format!("  ·  {solved}/{known} test inputs solved"));
        }
        scene.text(MARGIN, MARGIN + 16.0, head, 16.0, color::TEXT, Anchor::Start);
    }
    Ok(scene)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_attempts_layout() {
        let g = Grid::from_rows(&[vec![2u8, 2]]).unwrap();
        let prize = r#"[{"attempt_1": [[2, 2]], "attempt_2": null}]"#;
        assert_eq!(parse_attempts(prize, None).unwrap(), vec![vec![g.clone()]]);
        let sub = r#"{"abc": [{"attempt_2": [[1]], "attempt_1": [[2, 2]]}], "def": []}"#;
        let a = parse_attempts(sub, Some("abc")).unwrap();
        assert_eq!(a[0][0], g, "attempt_1 comes first");
        assert!(parse_attempts(sub, None).unwrap_err().to_string().contains("2 tasks"));
        assert!(parse_attempts(sub, Some("xyz")).unwrap_err().to_string().contains("\"xyz\""));
        assert_eq!(parse_attempts(r#"{"only": [[[[2, 2]]]]}"#, Some("xyz")).unwrap()[0][0], g);
        assert_eq!(parse_attempts("[[[[2, 2]], [[1]]]]", None).unwrap()[0].len(), 2);
        assert_eq!(parse_attempts("[[[2, 2]]]", None).unwrap(), vec![vec![g]]);
        let err = format!("{:#}", parse_attempts("[[[[2, 12]]]]", None).unwrap_err());
        assert!(err.contains("test input 1 attempt 1") && err.contains("row 1, column 2"), "{err}");
    }

    #[test]
    fn attempts_are_read_for_the_test_inputs_of_the_task() {
        let g = Grid::from_rows(&[vec![2u8, 2]]).unwrap();
        let task = Task { train: vec![], test: vec![Pair { input: g.clone(), output: None }] };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("attempts.json");
        std::fs::write(&path, r#"{"abc": [{"attempt_1": [[2, 2]]}]}"#).unwrap();
        assert_eq!(read_attempts(&path, &task, Some("abc")).unwrap(), vec![vec![g]]);
        std::fs::write(&path, "[[[2, 2]], [[1]]]").unwrap();
        let e = read_attempts(&path, &task, None).unwrap_err().to_string();
        assert_eq!(
            e,
            format!("{}: attempts for 2 test inputs, but the task has 1", path.display())
        );
        std::fs::write(&path, "[").unwrap();
        let e = read_attempts(&path, &task, None).unwrap_err().to_string();
        assert_eq!(e, format!("{}: bad attempts", path.display()));
    }
}
