//! The Maze-Hard generator (HRM paper, arXiv 2506.21734, section 3): the Searchformer instance
//! generator (Lehnert et al. 2024) with HRM's "shortest path longer than 110" filter.
//!
//! One wall layout at a time:
//! 1. place `k` walls uniformly at random, `k` drawn uniformly between 30% and 50% of the
//!    cells (no carving, no border wall, 4-connected moves);
//! 2. up to 100 times, draw a start and a different goal among the free cells; keep the
//!    first pair whose shortest path has at least `min_path` cells (start and goal included)
//!    and move on to the next layout;
//! 3. a wall layout is used at most once, across train and test alike.
//!
//! Speed: most draws are rejected without a search. One flood fill per layout labels the
//! connected components and gives BFS distances from one root per component; by the
//! triangle inequality `d(s, g) <= d(root, s) + d(root, g)`, so a pair whose bound is already
//! too short is skipped. Only the rare survivors get a BFS.
//!
//! Determinism: layout `i` of a split draws from its own ChaCha8 stream keyed by
//! `(seed, split, i)`, and accepted layouts are taken in index order, so the output depends
//! on the seed only, never on the number of threads.

use std::collections::HashSet;

use anyhow::{bail, ensure, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::solve::{MazeSolver, UNREACHED};
use super::{Cell, Maze, MazePair};

/// Settings of the generator. [`GeneratorConfig::new`] gives the Maze-Hard defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct GeneratorConfig {
    /// Maze height in cells.
    pub rows: usize,
    /// Maze width in cells.
    pub cols: usize,
    /// Keep a maze only if its shortest path has at least this many cells, start and goal
    /// included (Maze-Hard: more than 110, so 111 for 30x30).
    pub min_path: usize,
    /// Fraction of cells that are walls, drawn uniformly in this closed range per layout.
    pub wall_fraction: (f64, f64),
    /// Start/goal draws per wall layout before the layout is given up.
    pub draws_per_layout: usize,
    /// Give up (with an error) after this many layouts per split.
    pub max_layouts: u64,
}

impl GeneratorConfig {
    /// The Maze-Hard settings for a `rows x cols` maze: 30-50% walls, 100 start/goal draws
    /// per layout, the path filter of [`default_min_path`].
    pub fn new(rows: usize, cols: usize) -> GeneratorConfig {
        GeneratorConfig {
            rows,
            cols,
            min_path: default_min_path(rows, cols),
            wall_fraction: (0.3, 0.5),
            draws_per_layout: 100,
            max_layouts: 100_000_000,
        }
    }

    /// The same settings with the path filter `min_path` when one is given (the default of
    /// [`GeneratorConfig::new`] otherwise).
    pub fn with_min_path(self, min_path: Option<usize>) -> GeneratorConfig {
        GeneratorConfig { min_path: min_path.unwrap_or(self.min_path), ..self }
    }

    fn check(&self) -> Result<()> {
        let cells = self.rows * self.cols;
        ensure!(
            self.rows >= 1 && self.cols >= 1 && cells >= 2,
            "a maze needs at least 2 cells, got {}x{}",
            self.rows,
            self.cols
        );
        ensure!(
            self.rows <= 4096 && self.cols <= 4096,
            "maze sides are limited to 4096, got {}x{}",
            self.rows,
            self.cols
        );
        let (lo, hi) = self.wall_fraction;
        ensure!(
            0.0 <= lo && lo <= hi && hi < 1.0,
            "wall fraction range {lo}..{hi} must satisfy 0 <= low <= high < 1"
        );
        ensure!(
            self.min_path >= 2,
            "--min-path counts start and goal, so it must be at least 2, got {}",
            self.min_path
        );
        let max_free = cells - self.wall_counts().0;
        ensure!(
            self.min_path <= max_free,
            "a path of {} cells cannot fit in a {}x{} maze with at least {:.0}% walls ({max_free} free cells); lower --min-path",
            self.min_path,
            self.rows,
            self.cols,
            lo * 100.0
        );
        ensure!(self.draws_per_layout >= 1, "draws per layout must be at least 1");
        Ok(())
    }

    /// Smallest and largest wall count.
    fn wall_counts(&self) -> (usize, usize) {
        let cells = (self.rows * self.cols) as f64;
        let lo = (self.wall_fraction.0 * cells).ceil() as usize;
        let hi = ((self.wall_fraction.1 * cells).floor() as usize).max(lo);
        (lo, hi.min(self.rows * self.cols - 2))
    }
}

/// Default path-length filter for a `rows x cols` maze: 111 cells for 30x30 (Maze-Hard's
/// "longer than 110"). Other sizes keep the same hardness quantile: about 0.1% of wall
/// layouts pass, as for Maze-Hard. Measured with `trm data bench-maze`, the threshold with
/// that acceptance grows linearly with the side (30 cells at 9x9, 41 at 12x12, 72 at 20x20),
/// so it is `111 + (side - 30) * 27 / 7`, `side` being the geometric mean of the sides;
/// never below the Searchformer floor `max(rows, cols)` nor above the free cells of the
/// sparsest layout.
pub fn default_min_path(rows: usize, cols: usize) -> usize {
    let cells = rows * cols;
    let side = (cells as f64).sqrt();
    let scaled = (111.0 + (side - 30.0) * 27.0 / 7.0).round().max(0.0) as usize;
    let max_free = cells - (0.3 * cells as f64).ceil() as usize;
    scaled.max(rows.max(cols)).min(max_free).max(2)
}

/// Counts of one generation run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GenerationStats {
    /// Wall layouts drawn (including those beyond the last accepted one in its batch).
    pub layouts: u64,
    /// Layouts that produced a maze passing the filter.
    pub accepted: u64,
    /// Accepted layouts dropped because an earlier maze (or the excluded set) had the same walls.
    pub duplicates: u64,
    /// BFS searches run for start/goal pairs that the distance bound could not reject.
    pub searches: u64,
}

impl std::ops::AddAssign for GenerationStats {
    fn add_assign(&mut self, o: GenerationStats) {
        self.layouts += o.layouts;
        self.accepted += o.accepted;
        self.duplicates += o.duplicates;
        self.searches += o.searches;
    }
}

/// Generated train and test mazes with disjoint wall layouts.
pub struct GeneratedSplits {
    /// Training question/answer pairs.
    pub train: Vec<MazePair>,
    /// Test question/answer pairs; no wall layout is shared with `train`.
    pub test: Vec<MazePair>,
    /// Counts of the run, both splits added together.
    pub stats: GenerationStats,
}

/// Split tags of the random streams.
const TRAIN_STREAM: u64 = 0;
const TEST_STREAM: u64 = 1;

/// Generates `num_train` and `num_test` mazes, no wall layout used twice. `exclude` holds
/// layouts (see [`wall_key`]) that must not be used, e.g. those of mazes read from a file.
pub fn generate_splits(
    config: &GeneratorConfig,
    num_train: usize,
    num_test: usize,
    seed: u64,
    threads: usize,
    exclude: &mut HashSet<Vec<u64>>,
) -> Result<GeneratedSplits> {
    let mut stats = GenerationStats::default();
    let (train, s) = generate(config, num_train, seed, TRAIN_STREAM, threads, exclude)?;
    stats += s;
    let (test, s) = generate(config, num_test, seed, TEST_STREAM, threads, exclude)?;
    stats += s;
    Ok(GeneratedSplits { train, test, stats })
}

/// Generates `count` mazes from random stream `stream` of `seed`, skipping layouts in
/// `used` and adding the accepted ones to it. Uses `threads` worker threads (results do not
/// depend on it).
pub fn generate(
    config: &GeneratorConfig,
    count: usize,
    seed: u64,
    stream: u64,
    threads: usize,
    used: &mut HashSet<Vec<u64>>,
) -> Result<(Vec<MazePair>, GenerationStats)> {
    config.check()?;
    let threads = threads.max(1);
    let mut stats = GenerationStats::default();
    let mut mazes = Vec::with_capacity(count);
    let per_thread: u64 = 4096;
    let mut next: u64 = 0;
    while mazes.len() < count {
        if next >= config.max_layouts {
            bail!(
                "only {} of {count} mazes of {}x{} with a path of at least {} cells after {} wall layouts; lower --min-path",
                mazes.len(),
                config.rows,
                config.cols,
                config.min_path,
                next
            );
        }
        let batch = (per_thread * threads as u64).min(config.max_layouts - next);
        let chunk = batch.div_ceil(threads as u64);
        let results: Vec<(Vec<(u64, Found)>, u64)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads as u64)
                .map(|t| {
                    let start = next + t * chunk;
                    let end = (start + chunk).min(next + batch);
                    scope.spawn(move || {
                        let mut search = LayoutSearch::new(config);
                        let found: Vec<(u64, Found)> = (start..end)
                            .filter_map(|i| {
                                search.run(&mut layout_rng(seed, stream, i)).map(|f| (i, f))
                            })
                            .collect();
                        (found, search.searches)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("maze generator thread panicked")).collect()
        });
        let mut last = next + batch;
        'merge: for (found, searches) in results {
            stats.searches += searches;
            for (i, f) in found {
                stats.accepted += 1;
                if !used.insert(f.key.clone()) {
                    stats.duplicates += 1;
                    continue;
                }
                mazes.push(f.into_pair(config));
                if mazes.len() == count {
                    last = i + 1;
                    break 'merge;
                }
            }
        }
        stats.layouts += last - next;
        next += batch;
    }
    Ok((mazes, stats))
}

/// The random stream of layout `index` in split `stream`.
fn layout_rng(seed: u64, stream: u64, index: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&stream.to_le_bytes());
    key[16..24].copy_from_slice(&index.to_le_bytes());
    key[24..].copy_from_slice(b"trm-maze");
    ChaCha8Rng::from_seed(key)
}

/// The wall layout as a bit set: the identity used to keep train and test layouts apart.
pub fn wall_key(walls: impl IntoIterator<Item = bool>) -> Vec<u64> {
    let mut key = Vec::new();
    for (i, wall) in walls.into_iter().enumerate() {
        if i % 64 == 0 {
            key.push(0);
        }
        if wall {
            *key.last_mut().unwrap() |= 1 << (i % 64);
        }
    }
    key
}

/// The wall layout of a maze, for [`generate`]'s `used` set.
pub fn maze_wall_key(maze: &Maze) -> Vec<u64> {
    wall_key(maze.cells().iter().map(|&c| c == Cell::Wall))
}

/// An accepted layout: walls, start, goal and the shortest path.
struct Found {
    key: Vec<u64>,
    passable: Vec<bool>,
    path: Vec<usize>,
}

impl Found {
    fn into_pair(self, config: &GeneratorConfig) -> MazePair {
        let mut cells: Vec<Cell> =
            self.passable.iter().map(|&p| if p { Cell::Open } else { Cell::Wall }).collect();
        cells[self.path[0]] = Cell::Start;
        cells[*self.path.last().unwrap()] = Cell::Goal;
        let question =
            Maze::new(config.rows, config.cols, cells.clone()).expect("generator shape is valid");
        for &i in &self.path[1..self.path.len() - 1] {
            cells[i] = Cell::Path;
        }
        let answer = Maze::new(config.rows, config.cols, cells).expect("generator shape is valid");
        MazePair { question, answer }
    }
}

/// Per-thread buffers for trying layouts.
struct LayoutSearch<'a> {
    config: &'a GeneratorConfig,
    order: Vec<u32>,
    passable: Vec<bool>,
    component: Vec<u32>,
    root_dist: Vec<u32>,
    component_size: Vec<u32>,
    queue: Vec<u32>,
    solver: MazeSolver,
    searches: u64,
}

impl<'a> LayoutSearch<'a> {
    fn new(config: &'a GeneratorConfig) -> LayoutSearch<'a> {
        let n = config.rows * config.cols;
        LayoutSearch {
            config,
            order: Vec::with_capacity(n),
            passable: vec![true; n],
            component: vec![0; n],
            root_dist: vec![0; n],
            component_size: Vec::new(),
            queue: Vec::with_capacity(n),
            solver: MazeSolver::new(),
            searches: 0,
        }
    }

    /// One wall layout and up to `draws_per_layout` start/goal draws.
    fn run(&mut self, rng: &mut ChaCha8Rng) -> Option<Found> {
        let (rows, cols) = (self.config.rows, self.config.cols);
        let n = rows * cols;
        let (lo, hi) = self.config.wall_counts();
        let walls = rng.random_range(lo..=hi);
        // Partial Fisher-Yates: the first `walls` entries of `order` become walls.
        self.order.clear();
        self.order.extend(0..n as u32);
        for i in 0..walls {
            let j = rng.random_range(i..n);
            self.order.swap(i, j);
        }
        self.passable.fill(true);
        for &w in &self.order[..walls] {
            self.passable[w as usize] = false;
        }
        if !self.label_components(rows, cols) {
            return None;
        }
        let free = &self.order[walls..];
        let min_path = self.config.min_path as u32;
        for _ in 0..self.config.draws_per_layout {
            let s_pick = rng.random_range(0..free.len());
            let mut g_pick = rng.random_range(0..free.len() - 1);
            if g_pick >= s_pick {
                g_pick += 1;
            }
            let (s, g) = (free[s_pick] as usize, free[g_pick] as usize);
            let comp = self.component[s];
            if comp != self.component[g] || self.component_size[comp as usize] < min_path {
                continue;
            }
            // Upper bound on path cells through the component's root.
            if self.root_dist[s] + self.root_dist[g] + 1 < min_path {
                continue;
            }
            self.searches += 1;
            let path = self
                .solver
                .shortest_path(&self.passable, rows, cols, s, g)
                .expect("same component");
            if path.len() >= min_path as usize {
                let key = wall_key(self.passable.iter().map(|&p| !p));
                return Some(Found { key, passable: self.passable.clone(), path });
            }
        }
        None
    }

    /// Flood-fills the free cells: component labels, component sizes and BFS distances from
    /// each component's root (the centre cell, else the component's first cell). Returns false when no component can hold a long enough path.
    fn label_components(&mut self, rows: usize, cols: usize) -> bool {
        let n = rows * cols;
        self.component.fill(UNREACHED);
        self.component_size.clear();
        let mut largest = 0;
        // The distance bound is tightest from a central root, so the fill starts at the
        // centre (if free); the giant component, when there is one, usually contains it.
        let centre = (rows / 2) * cols + cols / 2;
        for root in std::iter::once(centre).chain(0..n) {
            if !self.passable[root] || self.component[root] != UNREACHED {
                continue;
            }
            let label = self.component_size.len() as u32;
            self.queue.clear();
            self.queue.push(root as u32);
            self.component[root] = label;
            self.root_dist[root] = 0;
            let mut head = 0;
            while head < self.queue.len() {
                let cell = self.queue[head] as usize;
                head += 1;
                let next = self.root_dist[cell] + 1;
                let (r, c) = (cell / cols, cell % cols);
                let neighbours = [
                    (r > 0).then(|| cell - cols),
                    (r + 1 < rows).then(|| cell + cols),
                    (c > 0).then(|| cell - 1),
                    (c + 1 < cols).then(|| cell + 1),
                ];
                for i in neighbours.into_iter().flatten() {
                    if self.passable[i] && self.component[i] == UNREACHED {
                        self.component[i] = label;
                        self.root_dist[i] = next;
                        self.queue.push(i as u32);
                    }
                }
            }
            self.component_size.push(self.queue.len() as u32);
            largest = largest.max(self.queue.len());
        }
        largest >= self.config.min_path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_filter_matches_maze_hard_and_scales() {
        assert_eq!(default_min_path(30, 30), 111);
        assert_eq!(default_min_path(9, 9), 30);
        assert_eq!(default_min_path(12, 12), 42);
        assert_eq!(default_min_path(2, 2), 2);
        // A 1x40 corridor: the Searchformer floor (40) exceeds the free cells (28).
        assert_eq!(default_min_path(1, 40), 28);
    }

    #[test]
    fn wall_key_packs_bits() {
        let key = wall_key((0..70).map(|i| i == 1 || i == 65));
        assert_eq!(key, vec![2, 2]);
    }
}
