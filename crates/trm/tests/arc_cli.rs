//! `trm data arc`, run as a user runs it, on ARC-AGI-1 evaluation tasks from the trm-data fixtures.

use std::path::{Path, PathBuf};

use trm_data::arc::evaluate::ArcEvaluator;
use trm_data::dataset::Dataset;
mod cli;
use cli::{fails, ok, trm};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../trm-data/tests/fixtures/arc-agi-1-evaluation")
}

/// Copies fixture tasks into `dir/name/`.
fn subset(dir: &Path, name: &str, ids: &[&str]) -> String {
    let sub = dir.join(name);
    std::fs::create_dir_all(&sub).unwrap();
    for id in ids {
        std::fs::copy(fixture().join(format!("{id}.json")), sub.join(format!("{id}.json")))
            .unwrap();
    }
    sub.to_str().unwrap().to_string()
}

#[test]
fn builds_the_official_layout_with_named_subsets() {
    let tmp = tempfile::tempdir().unwrap();
    let training = subset(tmp.path(), "training", &["00576224", "009d5c81", "00dbd492"]);
    let evaluation = subset(tmp.path(), "evaluation", &["03560426", "05a7bcf2"]);
    let out = tmp.path().join("arc");
    let named = format!("mine={training}");
    let run = trm(&[
        "data",
        "arc",
        "--out",
        out.to_str().unwrap(),
        "--tasks",
        &named,
        &evaluation,
        "--test-set",
        "evaluation",
        "--aug",
        "3",
    ]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(stdout.contains("| mine | 3 |") && stdout.contains("| evaluation | 2 |"), "{stdout}");
    let ds = Dataset::load(&out).unwrap();
    assert_eq!(ds.train.as_ref().unwrap().num_groups(), 5);
    assert_eq!(ds.test.as_ref().unwrap().num_puzzles(), 2 * 4);
    assert!(ds.identifiers.iter().any(|n| n.starts_with("03560426|||t")));
    let eval = ArcEvaluator::load(&out).unwrap();
    assert_eq!(eval.test_puzzles().keys().collect::<Vec<_>>(), ["03560426", "05a7bcf2"]);
    // --max-tasks on the whole fixture folder, named after the folder.
    let out2 = tmp.path().join("arc2");
    let run = trm(&[
        "data",
        "arc",
        "--out",
        out2.to_str().unwrap(),
        "--tasks",
        fixture().to_str().unwrap(),
        "--test-set",
        "arc-agi-1-evaluation",
        "--aug",
        "0",
        "--max-tasks",
        "4",
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert_eq!(Dataset::load(&out2).unwrap().identifiers.len(), 5);
}

#[test]
fn bad_tasks_and_arguments_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("evaluation");
    std::fs::create_dir_all(&dir).unwrap();
    let out = tmp.path().join("out");
    let out = out.to_str().unwrap();
    let fail = |tasks: &str, test_set: &str| {
        let run = trm(&[
            "data",
            "arc",
            "--out",
            out,
            "--tasks",
            tasks,
            "--test-set",
            test_set,
            "--aug",
            "2",
        ]);
        assert!(!run.status.success());
        String::from_utf8(run.stderr).unwrap()
    };
    let ragged = dir.join("ragged.json");
    std::fs::write(
        &ragged,
        r#"{"train":[{"input":[[1]],"output":[[1]]},{"input":[[1,2],[3]],"output":[[1]]}],"test":[{"input":[[1]]}]}"#,
    )
    .unwrap();
    let err = fail(dir.to_str().unwrap(), "evaluation");
    assert!(
        err.contains("ragged.json") && err.contains("train pair 2") && err.contains("ragged rows"),
        "{err}"
    );
    std::fs::write(&ragged, r#"{"train":[{"input":[[1]],"output":[[1]]}]}"#).unwrap();
    let err = fail(ragged.to_str().unwrap(), "ragged");
    assert!(err.contains("ragged.json") && err.contains("missing \"test\""), "{err}");
    std::fs::write(
        &ragged,
        r#"{"train":[{"input":[[1]],"output":[[1]]}],"test":[{"input":[[1]],"output":[[11]]}]}"#,
    )
    .unwrap();
    let err = fail(ragged.to_str().unwrap(), "ragged");
    assert!(err.contains("test pair 1: output: row 1, column 1: 11 is not a colour 0-9"), "{err}");
    std::fs::remove_file(&ragged).unwrap();
    let good = subset(tmp.path(), "training", &["00576224"]);
    let err = fail(&good, "evaluation");
    assert!(
        err.contains("test set \"evaluation\" is none of the subsets given (training)"),
        "{err}"
    );
    let err = fail("/no/such/dir", "dir");
    assert!(err.contains("/no/such/dir"), "{err}");
    assert!(!Path::new(out).exists());
}

/// A tiny ARC dataset (two fixture tasks as the test set, 3 augmentations each) and a tiny
/// model trained on it for 4 steps: it need not be accurate, only loadable.
fn tiny_run(dir: &Path) -> (String, String) {
    let evaluation = subset(dir, "evaluation", &["66e6c45b", "6ea4a07e"]);
    let data = dir.join("arc").to_str().unwrap().to_string();
    ok(&[
        "data",
        "arc",
        "--out",
        &data,
        "--tasks",
        &evaluation,
        "--test-set",
        "evaluation",
        "--aug",
        "3",
    ]);
    (data.clone(), train_tiny(dir, &data))
}

/// A tiny model trained on the ARC dataset `data` for a few steps, in `dir/run`.
fn train_tiny(dir: &Path, data: &str) -> String {
    let run = dir.join("run").to_str().unwrap().to_string();
    let mut args = vec!["train", "--preset", "arc-cpu", "--data", data, "--out", &run];
    for set in [
        "hidden_size=16",
        "puzzle_emb_ndim=16",
        "num_heads=2",
        "expansion=1",
        "H_cycles=1",
        "L_cycles=1",
        "L_layers=1",
        "halt_max_steps=2",
        "global_batch_size=4",
        "epochs=2",
        "eval_interval=2",
        "lr_warmup_steps=1",
        "eval_max_examples=0",
    ] {
        args.extend(["--set", set]);
    }
    ok(&args);
    run
}

#[test]
fn eval_solve_and_inspect_on_an_arc_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, run) = tiny_run(tmp.path());

    // eval --json: the usual metrics and pass@K for every official K; submission.json in the run.
    let out = ok(&["eval", "--model", &run, "--json"]);
    let v: serde_json::Value =
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["count"], 2 * 4 + 4, "{v}");
    let arc = &v["arc"];
    for k in [1, 2, 5, 10, 100, 1000] {
        let s =
            arc[format!("pass@{k}")].as_f64().unwrap_or_else(|| panic!("pass@{k} missing: {v}"));
        assert!((0.0..=1.0).contains(&s), "{v}");
    }
    assert_eq!(
        (arc["tasks"].as_u64(), arc["test_inputs"].as_u64(), arc["rows"].as_u64()),
        (Some(2), Some(3), Some(12)),
        "{v}"
    );
    let submission = Path::new(&run).join("submission.json");
    assert_eq!(arc["submission"].as_str(), Some(submission.to_str().unwrap()));
    let check_submission = |path: &Path| {
        let sub: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for (task, inputs) in [("66e6c45b", 1), ("6ea4a07e", 2)] {
            let entries = sub[task].as_array().unwrap_or_else(|| panic!("{task} missing: {sub}"));
            assert_eq!(entries.len(), inputs, "{sub}");
            for e in entries {
                for a in ["attempt_1", "attempt_2"] {
                    let grid = e[a].as_array().unwrap_or_else(|| panic!("{a} missing: {sub}"));
                    assert!(
                        grid.iter().all(|row| row
                            .as_array()
                            .is_some_and(|r| r.iter().all(|c| c.as_u64().is_some_and(|c| c < 10)))),
                        "{sub}"
                    );
                }
            }
        }
    };
    check_submission(&submission);

    // The table, with --submission elsewhere; --limit leaves test inputs without predictions.
    let other = tmp.path().join("sub/other.json");
    let out =
        ok(&["eval", "--model", &run, "--submission", other.to_str().unwrap(), "--limit", "4"]);
    assert!(out.contains("pass@K") && out.contains("  1000  "), "{out}");
    assert!(out.contains("test inputs got no prediction"), "{out}");
    check_submission(&other);

    // solve arc on a task of the run's dataset: its 4 copies with their learned identifiers.
    let task = fixture().join("66e6c45b.json");
    let task = task.to_str().unwrap();
    let out = ok(&["solve", "arc", "--model", &run, task]);
    assert!(out.contains("in the run's dataset; 4 of its 4 copies"), "{out}");
    assert!(
        out.contains("test input 1 of 1")
            && out.contains("attempt 1   ")
            && out.contains("of 4 votes, mean confidence"),
        "{out}"
    );
    assert!(
        out.contains("truth 4x4") && (out.contains("SOLVED") || out.contains("not solved")),
        "{out}"
    );
    let out = ok(&["solve", "arc", "--model", &run, task, "--aug", "1", "--max-steps", "3"]);
    assert!(out.contains("2 of its 4 copies") && out.contains("of 2 votes"), "{out}");
    // A task the run never saw: blank identifier, augmentations drawn here; a picture.
    let picture = tmp.path().join("task.png");
    let new_task = fixture().join("4cd1b7b2.json");
    let out = ok(&[
        "solve",
        "arc",
        "--model",
        &run,
        new_task.to_str().unwrap(),
        "--aug",
        "2",
        "--picture",
        picture.to_str().unwrap(),
    ]);
    assert!(
        out.contains("not in the run's dataset; 3 copies") && out.contains("blank identifier 0"),
        "{out}"
    );
    assert!(std::fs::read(&picture).unwrap().starts_with(b"\x89PNG"));

    // Bad task files: errors name the file and the problem.
    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, r#"{"train": [{"input": [[1]], "output": [[1]]}]}"#).unwrap();
    let err = fails(&["solve", "arc", "--model", &run, bad.to_str().unwrap()]);
    assert!(err.contains("bad.json") && err.contains("missing \"test\""), "{err}");
    std::fs::write(&bad, "{ not json").unwrap();
    let err = fails(&["solve", "arc", "--model", &run, bad.to_str().unwrap()]);
    assert!(err.contains("bad.json") && err.contains("not valid JSON"), "{err}");
    let err = fails(&["solve", "arc", "--model", &data, task]);
    assert!(err.contains("not a run folder"), "{err}");

    // inspect decodes the examples as grids (training examples are translated).
    let out = ok(&["data", "inspect", &data]);
    assert!(out.contains("    input 4x4") || out.contains("    input 3x3"), "{out}");
    assert!(out.contains("   label "), "{out}");
}

/// Writes a task file with one train pair and one test pair.
fn write_task(dir: &Path, id: &str, train: (&str, &str), test: (&str, &str)) -> PathBuf {
    let path = dir.join(format!("{id}.json"));
    let text = format!(
        r#"{{"train":[{{"input":{},"output":{}}}],"test":[{{"input":{},"output":{}}}]}}"#,
        train.0, train.1, test.0, test.1
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// `trm data arc` of the tasks in `tasks` (test set `evaluation`, 3 augmentations) with `extra` flags.
fn build_arc(data: &str, tasks: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "data",
        "arc",
        "--out",
        data,
        "--tasks",
        tasks,
        "--test-set",
        "evaluation",
        "--aug",
        "3",
    ];
    args.extend_from_slice(extra);
    trm(&args)
}

/// `seq_len` of `data/<split>/dataset.json`.
fn seq_len(data: &str, split: &str) -> u64 {
    let text = std::fs::read_to_string(Path::new(data).join(split).join("dataset.json")).unwrap();
    serde_json::from_str::<serde_json::Value>(&text).unwrap()["seq_len"].as_u64().unwrap()
}

#[test]
fn small_canvas_dataset_eval_and_solve() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("evaluation");
    std::fs::create_dir_all(&dir).unwrap();
    let t3 = write_task(
        &dir,
        "t3",
        ("[[1,2,3],[4,5,6],[7,8,0]]", "[[1,4,7],[2,5,8],[3,6,0]]"),
        ("[[5,6,7],[0,1,2],[3,4,8]]", "[[5,0,3],[6,1,4],[7,2,8]]"),
    );
    write_task(&dir, "t2", ("[[1,2],[3,4]]", "[[1,3],[2,4]]"), ("[[5,6],[7,8]]", "[[5,7],[6,8]]"));
    let five = "[[1,2,3,4,5],[1,2,3,4,5],[1,2,3,4,5],[1,2,3,4,5],[1,2,3,4,5]]";
    let big = write_task(&dir, "big", ("[[1]]", "[[2]]"), (five, five));
    let tasks = dir.to_str().unwrap();
    let data = tmp.path().join("arc").to_str().unwrap().to_string();
    let run_build = |extra: &[&str]| build_arc(&data, tasks, extra);

    // --canvas alone skips the tasks with a larger grid, as --max-grid does, and says so.
    let out = run_build(&["--canvas", "4"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("subset evaluation: kept 2 of 3 tasks, skipped 1 with a grid larger than 4x4 (--canvas 4)"), "{stdout}");
    assert!(stdout.contains("4x4 canvas (seq_len 16)"), "{stdout}");
    // --canvas smaller than --max-grid, or outside 2..=30: refused, naming the flags.
    for (extra, expected) in [
        (&["--canvas", "2", "--max-grid", "3"][..], "--canvas 2 is smaller than --max-grid 3"),
        (&["--canvas", "31"][..], "--canvas: an ARC canvas has a side of 2 to 30, not 31"),
        (
            &["--canvas", "1", "--max-grid", "1"][..],
            "--canvas: an ARC canvas has a side of 2 to 30, not 1",
        ),
    ] {
        let out = run_build(extra);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(expected), "{extra:?}: {err}");
    }
    let out = run_build(&["--canvas", "4", "--max-grid", "3"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("kept 2 of 3 tasks, skipped 1 with a grid larger than 3x3 (--max-grid 3)"),
        "{stdout}"
    );
    assert_eq!((seq_len(&data, "train"), seq_len(&data, "test")), (16, 16));
    let out = ok(&["data", "inspect", &data]);
    assert!(out.contains("    input 3x3") || out.contains("    input 2x2"), "{out}");

    let run = train_tiny(tmp.path(), &data);
    let out = ok(&["eval", "--model", &run, "--json"]);
    let v: serde_json::Value =
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    let arc = &v["arc"];
    assert_eq!((arc["tasks"].as_u64(), arc["test_inputs"].as_u64()), (Some(2), Some(2)), "{v}");
    assert!(arc["pass@1"].as_f64().is_some_and(|s| (0.0..=1.0).contains(&s)), "{v}");
    let sub: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(&run).join("submission.json")).unwrap(),
    )
    .unwrap();
    assert!(sub["t3"][0]["attempt_1"].is_array() && sub["t2"][0]["attempt_2"].is_array(), "{sub}");

    // solve arc encodes on the model's 4x4 canvas; a 5x5 test input is refused.
    let picture = tmp.path().join("t3.png");
    let out = ok(&[
        "solve",
        "arc",
        "--model",
        &run,
        t3.to_str().unwrap(),
        "--picture",
        picture.to_str().unwrap(),
    ]);
    assert!(
        out.contains("in the run's dataset")
            && out.contains("truth 3x3")
            && out.contains("of 4 votes"),
        "{out}"
    );
    assert!(std::fs::read(&picture).unwrap().starts_with(b"\x89PNG"));
    let err = fails(&["solve", "arc", "--model", &run, big.to_str().unwrap()]);
    assert!(err.contains("big.json: task big test input 1 is 5x5, larger than the model's 4x4 canvas (seq_len 16)"), "{err}");
}
