//! Solver benchmark on puzzle files (tdoku collections, CSV): one core, parsing excluded.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{ensure, Result};

use super::build::read_records;
use super::{solver, Grid};

/// One row of the benchmark table.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchRow {
    /// File name of the puzzle file.
    pub file: String,
    /// Number of puzzles in the file.
    pub puzzles: usize,
    /// Puzzles with at least one solution (each checked to keep the givens and be valid).
    pub solved: usize,
    /// Puzzles with exactly one solution.
    pub unique: usize,
    /// Finding the first solution.
    pub solve_per_sec: f64,
    /// Mean solver guesses per solved puzzle (the difficulty rating).
    pub mean_guesses: f64,
    /// Counting solutions up to two (the uniqueness check the generator uses).
    pub unique_check_per_sec: f64,
}

/// Times the solver on the puzzles of `path`, repeating each pass until it lasts at least
/// `min_time` so that small files are measured too.
pub fn bench_file(path: &Path, min_time: Duration) -> Result<BenchRow> {
    let puzzles: Vec<Grid> = read_records(path)?.into_iter().map(|r| r.puzzle).collect();
    let (solve_per_sec, firsts) = timed(&puzzles, min_time, solver::solve);
    let mut solved = 0;
    let mut guesses = 0u64;
    for (p, first) in puzzles.iter().zip(&firsts) {
        if let Some((solution, g)) = first {
            ensure!(
                p.is_solved_by(solution),
                "{}: wrong solution {solution} for {p}",
                path.display()
            );
            solved += 1;
            guesses += g;
        }
    }
    let (unique_check_per_sec, counts) =
        timed(&puzzles, min_time, |p| solver::analyse(p).solutions);
    Ok(BenchRow {
        file: path
            .file_name()
            .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned()),
        puzzles: puzzles.len(),
        solved,
        unique: counts.iter().filter(|&&c| c == 1).count(),
        solve_per_sec,
        mean_guesses: if solved == 0 { 0.0 } else { guesses as f64 / solved as f64 },
        unique_check_per_sec,
    })
}

fn timed<T>(puzzles: &[Grid], min_time: Duration, f: impl Fn(&Grid) -> T) -> (f64, Vec<T>) {
    let start = Instant::now();
    let out: Vec<T> = puzzles.iter().map(&f).collect();
    let mut passes = 1;
    while start.elapsed() < min_time {
        for p in puzzles {
            std::hint::black_box(f(std::hint::black_box(p)));
        }
        passes += 1;
    }
    let rate = (puzzles.len() * passes) as f64 / start.elapsed().as_secs_f64();
    (rate, out)
}

/// The table printed by `trm data bench-sudoku` (Markdown).
pub fn format_table(rows: &[BenchRow]) -> String {
    let mut out = String::from(
        "| file | puzzles | solved | unique | puzzles/s (solve) | µs/puzzle | mean guesses | puzzles/s (count to 2) |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {:.0} | {:.1} | {:.2} | {:.0} |\n",
            r.file,
            r.puzzles,
            r.solved,
            r.unique,
            r.solve_per_sec,
            1e6 / r.solve_per_sec,
            r.mean_guesses,
            r.unique_check_per_sec
        ));
    }
    out
}
