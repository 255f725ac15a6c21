//! `trm demo`, run as a user runs it, on settings small enough for a test (a few training
//! steps: the model need not be accurate). What is checked is the demo's own work: it trains
//! a run folder that `trm eval` reads, reports that run's held-out figures, shows the chosen
//! puzzle step by step, replaces its own previous run, and refuses a puzzle it does not have.

use std::path::Path;
mod cli;
use cli::{fails, ok, trm};

/// `trm demo --task TASK` into `out`, trained for two epochs on a little data.
fn demo_args<'a>(task: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["demo", "--task", task, "--out", out];
    for set in ["epochs=2", "eval_interval=2", "data.generate.train=64", "data.generate.test=8"] {
        args.extend(["--set", set]);
    }
    args.extend(extra);
    args
}

/// The held-out token accuracy `trm eval --model RUN --json` gives, in percent to one decimal,
/// as the demo prints it.
fn eval_token_accuracy(run: &Path) -> String {
    let json = ok(&["eval", "--model", run.to_str().unwrap(), "--json"]);
    let report: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    format!("{:.1}%", 100.0 * report["token_accuracy"].as_f64().unwrap())
}

#[test]
fn maze_demo_trains_reports_and_shows_a_maze_step_by_step() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("demo-maze");
    let out = ok(&demo_args("maze", run.to_str().unwrap(), &["--show", "3"]));

    let summary = out.lines().find(|l| l.starts_with("Held-out puzzles: ")).expect(&out);
    assert!(summary.contains(" of 8 solved exactly"), "{summary}");
    assert!(
        summary.ends_with(&format!("token accuracy {}", eval_token_accuracy(&run))),
        "{summary}"
    );
    assert!(out.contains("Valid shortest paths (any of the tied ones"), "{out}");
    assert!(out.contains("Held-out maze 3, the answer after each supervision step"), "{out}");
    // Every step of the maze-cpu preset (8 supervision steps) is shown: the model never halts
    // early after so little training, or halts and says so.
    assert!(out.contains("step 1: q_halt"), "{out}");
    let picture = run.join("demo-maze-steps.png");
    let bytes = std::fs::read(&picture).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{} is not a PNG", picture.display());
    assert!(out.contains(&format!("Picture of every step: {}", picture.display())), "{out}");
}

#[test]
fn sudoku_demo_replaces_its_previous_run_and_refuses_a_missing_puzzle() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("demo");
    let run_s = run.to_str().unwrap();
    let small = ["--set", "hidden_size=16", "--set", "puzzle_emb_ndim=16"];
    let first = ok(&demo_args("sudoku4", run_s, &small));
    assert!(first.contains("Held-out puzzle 0, the answer after each supervision step"), "{first}");
    assert!(first.contains("step 1: q_halt"), "{first}");
    std::fs::write(run.join("stale-file"), "from the first run").unwrap();

    let again = trm(&demo_args("sudoku4", run_s, &[&small[..], &["--show", "7"]].concat()));
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    let (stdout, stderr) =
        (String::from_utf8(again.stdout).unwrap(), String::from_utf8(again.stderr).unwrap());
    assert!(stderr.contains("replacing the previous demo run"), "{stderr}");
    assert!(!run.join("stale-file").exists(), "the previous run folder was not replaced");
    assert!(stdout.contains("Held-out puzzle 7,"), "{stdout}");

    // The test split holds 8 puzzles (0 to 7): asking for the 9th is an error that says so,
    let err = fails(&demo_args("sudoku4", run_s, &[&small[..], &["--show", "8"]].concat()));
    assert!(err.contains("--show 8") && err.contains("0 to 7"), "{err}");
    // ... before it replaces anything: the previous run is still there.
    assert!(run.join("model.safetensors").exists(), "the refused demo removed the previous run");
}
