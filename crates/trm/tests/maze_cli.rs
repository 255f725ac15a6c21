//! `trm data maze` and `trm data bench-maze`, run as a user runs them.

use std::path::Path;
use std::process::{Command, Output};

use trm_data::dataset::Dataset;

fn trm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trm")).args(args).output().expect("run trm")
}

fn ok(args: &[&str]) -> String {
    let out = trm(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "trm {args:?} failed: {stderr}");
    String::from_utf8(out.stdout).unwrap()
}

fn fails(args: &[&str]) -> String {
    let out = trm(args);
    assert!(!out.status.success(), "trm {args:?} should fail");
    String::from_utf8(out.stderr).unwrap()
}

fn bytes(dir: &Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file)).unwrap()
}

#[test]
fn generate_augment_save_and_rebuild_from_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |name: &str| tmp.path().join(name).to_str().unwrap().to_string();
    let common = ["--generate-train", "12", "--generate-test", "6", "--size", "8", "--aug", "--seed", "5"];
    let stdout = ok(&[&["data", "maze", "--out", &p("a"), "--save-csv", &p("csv")], &common[..]].concat());
    assert!(stdout.contains("| train | 12 | 96 | 96 |"), "{stdout}");
    assert!(stdout.contains("| test | 6 | 6 | 6 |"), "{stdout}");
    ok(&[&["data", "maze", "--out", &p("b"), "--threads", "1"], &common[..]].concat());
    for file in ["train/all__inputs.npy", "train/all__labels.npy", "test/all__inputs.npy", "identifiers.json"] {
        assert_eq!(
            bytes(&tmp.path().join("a"), file),
            bytes(&tmp.path().join("b"), file),
            "{file} differs between runs"
        );
    }
    let a = Dataset::load(&tmp.path().join("a")).unwrap();
    let meta = &a.train.as_ref().unwrap().meta;
    assert_eq!((meta.vocab_size, meta.seq_len, meta.num_puzzle_identifiers, meta.total_groups), (6, 64, 1, 12));
    // The saved CSV files rebuild the same dataset.
    let csv_train = p("csv/train.csv");
    let csv_test = p("csv/test.csv");
    ok(&["data", "maze", "--out", &p("c"), "--train-csv", &csv_train, "--test-csv", &csv_test, "--aug"]);
    assert_eq!(Dataset::load(&tmp.path().join("c")).unwrap(), a);
    // CSV train plus generated test: the size comes from the CSV.
    let stdout = ok(&["data", "maze", "--out", &p("d"), "--train-csv", &csv_train, "--generate-test", "3"]);
    assert!(stdout.contains("8x8") && stdout.contains("| test | 3 |"), "{stdout}");
}

#[test]
fn bad_mazes_and_arguments_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("bad.csv");
    let out = tmp.path().join("out");
    let out = out.to_str().unwrap();
    let header = "source,question,answer,rating\n";
    std::fs::write(&csv, format!("{header}x,S #G,So#G,3\nx,SS#G,SS#G,3\n")).unwrap();
    let err = fails(&["data", "maze", "--out", out, "--train-csv", csv.to_str().unwrap()]);
    assert!(err.contains("bad.csv") && err.contains("line 3") && err.contains("found 2 'S' and 1 'G'"), "{err}");
    std::fs::write(&csv, format!("{header}x,S##G,S##G,3\n")).unwrap();
    let err = fails(&["data", "maze", "--out", out, "--test-csv", csv.to_str().unwrap()]);
    assert!(err.contains("line 2") && err.contains("no path"), "{err}");
    std::fs::write(&csv, format!("{header}x,S G,S G,3\n")).unwrap();
    let err = fails(&["data", "maze", "--out", out, "--test-csv", csv.to_str().unwrap()]);
    assert!(err.contains("line 2") && err.contains("stripped"), "{err}");
    assert!(!Path::new(out).exists(), "a failed build must leave nothing behind");

    let err = fails(&["data", "maze", "--out", out]);
    assert!(err.contains("nothing to build"), "{err}");
    let err = fails(&["data", "maze", "--out", out, "--train-csv", "/no/such/train.csv"]);
    assert!(err.contains("/no/such/train.csv"), "{err}");
    let err = fails(&["data", "maze", "--out", out, "--generate-train", "2", "--size", "5", "--min-path", "40"]);
    assert!(err.contains("lower --min-path"), "{err}");
    let err = fails(&["data", "maze", "--out", out, "--generate-train", "2", "--size", "ten"]);
    assert!(err.contains("expected N or RxC"), "{err}");
    let err = fails(&["data", "maze", "--out", out, "--generate-train", "2", "--size", "6x8", "--aug"]);
    assert!(err.contains("square"), "{err}");
}

#[test]
fn bench_prints_a_table() {
    let stdout = ok(&["data", "bench-maze", "--size", "7", "--count", "5", "--seconds", "0.05", "--threads", "2"]);
    assert!(stdout.contains("| BFS shortest path (with backtracking) | 1 |"), "{stdout}");
    assert!(stdout.contains("| generation | 2 |") && stdout.contains("mazes/s"), "{stdout}");
}
