//! The speed of the Maze-Hard generator (one thread and several) and of BFS on the mazes it
//! made, as `trm data bench-maze` prints it.

use std::collections::HashSet;
use std::time::Instant;

use anyhow::{ensure, Result};

use super::generate::{generate, GenerationStats, GeneratorConfig};
use super::{path_summary, MazePair, MazeSolver};

/// What one benchmark run measured.
pub struct MazeBench {
    /// The generator's settings.
    pub config: GeneratorConfig,
    /// The generator's seed.
    pub seed: u64,
    /// Threads of the parallel generation.
    pub threads: usize,
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
    Ok(MazeBench {
        config: config.clone(),
        seed,
        threads,
        mazes,
        stats,
        one_thread_s,
        threaded_s,
        bfs_solved: solved,
        bfs_s,
    })
}

impl MazeBench {
    /// What `trm data bench-maze` prints: the settings, a Markdown table of BFS and
    /// generation speed (one thread and all threads) and the path lengths of the mazes.
    pub fn table(&self) -> String {
        let (c, count, threads) = (&self.config, self.mazes.len(), self.threads);
        let layouts = self.stats.layouts as f64;
        let mut text = format!(
            "Maze {}x{}, min path {} cells, {count} mazes, seed {}:\n\n",
            c.rows, c.cols, c.min_path, self.seed
        );
        text += "| measurement | threads | result |\n|---|---:|---|\n";
        text += &format!(
            "| BFS shortest path (with backtracking) | 1 | {:.0} mazes/s ({:.2} us/maze) |\n",
            self.bfs_solved as f64 / self.bfs_s,
            self.bfs_s * 1e6 / self.bfs_solved as f64
        );
        text += &format!(
            "| generation | 1 | {:.1} mazes/s ({} layouts, {:.0} layouts/s, acceptance {:.3}%, {:.2} BFS per layout) |\n",
            count as f64 / self.one_thread_s,
            self.stats.layouts,
            layouts / self.one_thread_s,
            100.0 * self.stats.accepted as f64 / layouts,
            self.stats.searches as f64 / layouts
        );
        text += &format!(
            "| generation | {threads} | {:.1} mazes/s ({:.1} s for {count} mazes, same mazes as 1 thread) |\n",
            count as f64 / self.threaded_s,
            self.threaded_s
        );
        text + &format!("\npath cells min / mean / max: {}\n", path_summary(&self.mazes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_reports_counts_and_rates() {
        let config = GeneratorConfig::new(6, 6).with_min_path(Some(6));
        let mut b = bench_generator(&config, 4, 1, 2, 0.001).unwrap();
        b.stats = GenerationStats { layouts: 200, accepted: 5, duplicates: 1, searches: 300 };
        (b.one_thread_s, b.threaded_s, b.bfs_solved, b.bfs_s) = (2.0, 0.5, 1000, 0.01);
        let text = b.table();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Maze 6x6, min path 6 cells, 4 mazes, seed 1:");
        assert_eq!(
            lines[4],
            "| BFS shortest path (with backtracking) | 1 | 100000 mazes/s (10.00 us/maze) |"
        );
        assert_eq!(lines[5], "| generation | 1 | 2.0 mazes/s (200 layouts, 100 layouts/s, acceptance 2.500%, 1.50 BFS per layout) |");
        assert_eq!(
            lines[6],
            "| generation | 2 | 8.0 mazes/s (0.5 s for 4 mazes, same mazes as 1 thread) |"
        );
        assert_eq!(lines[8], format!("path cells min / mean / max: {}", path_summary(&b.mazes)));
    }
}
