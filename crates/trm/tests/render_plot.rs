//! `trm render` and `trm plot` through the binary, as a user runs them.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn trm(args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trm"));
    cmd.args(args).stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(text) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn err(out: &Output) -> String {
    assert!(!out.status.success(), "should fail: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Width and height from a PNG header.
fn png_size(path: &Path) -> (u32, u32) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "{} is not a PNG", path.display());
    (
        u32::from_be_bytes(b[16..20].try_into().unwrap()),
        u32::from_be_bytes(b[20..24].try_into().unwrap()),
    )
}

const PUZZLE: &str =
    "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79";
const SOLUTION: &str =
    "534678912672195348198342567859761423426853791713924856961537284287419635345286179";

#[test]
fn render_sudoku_png_svg_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("s.png");
    let text = ok(&trm(
        &["render", "sudoku", PUZZLE, "--solution", SOLUTION, "--out", png.to_str().unwrap()],
        None,
    ));
    assert!(text.contains("valid") && text.contains("474x474"), "{text}");
    assert_eq!(png_size(&png), (474, 474));

    // A 4x4 puzzle as rows in a file, a solution with a clash, SVG output.
    let file = dir.path().join("p.txt");
    std::fs::write(&file, "1.3.\n..1.\n.1..\n4.2.\n").unwrap();
    let svg = dir.path().join("s.svg");
    let text = ok(&trm(
        &[
            "render",
            "sudoku",
            file.to_str().unwrap(),
            "--solution",
            "1234341221434312",
            "-o",
            svg.to_str().unwrap(),
        ],
        None,
    ));
    assert!(text.contains("4 cells"), "{text}");
    assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<svg"));

    let e =
        err(&trm(&["render", "sudoku", "1.3...1..1..4.x.", "--out", png.to_str().unwrap()], None));
    assert!(e.contains("puzzle") && e.contains("row 4, column 3"), "{e}");
    let e = err(&trm(&["render", "sudoku", PUZZLE, "--out", "x.jpg"], None));
    assert!(e.contains("x.jpg") && e.contains(".png"), "{e}");
}

#[test]
fn render_maze_from_stdin_with_the_solved_path() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("m.png");
    let text = ok(&trm(
        &["render", "maze", "-", "--solve", "--out", png.to_str().unwrap()],
        Some("######\n#S  ##\n# # G#\n######\n"),
    ));
    assert!(text.contains("4x6"), "{text}");
    assert_eq!(png_size(&png), (24 + 6 * 32, 24 + 4 * 32));
    let e = err(&trm(&["render", "maze", "-", "--out", png.to_str().unwrap()], Some("#S  G###")));
    assert!(e.contains("<stdin>") && e.contains("square number"), "{e}");
    let e = err(&trm(&["render", "maze", "missing.txt", "--out", png.to_str().unwrap()], None));
    assert!(e.contains("missing.txt"), "{e}");
}

#[test]
fn render_arc_task_with_attempts() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../trm-viz/tests/fixtures/arc");
    let task = fixtures.join("6150a2bd.json");
    let dir = tempfile::tempdir().unwrap();
    let attempts = dir.path().join("attempts.json");
    std::fs::write(
        &attempts,
        r#"{"6150a2bd": [{"attempt_1": [[0, 0, 4], [0, 8, 6], [5, 3, 6]], "attempt_2": [[1]]}]}"#,
    )
    .unwrap();
    let png = dir.path().join("a.png");
    let args = [
        "render",
        "arc",
        task.to_str().unwrap(),
        "--attempts",
        attempts.to_str().unwrap(),
        "--out",
        png.to_str().unwrap(),
    ];
    let text = ok(&trm(&args, None));
    assert!(text.contains("2 train + 1 test"), "{text}");
    let (w, h) = png_size(&png);
    assert!(w > 400 && h > 300, "{w}x{h}");

    let e = err(&trm(
        &["render", "arc", fixtures.to_str().unwrap(), "--out", png.to_str().unwrap()],
        None,
    ));
    assert!(e.contains("--task-id"), "{e}");
    std::fs::write(&attempts, r#"[{"attempt_1": [[0, 12]]}]"#).unwrap();
    let e = err(&trm(&args, None));
    assert!(e.contains("attempts.json") && e.contains("12 is not a colour"), "{e}");
}

#[test]
fn plot_learning_curves_of_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = concat!(
        "{\"step\": 0, \"lm_loss\": 2.3, \"exact_accuracy\": 0.0, \"steps\": 16, \"elapsed_s\": 1}\n",
        "{\"step\": 100, \"lm_loss\": 1.5, \"exact_accuracy\": 0.1, \"steps\": 14, \"elapsed_s\": 60}\n",
        "{\"step\": 100, \"eval/lm_loss\": 1.7, \"eval/exact_accuracy\": 0.05}\n",
        "{\"step\": 200, \"lm_lo",
    );
    std::fs::write(dir.path().join("metrics.jsonl"), metrics).unwrap();
    let text = ok(&trm(&["plot", dir.path().to_str().unwrap()], None));
    assert!(
        text.contains("3 metrics from 3 lines")
            && text.contains("train, eval")
            && text.contains("incomplete"),
        "{text}"
    );
    let (w, h) = png_size(&dir.path().join("curves.png"));
    assert_eq!(w, 16 * 2 + 3 * 380);
    assert!(h > 500, "{h}");

    std::fs::write(
        dir.path().join("metrics.jsonl"),
        "{\"step\": 1, \"a\": 1}\nnot json\n{\"step\": 2}\n",
    )
    .unwrap();
    let e = err(&trm(&["plot", dir.path().to_str().unwrap()], None));
    assert!(e.contains("metrics.jsonl") && e.contains("line 2"), "{e}");
    let e = err(&trm(&["plot", dir.path().join("nothing").to_str().unwrap()], None));
    assert!(e.contains("nothing") && e.contains("metrics.jsonl"), "{e}");
}
