//! The speed of the Maze-Hard generator (one thread and several) and of BFS on the mazes it
//! made, as `trm data bench-maze` prints it.

use std::collections::HashSet;
use std::time::Instant;

use anyhow::{ensure, Result};

use super::generate::{generate, GenerationStats, GeneratorConfig};
use super::{MazePair, MazeSolver};

/// What one benchmark run measured.
pub struct MazeBench {
    /// The mazes generated (the same with one thread and with several).
    pub mazes: Vec<MazePair>,
    /// Counts of the one-thread generation.
    pub stats: GenerationStats,
    /// Seconds of the generation on one thread.
    pub one_thread_s: f64,
    /// Seconds of the same generation on the threads asked for.
    pub threaded_s: f64,
    /// Mazes solved by BFS (shortest path with backtracking) in the timed loop.
    pub bfs_solved: u64,
    /// Seconds of the timed BFS loop.
    pub bfs_s: f64,
}

/// Generates `count` mazes of `config` from `seed` on one thread, then on `threads` threads
/// (checking that the mazes are the same), then solves them by BFS over and over for at
/// least `bfs_seconds`.
pub fn bench_generator(
    config: &GeneratorConfig,
    count: usize,
    seed: u64,
    threads: usize,
    bfs_seconds: f64,
) -> Result<MazeBench> {
    let t = Instant::now();
    let (mazes, stats) = generate(config, count, seed, 0, 1, &mut HashSet::new())?;
    let one_thread_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let (again, _) = generate(config, count, seed, 0, threads, &mut HashSet::new())?;
    let threaded_s = t.elapsed().as_secs_f64();
    ensure!(
        again == mazes,
        "the generator gave different mazes with {threads} threads than with 1"
    );

    let problems: Vec<(Vec<bool>, usize, usize)> = mazes
        .iter()
        .map(|p| {
            let (s, g) = p.question.endpoints().expect("generated mazes are valid");
            (p.question.passable(), s, g)
        })
        .collect();
    let mut solver = MazeSolver::new();
    let (mut solved, mut cells) = (0u64, 0u64);
    let t = Instant::now();
    while t.elapsed().as_secs_f64() < bfs_seconds {
        for (passable, s, g) in &problems {
            let path = solver
                .shortest_path(passable, config.rows, config.cols, *s, *g)
                .expect("generated mazes have a path");
            cells += path.len() as u64;
        }
        solved += problems.len() as u64;
    }
    let bfs_s = t.elapsed().as_secs_f64();
    ensure!(cells > 0, "no maze solved");
    Ok(MazeBench { mazes, stats, one_thread_s, threaded_s, bfs_solved: solved, bfs_s })
}
