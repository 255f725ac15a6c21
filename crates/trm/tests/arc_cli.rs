//! `trm data arc`, run as a user runs it, on ARC-AGI-1 evaluation tasks from the trm-data fixtures.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use trm_data::arc::evaluate::ArcEvaluator;
use trm_data::dataset::Dataset;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../trm-data/tests/fixtures/arc-agi-1-evaluation")
}

fn trm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trm")).args(args).output().expect("run trm")
}

/// Copies fixture tasks into `dir/name/`.
fn subset(dir: &Path, name: &str, ids: &[&str]) -> String {
    let sub = dir.join(name);
    std::fs::create_dir_all(&sub).unwrap();
    for id in ids {
        std::fs::copy(fixture().join(format!("{id}.json")), sub.join(format!("{id}.json"))).unwrap();
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
        let run = trm(&["data", "arc", "--out", out, "--tasks", tasks, "--test-set", test_set, "--aug", "2"]);
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
    assert!(err.contains("ragged.json") && err.contains("train pair 2") && err.contains("ragged rows"), "{err}");
    std::fs::write(&ragged, r#"{"train":[{"input":[[1]],"output":[[1]]}]}"#).unwrap();
    let err = fail(ragged.to_str().unwrap(), "ragged");
    assert!(err.contains("ragged.json") && err.contains("missing \"test\""), "{err}");
    std::fs::write(&ragged, r#"{"train":[{"input":[[1]],"output":[[1]]}],"test":[{"input":[[1]],"output":[[11]]}]}"#)
        .unwrap();
    let err = fail(ragged.to_str().unwrap(), "ragged");
    assert!(err.contains("test pair 1: output: row 1, column 1: 11 is not a colour 0-9"), "{err}");
    std::fs::remove_file(&ragged).unwrap();
    let good = subset(tmp.path(), "training", &["00576224"]);
    let err = fail(&good, "evaluation");
    assert!(err.contains("test set \"evaluation\" is none of the subsets given (training)"), "{err}");
    let err = fail("/no/such/dir", "dir");
    assert!(err.contains("/no/such/dir"), "{err}");
    assert!(!Path::new(out).exists());
}
