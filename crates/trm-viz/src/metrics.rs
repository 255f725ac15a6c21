//! Reading a run's `metrics.jsonl`: one JSON object per line, numeric values per key.
//!
//! Training lines hold plain keys (`step`, `lm_loss`, `exact_accuracy`, `steps`, ...).
//! Evaluation lines either prefix their keys (`eval/lm_loss`) or carry `"split": "eval"`;
//! both become group `eval`. In general a key `a/b/name` is metric `name` of group `a/b`, a
//! nested object `{"eval": {"lm_loss": 1}}` reads as `eval/lm_loss`, and plain keys belong to
//! the line's `split` (default `train`). `step` and `elapsed_s` are the x values of their
//! group; a line without a step takes the latest step seen before it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;

/// One numeric value of one line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Group of the value: `train`, `eval`, or the prefix `a/b` of a key `a/b/name`.
    pub group: String,
    /// Metric name without the group, e.g. `lm_loss`.
    pub metric: String,
    /// Training step of the line (the latest earlier step when the line has none).
    pub step: f64,
    /// Elapsed time in seconds (`elapsed_s` of the same group on the line), if given.
    pub elapsed_s: Option<f64>,
    /// The number recorded for the metric.
    pub value: f64,
    /// 1-based line number in the file.
    pub line: usize,
}

/// The x axis of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XAxis {
    /// The training step.
    Step,
    /// Elapsed time in seconds (`elapsed_s`).
    Elapsed,
}

/// All samples of a metrics file, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    /// Every numeric value of the file, in file order.
    pub samples: Vec<Sample>,
    /// The last line was cut off (no newline, not valid JSON) and was left out: the run is
    /// probably still writing it.
    pub skipped_partial_line: bool,
}

const STEP: &str = "step";
const ELAPSED: &str = "elapsed_s";
/// Metrics drawn first, in this order; the rest follow alphabetically.
const ORDER: [&str; 11] = [
    "lm_loss",
    "loss",
    "q_halt_loss",
    "q_continue_loss",
    "accuracy",
    "exact_accuracy",
    "q_halt_accuracy",
    "steps",
    "lr",
    "examples_per_s",
    "epoch",
];

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, f64)>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}/{k}") };
                flatten(&key, v, out);
            }
        }
        Value::Number(n) => {
            if let Some(x) = n.as_f64().filter(|x| x.is_finite()) {
                out.push((prefix.to_string(), x));
            }
        }
        _ => {}
    }
}

impl Metrics {
    /// Parses the text of a metrics file; errors name the line.
    pub fn parse(text: &str) -> Result<Metrics> {
        let mut m = Metrics::default();
        let lines: Vec<&str> = text.lines().collect();
        let mut last_step: BTreeMap<String, f64> = BTreeMap::new();
        for (i, line) in lines.iter().enumerate() {
            let n = i + 1;
            if line.trim().is_empty() {
                continue;
            }
            let v: Value = match serde_json::from_str(line) {
                Ok(v) => v,
                Err(_) if n == lines.len() && !text.ends_with('\n') => {
                    m.skipped_partial_line = true;
                    continue;
                }
                Err(e) => bail!("line {n}: not valid JSON ({e})"),
            };
            let Value::Object(map) = &v else {
                bail!("line {n}: expected a JSON object like {{\"step\": 1, \"lm_loss\": 2.3}}")
            };
            let split = map.get("split").and_then(Value::as_str).unwrap_or("train").to_string();
            let mut flat = Vec::new();
            flatten("", &v, &mut flat);
            // Group and metric name of every value on this line.
            let keyed: Vec<(String, String, f64)> = flat
                .into_iter()
                .map(|(k, x)| match k.rsplit_once('/') {
                    Some((g, name)) => (g.to_string(), name.to_string(), x),
                    None => (split.clone(), k, x),
                })
                .collect();
            let x_of = |group: &str, name: &str| {
                keyed.iter().find(|(g, k, _)| g == group && k == name).map(|t| t.2).or_else(|| {
                    keyed.iter().find(|(g, k, _)| *g == split && k == name).map(|t| t.2)
                })
            };
            for (group, metric, value) in &keyed {
                if metric == STEP || metric == ELAPSED {
                    continue;
                }
                let step = match x_of(group, STEP).or_else(|| last_step.get(group).copied()).or_else(|| last_step.values().copied().reduce(f64::max)) {
                    Some(s) => s,
                    None => bail!("line {n}: no numeric \"step\" here or on an earlier line; every line needs the training step"),
                };
                m.samples.push(Sample {
                    group: group.clone(),
                    metric: metric.clone(),
                    step,
                    elapsed_s: x_of(group, ELAPSED),
                    value: *value,
                    line: n,
                });
            }
            for (group, metric, value) in &keyed {
                if metric == STEP {
                    last_step.insert(group.clone(), *value);
                }
            }
        }
        Ok(m)
    }

    /// Reads and parses a file; errors name the file and line.
    pub fn read(path: &Path) -> Result<Metrics> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read metrics", path.display()))?;
        Metrics::parse(&text).with_context(|| format!("{}: bad metrics file", path.display()))
    }

    /// Metric names, known ones first (loss, accuracies, halting steps, ...).
    pub fn metrics(&self) -> Vec<String> {
        let names: BTreeSet<&str> = self.samples.iter().map(|s| s.metric.as_str()).collect();
        let mut out: Vec<String> =
            ORDER.iter().filter(|k| names.contains(*k)).map(|k| k.to_string()).collect();
        out.extend(names.iter().filter(|k| !ORDER.contains(k)).map(|k| k.to_string()));
        out
    }

    /// Group names, `train` first.
    pub fn groups(&self) -> Vec<String> {
        let names: BTreeSet<&str> = self.samples.iter().map(|s| s.group.as_str()).collect();
        let mut out: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        out.sort_by_key(|g| (g != "train", g.clone()));
        out
    }

    /// `(x, value)` points of one metric of one group; samples without the x value are left out.
    pub fn series(&self, group: &str, metric: &str, x: XAxis) -> Vec<(f64, f64)> {
        self.samples
            .iter()
            .filter(|s| s.group == group && s.metric == metric)
            .filter_map(|s| match x {
                XAxis::Step => Some((s.step, s.value)),
                XAxis::Elapsed => s.elapsed_s.map(|t| (t, s.value)),
            })
            .collect()
    }

    /// What the file holds, in one line: `3 metrics from 2 lines; groups: train, eval`.
    pub fn describe(&self) -> String {
        let lines: BTreeSet<usize> = self.samples.iter().map(|s| s.line).collect();
        let groups = self.groups().join(", ");
        format!("{} metrics from {} lines; groups: {groups}", self.metrics().len(), lines.len())
    }

    /// True when some sample has an elapsed time.
    pub fn has_elapsed(&self) -> bool {
        self.samples.iter().any(|s| s.elapsed_s.is_some())
    }
}

/// The file name of the metrics a run folder holds (as `trm train` writes it).
pub const METRICS_FILE: &str = "metrics.jsonl";

/// A metrics file named by a run folder or by its own path, and the folder it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsFile {
    /// The metrics file.
    pub file: PathBuf,
    /// The run folder: the one named, or the file's parent.
    pub dir: PathBuf,
}

impl MetricsFile {
    /// The metrics of `run`: a run folder (its `metrics.jsonl`) or a metrics file itself;
    /// an error when there is no such file.
    pub fn find(run: &Path) -> Result<MetricsFile> {
        let (file, dir) = if run.is_dir() {
            (run.join(METRICS_FILE), run.to_path_buf())
        } else {
            (run.to_path_buf(), run.parent().map(PathBuf::from).unwrap_or_default())
        };
        ensure!(
            file.is_file(),
            "{}: no metrics file (expected RUN/metrics.jsonl written by `trm train`)",
            file.display()
        );
        Ok(MetricsFile { file, dir })
    }

    /// The run's name: the folder's name, or the file's stem when the metrics file has
    /// another name than `metrics.jsonl`.
    pub fn run_name(&self) -> String {
        let named = if self.file.file_name().is_some_and(|n| n == METRICS_FILE) {
            self.dir.file_name()
        } else {
            self.file.file_stem()
        };
        named.map_or_else(|| self.file.display().to_string(), |n| n.to_string_lossy().into_owned())
    }

    /// Reads and parses the file ([`Metrics::read`]).
    pub fn read(&self) -> Result<Metrics> {
        Metrics::read(&self.file)
    }

    /// The name ([`Self::run_name`]) and metrics of every run ([`Self::find`]), in order.
    pub fn read_runs(runs: &[PathBuf]) -> Result<Vec<(String, Metrics)>> {
        runs.iter()
            .map(|run| {
                let found = MetricsFile::find(run)?;
                Ok((found.run_name(), found.read()?))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_train_and_both_eval_styles() {
        let text = concat!(
            "{\"step\": 10, \"lm_loss\": 2.0, \"exact_accuracy\": 0.1, \"lr\": 1e-4, \"elapsed_s\": 5}\n",
            "\n",
            "{\"step\": 20, \"eval/lm_loss\": 1.5, \"eval/exact_accuracy\": 0.3}\n",
            "{\"split\": \"eval\", \"step\": 30, \"lm_loss\": 1.2, \"note\": \"x\", \"elapsed_s\": 9}\n",
            "{\"eval\": {\"steps\": 4.5}}\n",
            "{\"step\": 40, \"lm_loss\": 1.",
        );
        let m = Metrics::parse(text).unwrap();
        assert!(m.skipped_partial_line);
        assert_eq!(m.groups(), vec!["train", "eval"]);
        assert_eq!(m.metrics(), vec!["lm_loss", "exact_accuracy", "steps", "lr"]);
        assert_eq!(m.series("eval", "lm_loss", XAxis::Step), vec![(20.0, 1.5), (30.0, 1.2)]);
        assert_eq!(m.series("eval", "lm_loss", XAxis::Elapsed), vec![(9.0, 1.2)]);
        assert_eq!(
            m.series("eval", "steps", XAxis::Step),
            vec![(30.0, 4.5)],
            "no step: the latest one"
        );
        assert_eq!(m.series("train", "lm_loss", XAxis::Elapsed), vec![(5.0, 2.0)]);
        assert_eq!(m.describe(), "4 metrics from 4 lines; groups: train, eval");
    }

    #[test]
    fn errors_name_the_line() {
        let err = Metrics::parse("{\"step\": 1, \"a\": 1}\n{oops}\n{\"step\": 2}\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("line 2:"), "{err}");
        let err = Metrics::parse("[1, 2]\n").unwrap_err().to_string();
        assert!(err.contains("line 1") && err.contains("object"), "{err}");
        let err = Metrics::parse("{\"lm_loss\": 1}\n").unwrap_err().to_string();
        assert!(err.contains("step"), "{err}");
    }

    #[test]
    fn a_metrics_file_is_found_from_its_run_folder_or_itself() {
        let tmp = tempfile::tempdir().unwrap();
        let run = tmp.path().join("s4");
        std::fs::create_dir(&run).unwrap();
        let e = MetricsFile::find(&run).unwrap_err().to_string();
        assert!(e.ends_with("metrics.jsonl: no metrics file (expected RUN/metrics.jsonl written by `trm train`)"), "{e}");
        std::fs::write(run.join(METRICS_FILE), "{\"step\": 1, \"lm_loss\": 2.0}\n").unwrap();
        let found = MetricsFile::find(&run).unwrap();
        assert_eq!((found.file.clone(), found.dir.clone()), (run.join(METRICS_FILE), run.clone()));
        assert_eq!(found.run_name(), "s4");
        assert_eq!(MetricsFile::find(&run.join(METRICS_FILE)).unwrap().run_name(), "s4");
        assert_eq!(found.read().unwrap().samples.len(), 1);
        let other = run.join("old.jsonl");
        std::fs::copy(run.join(METRICS_FILE), &other).unwrap();
        assert_eq!(MetricsFile::find(&other).unwrap().run_name(), "old");
        let runs = MetricsFile::read_runs(&[run.clone(), other]).unwrap();
        let names: Vec<&str> = runs.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["s4", "old"]);
        assert_eq!(runs[1].1.samples.len(), 1);
        assert!(MetricsFile::read_runs(&[run.join("none")]).is_err());
    }
}
