//! Writes one picture of every kind trm-viz draws, to look at the renderers without a trained
//! model (target/gallery/ by default): `cargo run -p trm-viz --example gallery -- [OUT_DIR]`.
//! None of them is shown in the docs, whose pictures all come from real runs.
//!
//! The Sudoku, the maze (trm-data's Maze-Hard generator) and the ARC task are real puzzles;
//! the model's steps, the learning curves and the per-step curve are synthetic (no trained
//! model is needed), made with a fixed seed.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;
use trm_viz::metrics::Metrics;
use trm_viz::{arc, curves, maze, step_strip, sudoku, Grid, Kind, Marks, StripOptions};

const PUZZLE: &str =
    "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79";
const SOLUTION: &str =
    "534678912672195348198342567859761423426853791713924856961537284287419635345286179";

/// A small deterministic generator (xorshift64*), enough for synthetic pictures.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A synthetic refinement: each blank cell shows a wrong digit until the step at which it
/// becomes right, as a model's answers do over supervision steps.
fn sudoku_steps(puzzle: &Grid, solution: &Grid, n: usize, rng: &mut Rng) -> Vec<Grid> {
    let cells = puzzle.cells().len();
    let fixed_at: Vec<usize> =
        (0..cells).map(|_| if rng.unit() < 0.55 { 1 } else { 2 + rng.below(n - 1) }).collect();
    let wrong: Vec<u8> = solution
        .cells()
        .iter()
        .map(|&t| 2 + ((t - 2) as usize + 1 + rng.below(8)) as u8 % 9)
        .collect();
    (1..=n)
        .map(|step| {
            let mut g = puzzle.clone();
            for i in 0..cells {
                let (r, c) = (i / 9, i % 9);
                if puzzle.get(r, c) == 1 {
                    g.set(r, c, if step >= fixed_at[i] { solution.get(r, c) } else { wrong[i] });
                }
            }
            g
        })
        .collect()
}

/// A Maze-Hard-like 30x30 maze from trm-data's generator, with its shortest path drawn.
fn maze_with_path(seed: u64) -> Result<Grid> {
    use trm_data::maze::generate::{generate, GeneratorConfig};
    let (mazes, _) =
        generate(&GeneratorConfig::new(30, 30), 1, seed, 0, 1, &mut Default::default())?;
    Ok(Grid::from(&mazes[0].answer))
}

/// A metrics.jsonl shaped like a TRM Sudoku run: training lines every 100 steps and an
/// evaluation line every 2,000.
fn synthetic_metrics(rng: &mut Rng) -> String {
    let mut out = String::new();
    for k in 0..=200 {
        let step = k * 100;
        let s = step as f64;
        let noise = |rng: &mut Rng, a: f64| (rng.unit() - 0.5) * a;
        let exact = 0.9 / (1.0 + (-(s - 9000.0) / 1800.0).exp());
        let lm = 0.05 + 1.6 * (-s / 3500.0).exp() + noise(rng, 0.06) * (1.0 - exact);
        let acc = (0.55 + 0.44 * (1.0 - (-s / 4000.0).exp()) + noise(rng, 0.01)).min(1.0);
        let steps = 16.0 - 11.0 * exact + noise(rng, 0.6);
        let lr = 1e-4 * (s / 2000.0).min(1.0);
        let elapsed = s * 1.8 + noise(rng, 2.0) + 1.0;
        writeln!(
            out,
            "{{\"step\": {step}, \"epoch\": {:.2}, \"lr\": {lr:.3e}, \"lm_loss\": {lm:.4}, \"q_halt_loss\": {:.4}, \"accuracy\": {acc:.4}, \"exact_accuracy\": {:.4}, \"q_halt_accuracy\": {:.4}, \"steps\": {steps:.3}, \"examples_per_s\": {:.1}, \"elapsed_s\": {elapsed:.1}}}",
            s / 100.0,
            0.02 + 0.5 * (-s / 5000.0).exp(),
            (exact + noise(rng, 0.05)).clamp(0.0, 1.0),
            0.6 + 0.38 * (1.0 - (-s / 6000.0).exp()),
            5200.0 + noise(rng, 300.0),
        )
        .unwrap();
        if step % 2000 == 0 && step > 0 {
            writeln!(
                out,
                "{{\"step\": {step}, \"split\": \"eval\", \"lm_loss\": {:.4}, \"accuracy\": {:.4}, \"exact_accuracy\": {:.4}, \"steps\": 16, \"elapsed_s\": {:.1}}}",
                0.08 + 1.7 * (-s / 3800.0).exp(),
                0.55 + 0.42 * (1.0 - (-s / 4200.0).exp()),
                0.85 / (1.0 + (-(s - 9800.0) / 1900.0).exp()),
                s * 1.8 + 30.0,
            )
            .unwrap();
        }
    }
    out
}

fn main() -> Result<()> {
    let out =
        std::env::args().nth(1).map_or_else(|| PathBuf::from("target/gallery"), PathBuf::from);
    std::fs::create_dir_all(&out)?;
    let save = |name: &str, scene: trm_viz::Scene| -> Result<()> {
        let path = out.join(name);
        scene.save(&path)?;
        println!("wrote {}", path.display());
        Ok(())
    };
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/arc");

    let puzzle = Grid::from(&trm_data::sudoku::Grid::parse(PUZZLE)?);
    let solution = Grid::from(&trm_data::sudoku::Grid::parse(SOLUTION)?);
    let steps = sudoku_steps(&puzzle, &solution, 6, &mut rng);
    // The answer after step 4, its cells that differ from the solution shaded red.
    let marks = Marks::wrong(&steps[3], &solution);
    save("sudoku.png", sudoku::picture(&puzzle, Some(&steps[3]), Some(&marks))?)?;
    save("sudoku-solved.svg", sudoku::picture(&puzzle, Some(&solution), None)?)?;
    let opts = StripOptions {
        input: Some(puzzle.clone()),
        truth: Some(solution.clone()),
        title: Some("Sudoku: the answer after each supervision step (synthetic)".into()),
        columns: Some(8),
        ..StripOptions::default()
    };
    save("strip.png", step_strip(Kind::Sudoku, &steps, &opts)?)?;

    let maze = maze_with_path(7)?;
    save("maze.png", maze::picture(&maze, None)?)?;

    let task = arc::Task::from(&trm_data::arc::read_tasks(&fixtures.join("1e0a9b12.json"))?[0]);
    let truth = task.test[0].output.clone().unwrap();
    let mut wrong = truth.clone();
    wrong.set(truth.rows() - 1, 0, 0);
    wrong.set(truth.rows() - 2, 0, 4);
    save(
        "arc-task.png",
        arc::task_picture(&task, &[vec![wrong, truth]], Some("ARC-AGI-1 training 1e0a9b12"))?,
    )?;

    let metrics = Metrics::parse(&synthetic_metrics(&mut rng))?;
    save("curves.png", curves::learning_curves(&metrics, "Learning curves (synthetic run)")?)?;
    let per_step: Vec<(usize, f64)> = (1..=32)
        .map(|n| (n, 0.87 * (1.0 - (-(n as f64) / 3.5).exp()) - 0.002 * (n as f64 - 16.0).max(0.0)))
        .collect();
    save("per-step.png", curves::accuracy_vs_steps(&per_step, Some(16))?)?;

    Ok(())
}
