//! `trm data sudoku | inspect | bench-sudoku` run as a user would, on the fixtures.

use std::fs;
use std::path::{Path, PathBuf};

use trm_data::dataset::Dataset;
mod cli;
use cli::{fails, trm};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn ok(args: &[&str]) -> String {
    let out = trm(args);
    assert!(out.status.success(), "trm {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// (question, answer) rows of a fixture CSV.
fn csv_rows(name: &str) -> Vec<(String, String)> {
    fs::read_to_string(fixture(name))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1].to_string(), f[2].to_string())
        })
        .collect()
}

/// Independent check of a solution: every row, column and box holds each digit once, and
/// every given of the question is kept.
fn is_true_solution(question: &str, answer: &str) -> bool {
    let q: Vec<u32> = question.chars().map(|c| c.to_digit(10).unwrap_or(0)).collect();
    let a: Vec<u32> = answer.chars().map(|c| c.to_digit(10).unwrap_or(0)).collect();
    let n = if a.len() == 81 { 9 } else { 4 };
    let b = if n == 9 { 3 } else { 2 };
    let full: Vec<u32> = (1..=n as u32).collect();
    let sorted = |cells: Vec<usize>| {
        let mut v: Vec<u32> = cells.into_iter().map(|i| a[i]).collect();
        v.sort();
        v == full
    };
    (0..n).all(|r| sorted((0..n).map(|c| r * n + c).collect()))
        && (0..n).all(|c| sorted((0..n).map(|r| r * n + c).collect()))
        && (0..n).all(|bx| {
            sorted((0..n).map(|i| (bx / b * b + i / b) * n + bx % b * b + i % b).collect())
        })
        && q.iter().zip(&a).all(|(&g, &s)| g == 0 || g == s)
}

fn decode(tokens: &[u8]) -> String {
    tokens.iter().map(|&t| if t == 1 { '.' } else { (b'0' + t - 1) as char }).collect()
}

/// Test split written from a CSV: official layout, labels = the true solutions.
fn check_test_split_from_csv(csv: &str, size: usize) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("d");
    let stdout = ok(&[
        "data",
        "sudoku",
        "--test-csv",
        fixture(csv).to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(stdout.contains("test: 12 groups"), "{stdout}");
    for f in [
        "dataset.json",
        "all__inputs.npy",
        "all__labels.npy",
        "all__puzzle_identifiers.npy",
        "all__puzzle_indices.npy",
        "all__group_indices.npy",
    ] {
        assert!(out.join("test").join(f).is_file(), "{f}");
    }
    assert!(out.join("identifiers.json").is_file());
    assert!(!out.join("train").exists(), "no train source, no train split");
    let ds = Dataset::load(&out).unwrap();
    let test = ds.test.unwrap();
    assert_eq!(test.meta.seq_len, size * size);
    assert_eq!(test.meta.vocab_size as usize, size + 2);
    let rows = csv_rows(csv);
    assert_eq!(test.num_examples(), rows.len());
    for (i, (q, a)) in rows.iter().enumerate() {
        let (inp, lab) = test.example(i);
        assert_eq!(&decode(inp), q);
        assert_eq!(&decode(lab), a);
        assert!(is_true_solution(q, &decode(lab)), "row {i}");
    }
}

#[test]
fn test_csv_4x4_gives_true_solutions() {
    check_test_split_from_csv("sudoku4.csv", 4);
}

#[test]
fn test_csv_9x9_gives_true_solutions() {
    check_test_split_from_csv("sudoku9.csv", 9);
}

#[test]
fn bare_puzzles_are_labelled_by_the_solver() {
    for (bare, csv) in [("sudoku9_bare.txt", "sudoku9.csv"), ("sudoku4_bare.txt", "sudoku4.csv")] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("d");
        ok(&[
            "data",
            "sudoku",
            "--train-csv",
            fixture(bare).to_str().unwrap(),
            "--aug",
            "2",
            "--out",
            out.to_str().unwrap(),
        ]);
        let train = Dataset::load(&out).unwrap().train.unwrap();
        assert_eq!(train.num_groups(), 12);
        assert_eq!(train.num_examples(), 36);
        for (g, (q, a)) in csv_rows(csv).iter().enumerate() {
            let first = train.group_puzzles(g).start;
            assert_eq!(&decode(train.example(first).1), a);
            for p in train.group_puzzles(g) {
                let (inp, lab) = train.example(train.puzzle_examples(p).start);
                assert!(is_true_solution(&decode(inp), &decode(lab)));
                assert_eq!(decode(inp).matches('.').count(), q.matches('.').count());
            }
        }
    }
}

#[test]
fn malformed_csv_names_the_line_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let rows = csv_rows("sudoku9.csv");
    let cases = [
        (format!("{},{}\n", rows[0].0, rows[0].1), "line 3", "fields"),
        (format!("x,{}7,{},0\n", rows[0].0, rows[0].1), "line 3", "82 characters"),
        (
            format!(
                "x,{},{},0\n",
                rows[0].0.replacen('.', "5", 1).replacen('.', "5", 1),
                rows[0].1
            ),
            "line 3",
            "conflicting givens",
        ),
        (format!("x,{},{},0\n", ".".repeat(81), rows[0].1), "line 3", "more than one solution"),
        (format!("x,{},{},0\n", rows[0].0, rows[1].1), "line 3", "inconsistent"),
    ];
    for (bad_row, line, what) in cases {
        let csv = tmp.path().join("bad.csv");
        fs::write(
            &csv,
            format!("source,question,answer,rating\nx,{},{},0\n{bad_row}", rows[1].0, rows[1].1),
        )
        .unwrap();
        let out = tmp.path().join("out");
        let err = fails(&[
            "data",
            "sudoku",
            "--test-csv",
            csv.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(err.contains("bad.csv") && err.contains(line) && err.contains(what), "{err}");
        assert!(!out.exists(), "no output after an error");
        let left: Vec<_> =
            fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("bad.csv")], "no temporary folder left");
    }
}

#[test]
fn same_seed_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let build = |name: &str, seed: &str| {
        let out = tmp.path().join(name);
        ok(&[
            "data",
            "sudoku",
            "--size",
            "4",
            "--generate-train",
            "40",
            "--generate-test",
            "10",
            "--aug",
            "3",
            "--minimal",
            "--seed",
            seed,
            "--out",
            out.to_str().unwrap(),
        ]);
        let mut files = Vec::new();
        for split in ["train", "test"] {
            for entry in fs::read_dir(out.join(split)).unwrap() {
                let p = entry.unwrap().path();
                files.push((p.file_name().unwrap().to_owned(), fs::read(&p).unwrap()));
            }
        }
        files.sort();
        files
    };
    let a = build("a", "3");
    assert_eq!(a.len(), 12);
    assert_eq!(a, build("b", "3"));
    assert_ne!(a, build("c", "4"));
}

#[test]
fn generated_9x9_meets_the_filters() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("d");
    ok(&[
        "data",
        "sudoku",
        "--generate-test",
        "5",
        "--min-guesses",
        "1",
        "--min-givens",
        "24",
        "--max-givens",
        "30",
        "--out",
        out.to_str().unwrap(),
    ]);
    let test = Dataset::load(&out).unwrap().test.unwrap();
    for i in 0..5 {
        let (inp, lab) = test.example(i);
        let givens = inp.iter().filter(|&&t| t > 1).count();
        assert!((24..=30).contains(&givens), "{givens}");
        let p = trm_data::sudoku::Grid::from_tokens(inp).unwrap();
        let a = trm_data::sudoku::solver::analyse(&p);
        assert!(a.guesses >= 1 && a.solutions == 1);
        assert!(is_true_solution(&decode(inp), &decode(lab)));
    }
}

#[test]
fn refuses_to_overwrite_a_folder_that_is_not_a_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("keep.txt"), "x").unwrap();
    let err = fails(&[
        "data",
        "sudoku",
        "--generate-test",
        "2",
        "--size",
        "4",
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    assert!(err.contains("refusing"), "{err}");
    assert!(tmp.path().join("keep.txt").exists());
    let err = fails(&["data", "sudoku", "--out", tmp.path().join("x").to_str().unwrap()]);
    assert!(err.contains("nothing to build"), "{err}");
}

#[test]
fn inspect_and_bench_print_tables_and_grids() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("d");
    ok(&[
        "data",
        "sudoku",
        "--train-csv",
        fixture("sudoku4.csv").to_str().unwrap(),
        "--aug",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    let text = ok(&["data", "inspect", out.to_str().unwrap()]);
    assert!(text.contains("[train] 12 groups, 24 puzzles, 24 examples"), "{text}");
    assert!(text.contains("4x4 Sudoku: 24 of 24 labels solve their inputs"), "{text}");
    assert!(text.contains("augmented copy 1"), "{text}");
    assert!(text.contains("----+----"), "{text}");
    let table = ok(&[
        "data",
        "bench-sudoku",
        "--min-time-ms",
        "1",
        fixture("sudoku9_bare.txt").to_str().unwrap(),
    ]);
    assert!(table.lines().next().unwrap().starts_with("| file | puzzles | solved"), "{table}");
    assert!(table.contains("| sudoku9_bare.txt | 12 | 12 | 12 |"), "{table}");
}

#[test]
fn generate_settings_with_data_are_refused() {
    // --data replaces [data.generate]; a --set that changes it would be silently ignored.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let run = dir.path().join("run");
    let err = fails(&[
        "train",
        "--preset",
        "sudoku9-cpu",
        "--data",
        data.to_str().unwrap(),
        "--set",
        "online=false",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(err.contains("[data.generate]") && err.contains("drop --data"), "{err}");
    assert!(!run.exists(), "nothing is written");
}
