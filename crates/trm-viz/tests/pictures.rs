//! Renders every picture kind to PNG and SVG files and checks sizes and pixel colours.

use std::path::Path;

use tiny_skia::Pixmap;
use trm_viz::color::{self, ARC_PALETTE, SERIES};
use trm_viz::metrics::Metrics;
use trm_viz::{
    arc, curves, maze, step_strip, sudoku, Color, Grid, Kind, Mark, Marks, Scene, StripOptions,
};

fn arc_task(name: &str) -> arc::Task {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/arc").join(name);
    arc::Task::from(&trm_data::arc::read_tasks(&path).unwrap()[0])
}

fn sudoku_grid(text: &str) -> Grid {
    Grid::from(&trm_data::sudoku::Grid::parse(text).unwrap())
}

/// Saves `scene` as PNG and SVG in a fresh folder and returns the decoded PNG and the SVG text.
fn render(scene: &Scene) -> (Pixmap, String) {
    let dir = tempfile::tempdir().unwrap();
    let (png, svg) = (dir.path().join("p.png"), dir.path().join("sub/p.svg"));
    scene.save(&png).unwrap();
    scene.save(&svg).unwrap();
    let pm = Pixmap::load_png(&png).unwrap();
    assert_eq!((pm.width(), pm.height()), (scene.width, scene.height));
    let svg = std::fs::read_to_string(svg).unwrap();
    assert!(svg.starts_with("<svg ") && svg.trim_end().ends_with("</svg>"));
    (pm, svg)
}

fn rgb(pm: &Pixmap, x: u32, y: u32) -> Color {
    let p = pm.pixel(x, y).unwrap().demultiply();
    Color::rgb(p.red(), p.green(), p.blue())
}

fn near(a: Color, b: Color, tol: i32) -> bool {
    (a.r as i32 - b.r as i32).abs() <= tol
        && (a.g as i32 - b.g as i32).abs() <= tol
        && (a.b as i32 - b.b as i32).abs() <= tol
}

/// Pixels within `tol` of `c` in the rectangle `x0..x1, y0..y1`.
fn count(pm: &Pixmap, c: Color, tol: i32, (x0, y0, x1, y1): (u32, u32, u32, u32)) -> usize {
    (y0..y1)
        .flat_map(|y| (x0..x1).map(move |x| (x, y)))
        .filter(|&(x, y)| near(rgb(pm, x, y), c, tol))
        .count()
}

fn whole(pm: &Pixmap) -> (u32, u32, u32, u32) {
    (0, 0, pm.width(), pm.height())
}

#[test]
fn sudoku_givens_filled_digits_and_wrong_cells() {
    let puzzle = sudoku_grid("1.3...1..1..4.2.");
    let answer = sudoku_grid("1234341221434312"); // last two rows end wrongly
    let marks = sudoku::mistakes(&puzzle, &answer).unwrap();
    assert_eq!(marks.count_wrong(), 4);
    let (pm, svg) = render(&sudoku::picture(&puzzle, Some(&answer), Some(&marks)).unwrap());
    // 12 margin + 3 border + 4 cells of 48 + thin, thick, thin gaps + 3 border + 12 margin.
    assert_eq!(pm.width(), 12 + 3 + 4 * 48 + 1 + 3 + 1 + 3 + 12);
    // Column lefts: 15, 64, 115, 164 (the thick box line sits at 112..115).
    let cell = |r: u32, c: u32| {
        let l = [15, 64, 115, 164];
        (l[c as usize], l[r as usize], l[c as usize] + 48, l[r as usize] + 48)
    };
    assert_eq!(rgb(&pm, 13, 100), Color::hex(0x222222), "outer border");
    assert_eq!(rgb(&pm, 113, 20), Color::hex(0x222222), "box line");
    assert_eq!(rgb(&pm, 63, 20), Color::hex(0xBBBBBB), "thin line");
    assert_eq!(rgb(&pm, 17, 17), Color::WHITE, "correct cell background");
    assert_eq!(rgb(&pm, 117, 166), color::WRONG_FILL, "wrong cell background");
    let blue = Color::hex(0x1F5FBF);
    let dark = Color::hex(0x111111);
    assert!(count(&pm, dark, 40, cell(0, 0)) > 30, "given digit is dark");
    assert_eq!(count(&pm, blue, 40, cell(0, 0)), 0);
    assert!(count(&pm, blue, 40, cell(0, 1)) > 30, "filled digit is blue");
    assert!(count(&pm, color::WRONG_INK, 40, cell(3, 3)) > 30, "wrong digit is red");
    assert!(svg.contains(">2</text>") && svg.contains(&color::WRONG_FILL.to_hex()));

    let nine = sudoku_grid(&".".repeat(81));
    let (pm, _) = render(&sudoku::picture(&nine, None, None).unwrap());
    assert_eq!(pm.width(), 24 + 9 * 48 + 6 + 4 * 3);
}

#[test]
fn maze_cells_path_and_marks() {
    let grid = Grid::from(&trm_data::maze::Maze::parse_lines("####\n#So#\n# G \n####\n").unwrap());
    let mut marks = Marks::none(4, 4);
    marks.set(0, 3, Mark { changed: false, wrong: true });
    marks.set(2, 1, Mark { changed: true, wrong: false });
    let (pm, svg) = render(&maze::picture(&grid, Some(&marks)).unwrap());
    // 10 margin, 2 frame, 4 cells of 32, 2 frame, 10 margin.
    assert_eq!((pm.width(), pm.height()), (10 + 2 + 4 * 32 + 2 + 10, 10 + 2 + 4 * 32 + 2 + 10));
    assert_eq!(rgb(&pm, 11, 50), Color::hex(0x8A9099), "frame");
    let centre = |r: u32, c: u32| rgb(&pm, 12 + 32 * c + 16, 12 + 32 * r + 16);
    assert_eq!(centre(0, 0), Color::hex(0x2B3440), "wall");
    assert_eq!(centre(1, 1), Color::hex(0x2ECC40), "start");
    assert_eq!(centre(1, 2), Color::hex(0x0074D9), "path");
    assert_eq!(centre(2, 2), Color::hex(0xFF4136), "goal");
    assert_eq!(centre(2, 3), Color::WHITE, "open");
    assert_eq!(centre(2, 1), Color::WHITE, "changed cell keeps its colour inside the frame");
    assert_eq!(rgb(&pm, 12 + 32 + 2, 12 + 64 + 16), color::CHANGED, "changed frame");
    assert_eq!(centre(0, 3), Color::WHITE, "wrong wall crossed in white ink");
    assert!(svg.contains("#2ecc40") && svg.contains("#0074d9"));
}

#[test]
fn arc_task_uses_the_palette_and_marks_attempts() {
    let task = arc_task("6150a2bd.json");
    let truth = task.test[0].output.clone().unwrap();
    let (pm, svg) =
        render(&arc::task_picture(&task, &[vec![truth.clone()]], Some("6150a2bd")).unwrap());
    // Every colour of the task appears as at least one full cell; colour 9 is not in it.
    let used: std::collections::BTreeSet<u8> = task
        .train
        .iter()
        .chain(&task.test)
        .flat_map(|p| {
            p.input
                .cells()
                .iter()
                .chain(p.output.as_ref().unwrap().cells())
                .copied()
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(used.len(), 9);
    for c in 0..10u8 {
        let n = count(&pm, ARC_PALETTE[c as usize], 0, whole(&pm));
        if used.contains(&c) {
            assert!(n >= 24 * 24, "colour {c}: {n} pixels");
        } else {
            assert_eq!(n, 0, "colour {c} is not in the task");
        }
    }
    assert!(count(&pm, color::CORRECT, 0, whole(&pm)) > 100, "correct attempt framed green");
    assert_eq!(count(&pm, color::INCORRECT, 0, whole(&pm)), 0);
    assert!(count(&pm, Color::hex(0x555555), 0, whole(&pm)) > 100, "grid lines");
    assert!(svg.contains("attempt 1 ✓") && svg.contains("1/1 test inputs solved"));

    // A wrong attempt of the right size: red frame and crossed cells; a hidden output: "?".
    let mut wrong = truth.clone();
    wrong.set(0, 0, 9);
    let mut hidden = task.clone();
    hidden.test.push(arc::Pair { input: truth.clone(), output: None });
    let (pm, svg) = render(&arc::task_picture(&hidden, &[vec![wrong]], None).unwrap());
    assert!(count(&pm, color::INCORRECT, 0, whole(&pm)) > 100);
    assert!(count(&pm, ARC_PALETTE[9], 0, whole(&pm)) > 0);
    assert!(
        svg.contains("attempt 1 ✗") && svg.contains("output unknown") && svg.contains(">?</text>")
    );
    assert!(
        arc::task_picture(&task, &[vec![], vec![]], None).is_err(),
        "more attempt lists than test inputs"
    );
}

#[test]
fn strip_highlights_changes_between_steps() {
    let input = sudoku_grid("1.3...1..1..4.2.");
    let truth = sudoku_grid("1234341221434321");
    let mut step1 = truth.clone();
    step1.set(0, 1, 4);
    let steps = vec![step1, truth.clone(), truth.clone()];
    let opts = StripOptions {
        input: Some(input.clone()),
        truth: Some(truth.clone()),
        columns: Some(3),
        ..Default::default()
    };
    let scene = step_strip(Kind::Sudoku, &steps, &opts).unwrap();
    let (pm, svg) = render(&scene);
    assert!(count(&pm, color::CHANGED_FILL, 0, whole(&pm)) > 500, "changed cells shaded");
    assert!(count(&pm, color::WRONG_FILL, 0, whole(&pm)) > 100, "the wrong cell of step 1");
    for text in [
        "input",
        "step 1",
        "step 3",
        "truth",
        "10 changed · 1 wrong",
        "1 changed · correct",
        "0 changed · correct",
    ] {
        assert!(svg.contains(&format!(">{text}</text>")), "{text}");
    }
    assert!(pm.height() > pm.width() / 3, "5 panels wrap onto 2 rows of 3");

    // Token grids: the changed frame appears only where something changed.
    let a = Grid::square(&[2u8; 900]).unwrap();
    let mut b = a.clone();
    b.set(3, 4, 5);
    let frame = |steps: &[Grid]| {
        let (pm, _) =
            render(&step_strip(Kind::ArcTokens, steps, &StripOptions::default()).unwrap());
        count(&pm, color::CHANGED, 0, whole(&pm))
    };
    assert!(frame(&[a.clone(), b.clone()]) > 0);
    assert_eq!(frame(&[a.clone(), a.clone()]), 0);
    let labels = StripOptions { labels: Some(vec!["x".into()]), ..Default::default() };
    assert!(step_strip(Kind::Maze, &[a.clone(), b], &labels).is_err(), "one label per step");
}

const METRICS: &str = r#"{"step": 0, "lm_loss": 2.3, "exact_accuracy": 0.0, "steps": 16, "lr": 0.0, "elapsed_s": 1}
{"step": 100, "lm_loss": 1.5, "exact_accuracy": 0.1, "steps": 14, "lr": 1e-4, "elapsed_s": 60}
{"step": 100, "eval/lm_loss": 1.7, "eval/exact_accuracy": 0.05, "eval/steps": 16}
{"step": 200, "lm_loss": 0.9, "exact_accuracy": 0.4, "steps": 9, "lr": 1e-4, "elapsed_s": 120}
{"step": 200, "split": "eval", "lm_loss": 1.1, "exact_accuracy": 0.3, "steps": 16, "elapsed_s": 130}
"#;

#[test]
fn learning_curves_draw_every_metric_and_group() {
    let m = Metrics::parse(METRICS).unwrap();
    assert_eq!(m.metrics(), vec!["lm_loss", "exact_accuracy", "steps", "lr"]);
    let (pm, svg) = render(&curves::learning_curves(&m, "run-1").unwrap());
    // 4 panels against step (2 rows of 3) and 3 against time (1 row), 380x250 each.
    assert_eq!((pm.width(), pm.height()), (16 * 2 + 3 * 380, (32 + 26 + 2 * 30 + 3 * 250) as u32));
    for title in
        ["LM loss", "exact accuracy", "mean halting steps", "learning rate", "elapsed (s)", "run-1"]
    {
        assert!(svg.contains(&format!(">{title}</text>")), "{title}");
    }
    assert!(count(&pm, SERIES[0], 10, whole(&pm)) > 200, "train lines");
    assert!(count(&pm, SERIES[1], 10, whole(&pm)) > 50, "eval lines and dots");
}

#[test]
fn accuracy_versus_steps_curve() {
    let points: Vec<(usize, f64)> = (1..=16).map(|n| (n, 1.0 - 1.0 / n as f64)).collect();
    let (pm, svg) = render(&curves::accuracy_vs_steps(&points, Some(8)).unwrap());
    assert_eq!((pm.width(), pm.height()), (640, 400));
    assert!(count(&pm, SERIES[0], 10, whole(&pm)) > 300);
    assert!(svg.contains("best 0.9375 at step 16") && svg.contains("trained N_sup = 8"));
    assert!(svg.contains("stroke-dasharray"));
}
