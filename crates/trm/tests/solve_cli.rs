//! `trm solve sudoku` and `trm eval --per-step --plot`, run as a user runs them, on a tiny
//! 4x4 model trained here (it need not be accurate, only loadable).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
mod cli;
use cli::{fails, ok};

fn train_tiny(run: &Path) {
    let run = run.to_str().unwrap();
    ok(&[
        "train",
        "--preset",
        "sudoku4",
        "--out",
        run,
        "--set",
        "epochs=2",
        "--set",
        "eval_interval=2",
        "--set",
        "data.generate.train=200",
        "--set",
        "data.generate.test=20",
        "--set",
        "hidden_size=16",
        "--set",
        "puzzle_emb_ndim=16",
    ]);
}

/// The one-line answers printed for each puzzle.
fn answers(stdout: &str) -> Vec<&str> {
    stdout.lines().filter_map(|l| l.strip_prefix("answer")).map(str::trim).collect()
}

#[test]
fn solve_sudoku_through_the_binary() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    train_tiny(&run);
    let model = run.to_str().unwrap();

    // One valid puzzle: an answer grid, the check, steps and confidence, the classic solver.
    let out = ok(&[
        "solve",
        "sudoku",
        "--model",
        model,
        "1.3..2.....4....",
        "--classic",
        "--max-steps",
        "3",
    ]);
    let a = answers(&out);
    assert_eq!(a.len(), 1, "{out}");
    assert_eq!(a[0].chars().count(), 16, "{out}");
    assert!(out.contains("check "), "{out}");
    assert!(out.contains("steps       3 (q_halt confidence"), "{out}");
    assert!(out.contains("classic     1432324123144123"), "{out}");
    assert!(out.contains("exact solver"), "{out}");

    // --steps prints every step up to --max-steps (no colour: stdout is a pipe).
    let out = ok(&[
        "solve",
        "sudoku",
        "--model",
        model,
        "1.3..2.....4....",
        "--steps",
        "--max-steps",
        "4",
    ]);
    for k in 1..=4 {
        assert!(out.contains(&format!("step {k}: q_halt")), "{out}");
    }
    assert!(!out.contains("step 5:"), "{out}");
    assert!(!out.contains('\x1b'), "{out}");

    // --picture draws those steps: one PNG per puzzle, numbered when there are several.
    let picture = tmp.path().join("steps.png");
    let out = ok(&[
        "solve",
        "sudoku",
        "--model",
        model,
        "1.3..2.....4....",
        "--steps",
        "--max-steps",
        "2",
        "--picture",
        picture.to_str().unwrap(),
    ]);
    assert!(
        out.contains("picture     ") && std::fs::read(&picture).unwrap().starts_with(b"\x89PNG"),
        "{out}"
    );
    let list = tmp.path().join("two.txt");
    std::fs::write(&list, "1.3..2.....4....\n.2..4.........1.\n").unwrap();
    ok(&[
        "solve",
        "sudoku",
        "--model",
        model,
        list.to_str().unwrap(),
        "--steps",
        "--max-steps",
        "1",
        "--picture",
        picture.to_str().unwrap(),
    ]);
    assert!(tmp.path().join("steps-1.png").is_file() && tmp.path().join("steps-2.png").is_file());
    let err = fails(&[
        "solve",
        "sudoku",
        "--model",
        model,
        "1.3..2.....4....",
        "--picture",
        picture.to_str().unwrap(),
    ]);
    assert!(err.contains("--steps"), "{err}");

    // Invalid puzzles: non-zero exit and an error naming the puzzle and the problem.
    let err = fails(&["solve", "sudoku", "--model", model, "1.3..2.....4..x."]);
    assert!(err.contains("character 'x' at position 15"), "{err}");
    let err = fails(&["solve", "sudoku", "--model", model, "11.............."]);
    assert!(err.contains("conflicting givens") && err.contains("digit 1 twice"), "{err}");
    let err = fails(&["solve", "sudoku", "--model", model, "1.3..2.....4..."]);
    assert!(err.contains("15 characters"), "{err}");
    // A 9x9 puzzle for a 4x4 model.
    let big = format!("1{}", ".".repeat(80));
    let err = fails(&["solve", "sudoku", "--model", model, &big]);
    assert!(
        err.contains("9x9 Sudoku needs a model with seq_len 81")
            && err.contains("4x4 Sudoku model"),
        "{err}"
    );

    // A file of puzzles (comments skipped): one answer each, and a summary.
    let file = tmp.path().join("puzzles.txt");
    std::fs::write(&file, "1.3..2.....4....\n# a comment\n..2.....3.......\n.1..4...........\n")
        .unwrap();
    let out =
        ok(&["solve", "sudoku", "--model", model, file.to_str().unwrap(), "--batch-size", "2"]);
    assert_eq!(answers(&out).len(), 3, "{out}");
    assert!(out.contains("puzzle 2 of 3") && out.contains("line 3"), "{out}");
    assert!(out.contains("3 puzzles:"), "{out}");
    // A bad line in a file is named by its line.
    std::fs::write(&file, "1.3..2.....4....\n..22............\n").unwrap();
    let err = fails(&["solve", "sudoku", "--model", model, file.to_str().unwrap()]);
    assert!(err.contains("line 2") && err.contains("conflicting givens"), "{err}");

    // Puzzles on stdin.
    let mut child = Command::new(env!("CARGO_BIN_EXE_trm"))
        .args(["solve", "sudoku", "--model", model, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"1.3..2.....4....\n..2.....3.......\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(answers(&String::from_utf8(out.stdout).unwrap()).len(), 2);

    // eval --per-step --plot draws the accuracy-vs-steps PNG.
    let png = tmp.path().join("steps.png");
    let out = ok(&[
        "eval",
        "--model",
        model,
        "--per-step",
        "--max-steps",
        "10",
        "--plot",
        png.to_str().unwrap(),
    ]);
    assert!(out.contains("step  exact accuracy"), "{out}");
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    assert!(bytes.len() > 1000);
    assert!(!fails(&["eval", "--model", model, "--plot", png.to_str().unwrap()]).is_empty());

    // eval of the 4x4 model on 9x9 puzzles says so in words.
    let nine = tmp.path().join("nine");
    ok(&["data", "sudoku", "--size", "9", "--generate-test", "3", "--out", nine.to_str().unwrap()]);
    let err = fails(&["eval", "--model", model, "--data", nine.to_str().unwrap()]);
    assert!(
        err.contains("holds 9x9 grids (seq_len 81), 11 token values")
            && err.contains("was trained on 4x4 grids (seq_len 16), 6 token values")
            && err.contains("same task and size"),
        "{err}"
    );
    // So does --checkpoint with a configuration, without the run folder's dataset.
    let (weights, config) = (format!("{model}/model.safetensors"), format!("{model}/config.toml"));
    let nine = nine.to_str().unwrap();
    let err = fails(&["eval", "--checkpoint", &weights, "--config", &config, "--data", nine]);
    assert!(
        err.contains("holds 9x9 grids (seq_len 81), 11 token values")
            && err.contains("dataset built like its training data"),
        "{err}"
    );
}

/// `--classic` alone needs no model: the exact solver answers (checked against the givens and
/// the rules), an unsolvable puzzle fails by name, and the model-only flags ask for --model.
#[test]
fn classic_solves_without_a_model() {
    let puzzle =
        "4.....8.5.3..........7......2.....6.....8.4......1.......6.3.7.5..2.....1.4......";
    let out = ok(&["solve", "sudoku", "--classic", puzzle]);
    let answer = answers(&out);
    assert_eq!(answer.len(), 1, "{out}");
    let grid: Vec<u8> = answer[0].bytes().map(|b| b - b'0').collect();
    assert_eq!(grid.len(), 81);
    for (i, c) in puzzle.bytes().enumerate() {
        assert!(c == b'.' || c - b'0' == grid[i], "given {i} changed: {out}");
    }
    for k in 0..9 {
        let row: std::collections::BTreeSet<u8> = (0..9).map(|c| grid[k * 9 + c]).collect();
        let col: std::collections::BTreeSet<u8> = (0..9).map(|r| grid[r * 9 + k]).collect();
        let (br, bc) = (k / 3 * 3, k % 3 * 3);
        let bx: std::collections::BTreeSet<u8> =
            (0..9).map(|i| grid[(br + i / 3) * 9 + bc + i % 3]).collect();
        assert!(row.len() == 9 && col.len() == 9 && bx.len() == 9, "not a solution: {out}");
    }
    // Row 1 needs its 3 in columns 3-4, which share a box with the 3 of row 2: no conflict
    // among the givens, yet no completion.
    let err = fails(&["solve", "sudoku", "--classic", "12.....3........"]);
    assert!(err.contains("no solution exists for"), "{err}");
    let err = fails(&["solve", "sudoku", "--classic", "--steps", puzzle]);
    assert!(err.contains("--model <RUN>"), "{err}");
}
