//! Learning curves of a run and the accuracy-versus-supervision-steps curve.

use anyhow::{ensure, Result};

use crate::chart::{nice_ticks, Chart, Series};
use crate::color::{self, SERIES};
use crate::metrics::{Metrics, XAxis};
use crate::scene::{Anchor, Scene};

const PANEL_W: f32 = 380.0;
const PANEL_H: f32 = 250.0;
const COLUMNS: usize = 3;
const MARGIN: f32 = 16.0;
const SECTION: f32 = 30.0;

/// A readable title for a metric key.
pub fn metric_title(key: &str) -> String {
    match key {
        "lm_loss" => "LM loss".into(),
        "q_halt_loss" => "Q-halt loss".into(),
        "q_continue_loss" => "Q-continue loss".into(),
        "accuracy" => "token accuracy".into(),
        "exact_accuracy" => "exact accuracy".into(),
        "q_halt_accuracy" => "Q-halt accuracy".into(),
        "steps" => "mean halting steps".into(),
        "lr" => "learning rate".into(),
        "examples_per_s" => "examples / s".into(),
        other => other.replace('_', " "),
    }
}

/// The metrics shown against time too: a loss, the exact accuracy and the halting steps.
fn time_metrics(names: &[String]) -> Vec<String> {
    let pick = |preferred: &str, contains: &str| {
        names
            .iter()
            .find(|n| *n == preferred)
            .or_else(|| names.iter().find(|n| n.contains(contains)))
            .cloned()
    };
    [pick("lm_loss", "loss"), pick("exact_accuracy", "exact"), pick("steps", "steps")]
        .into_iter()
        .flatten()
        .collect()
}

/// Seconds shown in s, min or h, by the largest value.
fn time_unit(max_s: f64) -> (f64, &'static str) {
    if max_s < 180.0 {
        (1.0, "elapsed (s)")
    } else if max_s < 3.0 * 3600.0 {
        (60.0, "elapsed (min)")
    } else {
        (3600.0, "elapsed (h)")
    }
}

fn panel(metrics: &Metrics, metric: &str, x: XAxis, groups: &[String]) -> Chart {
    let series: Vec<Series> = groups
        .iter()
        .enumerate()
        .filter_map(|(i, g)| {
            let points = metrics.series(g, metric, x);
            (!points.is_empty()).then(|| Series {
                name: g.clone(),
                markers: points.len() <= 60 && g != "train",
                points,
                color: SERIES[i % SERIES.len()],
            })
        })
        .collect();
    let values = series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
    let (lo, hi) =
        values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let log_y = metric.contains("loss") && lo > 0.0 && hi / lo > 50.0;
    let y_range = metric.contains("accuracy").then(|| accuracy_range(hi));
    let mut chart =
        Chart { title: metric_title(metric), series, log_y, y_range, ..Chart::default() };
    match x {
        XAxis::Step => chart.x_label = "step".into(),
        XAxis::Elapsed => {
            let max_t =
                chart.series.iter().flat_map(|s| s.points.iter().map(|p| p.0)).fold(0.0, f64::max);
            let (unit, label) = time_unit(max_t);
            chart.x_unit = Some(unit);
            chart.x_label = label.into();
        }
    }
    chart
}

/// Every numeric metric of the run against the training step, then loss, exact accuracy and
/// mean halting steps against elapsed time (when the lines have `elapsed_s`). Each group
/// (train, eval, ...) is one line per panel.
pub fn learning_curves(metrics: &Metrics, title: &str) -> Result<Scene> {
    let names = metrics.metrics();
    ensure!(!names.is_empty(), "no numeric metrics to plot");
    let groups = metrics.groups();
    let by_step: Vec<Chart> =
        names.iter().map(|m| panel(metrics, m, XAxis::Step, &groups)).collect();
    let by_time: Vec<Chart> = if metrics.has_elapsed() {
        time_metrics(&names)
            .iter()
            .map(|m| panel(metrics, m, XAxis::Elapsed, &groups))
            .filter(|c| !c.series.is_empty())
            .collect()
    } else {
        Vec::new()
    };
    let columns = COLUMNS.min(by_step.len().max(by_time.len()));
    let rows = |n: usize| n.div_ceil(columns);
    let section_h = |n: usize| if n == 0 { 0.0 } else { SECTION + rows(n) as f32 * PANEL_H };
    let width = 2.0 * MARGIN + columns as f32 * PANEL_W;
    let height = 2.0 * MARGIN + 26.0 + section_h(by_step.len()) + section_h(by_time.len());
    let mut scene = Scene::new(width, height);
    scene.text(MARGIN, MARGIN + 17.0, title, 17.0, color::TEXT, Anchor::Start);
    let mut y = MARGIN + 26.0;
    for (heading, charts) in
        [("against training step", &by_step), ("against time since the start", &by_time)]
    {
        if charts.is_empty() {
            continue;
        }
        scene.text(MARGIN, y + SECTION - 9.0, heading, 13.0, color::MUTED, Anchor::Start);
        y += SECTION;
        for (i, chart) in charts.iter().enumerate() {
            let (cx, cy) =
                (MARGIN + (i % columns) as f32 * PANEL_W, y + (i / columns) as f32 * PANEL_H);
            chart.draw(&mut scene, cx + 4.0, cy + 4.0, PANEL_W - 14.0, PANEL_H - 12.0);
        }
        y += rows(charts.len()) as f32 * PANEL_H;
    }
    Ok(scene)
}

/// Held-out exact accuracy against wall-clock minutes, one line per run (`runs`: name and
/// metrics), so that runs of different presets can be compared by the time they take.
pub fn time_to_accuracy(runs: &[(String, Metrics)], metric: &str) -> Result<Scene> {
    ensure!(!runs.is_empty(), "no runs to plot");
    let mut series = Vec::new();
    for (i, (name, metrics)) in runs.iter().enumerate() {
        let mut points: Vec<(f64, f64)> = metrics
            .series("eval", metric, XAxis::Elapsed)
            .into_iter()
            .map(|(t, v)| (t / 60.0, v))
            .collect();
        ensure!(!points.is_empty(), "{name}: no evaluation line with {metric} and elapsed_s");
        points.insert(0, (0.0, 0.0));
        series.push(Series {
            name: name.clone(),
            points,
            color: SERIES[i % SERIES.len()],
            markers: true,
        });
    }
    let hi = series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).fold(0.0, f64::max);
    let chart = Chart {
        title: format!("held-out {} against wall-clock time", metric_title(metric)),
        x_label: "elapsed (min)".into(),
        y_label: metric_title(metric),
        series,
        y_range: Some(accuracy_range(hi)),
        ..Chart::default()
    };
    Ok(chart.to_scene(640.0, 400.0))
}

/// Exact accuracy after each supervision step at test time (`points`: step 1..N, accuracy),
/// the curve of `trm eval --per-step`. `trained_steps` (the training N_sup) is marked with a
/// dashed line, so running past it shows whether more test-time steps help.
pub fn accuracy_vs_steps(points: &[(usize, f64)], trained_steps: Option<usize>) -> Result<Scene> {
    ensure!(!points.is_empty(), "no (step, accuracy) points to plot");
    let best =
        points.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0))).unwrap();
    let chart = Chart {
        title: format!(
            "exact accuracy vs supervision steps (best {:.4} at step {})",
            best.1, best.0
        ),
        x_label: "supervision steps at test time".into(),
        y_label: "exact accuracy".into(),
        series: vec![Series {
            name: "exact accuracy".into(),
            points: points.iter().map(|&(s, a)| (s as f64, a)).collect(),
            color: SERIES[0],
            markers: true,
        }],
        x_lines: trained_steps
            .map(|n| (n as f64, format!("trained N_sup = {n}")))
            .into_iter()
            .collect(),
        x_integer: true,
        y_range: Some(accuracy_range(best.1)),
        ..Chart::default()
    };
    Ok(chart.to_scene(640.0, 400.0))
}

/// The y range of an accuracy axis: from 0 to the largest value `max` rounded up to a tick
/// (at most 1 for fractions), and 0..1 when every value is 0, so a flat curve lies on the
/// floor instead of in the middle of a -1..1 axis.
fn accuracy_range(max: f64) -> (f64, f64) {
    if !(max.is_finite() && max > 0.0) {
        return (0.0, 1.0);
    }
    let (_, step) = nice_ticks(0.0, max, 5);
    let hi = (max / step - 1e-9).ceil() * step;
    (0.0, if max <= 1.0 { hi.min(1.0) } else { hi })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_time_panels_and_units() {
        let names: Vec<String> =
            ["loss", "accuracy", "exact_accuracy", "steps"].iter().map(|s| s.to_string()).collect();
        assert_eq!(time_metrics(&names), vec!["loss", "exact_accuracy", "steps"]);
        assert_eq!(time_unit(100.0).0, 1.0);
        assert_eq!(time_unit(1000.0).0, 60.0);
        assert_eq!(time_unit(36_000.0).0, 3600.0);
        assert_eq!(metric_title("steps"), "mean halting steps");
        assert_eq!(metric_title("eval_foo"), "eval foo");
    }

    /// The numbers written at the y ticks of a picture (text right-aligned to the axis).
    fn y_tick_labels(scene: &Scene) -> Vec<String> {
        scene
            .items
            .iter()
            .filter_map(|i| match i {
                crate::scene::Item::Text { text, anchor: Anchor::End, vertical: false, .. }
                    if text.parse::<f64>().is_ok() =>
                {
                    Some(text.clone())
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn accuracy_axes_start_at_zero() {
        assert_eq!(accuracy_range(0.0), (0.0, 1.0));
        assert_eq!(accuracy_range(f64::NAN), (0.0, 1.0));
        assert_eq!(accuracy_range(1.0), (0.0, 1.0));
        assert_eq!(accuracy_range(0.93), (0.0, 1.0));
        let (lo, hi) = accuracy_range(0.13);
        assert!(lo == 0.0 && (0.13..=0.2).contains(&hi), "{hi}");

        let flat =
            y_tick_labels(&accuracy_vs_steps(&[(1, 0.0), (2, 0.0), (3, 0.0)], Some(2)).unwrap());
        assert_eq!(flat.first().map(String::as_str), Some("0"), "{flat:?}");
        assert_eq!(flat.last().map(String::as_str), Some("1.0"), "{flat:?}");
        assert!(flat.iter().all(|t| !t.starts_with('-')), "{flat:?}");

        let metrics = Metrics::parse("{\"split\": \"eval\", \"step\": 10, \"accuracy\": 0.0}\n{\"split\": \"eval\", \"step\": 20, \"accuracy\": 0.0}\n").unwrap();
        let labels = y_tick_labels(&learning_curves(&metrics, "run").unwrap());
        assert!(
            labels.contains(&"0".to_string()) && labels.iter().all(|t| !t.starts_with('-')),
            "{labels:?}"
        );
    }

    #[test]
    fn time_to_accuracy_draws_one_line_per_run_in_minutes() {
        let run = |a: f64| {
            Metrics::parse(&format!("{{\"split\": \"eval\", \"step\": 10, \"exact_accuracy\": {a}, \"elapsed_s\": 600}}\n")).unwrap()
        };
        let scene = time_to_accuracy(
            &[("old".into(), run(0.1)), ("new".into(), run(0.9))],
            "exact_accuracy",
        )
        .unwrap();
        let texts: Vec<&str> = scene
            .items
            .iter()
            .filter_map(|i| match i {
                crate::scene::Item::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert!(
            texts.contains(&"old") && texts.contains(&"new") && texts.contains(&"10"),
            "{texts:?}"
        );
        assert!(time_to_accuracy(&[("x".into(), Metrics::default())], "exact_accuracy").is_err());
    }

    #[test]
    fn refuses_empty_input() {
        assert!(learning_curves(&Metrics::default(), "x").is_err());
        assert!(accuracy_vs_steps(&[], None).is_err());
    }
}
