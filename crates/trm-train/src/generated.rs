//! Data a run builds itself from `[data.generate]`: a fixed dataset written into `RUN/data`,
//! or, with `online = true`, fresh training puzzles for every iteration.
//!
//! Online mode draws new training puzzles for every iteration (the `eval_interval` epochs
//! between two evaluations): `train` puzzles, each seen once per epoch of the iteration (with
//! `aug`, as one of its shuffled copies), so `eval_interval = 1` gives fresh puzzles every
//! epoch. The puzzles of iteration `i` come from a random stream of `(seed, i)` alone, so a
//! resumed run rebuilds the iteration it stopped in from the checkpoint's iteration number
//! and continues bit for bit. The held-out test split is drawn once, and no training puzzle
//! (Sudoku) or wall layout (maze) ever repeats one of the test split's. `RUN/data/train`
//! holds the puzzles of iteration 1, for inspection.

use crate::config::{GenerateSpec, RunConfig};
use anyhow::{Context, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;
use std::path::Path;
use trm_data::dataset::{Dataset, Split};
use trm_data::maze::{build, generate as maze_gen};
use trm_data::sudoku::build::{build_dataset, build_split, BuildConfig, Example};
use trm_data::sudoku::generate::{self as sudoku_gen, Filter};
use trm_data::sudoku::Grid;

/// Builds the dataset of `[data.generate]` into `dir` unless it is already there, with the
/// builder of its `task` (as `trm data sudoku` / `trm data maze` would).
pub fn ensure_generated_data(config: &RunConfig, dir: &Path) -> Result<()> {
    let Some(g) = &config.data.generate else { return Ok(()) };
    if dir.join("train").join("dataset.json").exists() {
        return Ok(());
    }
    g.validate()?;
    let build = || -> Result<Dataset> {
        if g.online {
            let test = test_split(g)?;
            let train = online_train_split(g, &test, 1)?;
            return Ok(Dataset {
                train: Some(train),
                test: Some(test),
                identifiers: vec![trm_data::dataset::BLANK_IDENTIFIER.to_string()],
            });
        }
        match g.task.as_str() {
            "sudoku" => fixed_sudoku(g),
            "maze" => fixed_maze(g),
            other => unreachable!("GenerateSpec::validate accepts no task {other:?}"),
        }
    };
    let dataset = build().with_context(|| {
        format!("generating the {} training data into {}", g.task, dir.display())
    })?;
    dataset.write(dir)
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The generator settings of a Sudoku spec: its givens range, or minimal puzzles.
fn sudoku_filter(g: &GenerateSpec) -> Filter {
    Filter {
        min_givens: g.min_givens,
        max_givens: g.max_givens,
        minimal: g.minimal,
        ..Filter::new(g.size)
    }
}

fn sudoku_build(g: &GenerateSpec, train: usize, test: usize) -> BuildConfig {
    let mut build = BuildConfig::generated(g.size, train, test);
    build.aug = g.aug;
    build.seed = g.seed;
    build.filter = sudoku_filter(g);
    build
}

fn fixed_sudoku(g: &GenerateSpec) -> Result<Dataset> {
    build_dataset(&sudoku_build(g, g.train, g.test))
}

fn maze_generator(g: &GenerateSpec) -> maze_gen::GeneratorConfig {
    let mut generator = maze_gen::GeneratorConfig::new(g.size, g.size);
    generator.min_path = g.maze_min_path();
    generator
}

/// `size x size` Maze-Hard mazes, train and test wall layouts distinct; `aug` 8 adds the
/// dihedral copies to the train split. The mazes do not depend on the thread count.
fn fixed_maze(g: &GenerateSpec) -> Result<Dataset> {
    let splits = maze_gen::generate_splits(
        &maze_generator(g),
        g.train,
        g.test,
        g.seed,
        threads(),
        &mut Default::default(),
    )?;
    build::build_maze_dataset(Some(&splits.train), Some(&splits.test), g.aug > 0)
}

/// The held-out split of an online run: the same puzzles a fixed run of the spec would test on.
fn test_split(g: &GenerateSpec) -> Result<Split> {
    let dataset = match g.task.as_str() {
        "sudoku" => build_dataset(&sudoku_build(g, 0, g.test))?,
        _ => {
            let splits = maze_gen::generate_splits(
                &maze_generator(g),
                0,
                g.test,
                g.seed,
                threads(),
                &mut Default::default(),
            )?;
            build::build_maze_dataset(None, Some(&splits.test), false)?
        }
    };
    dataset.test.context("the generator built no test split")
}

/// Random stream of the training puzzles of `iteration` (streams below 16 are the fixed
/// builders').
fn iteration_stream(iteration: u64) -> u64 {
    16 + iteration
}

/// The training puzzles of iteration `iteration` of an online run: `g.train` fresh puzzles
/// (and their `aug` copies), none equal to (Sudoku) or sharing a wall layout with (maze) a
/// puzzle of `test`.
pub fn online_train_split(g: &GenerateSpec, test: &Split, iteration: u64) -> Result<Split> {
    let count = g.train;
    let stream = iteration_stream(iteration);
    match g.task.as_str() {
        "sudoku" => {
            let held_out: HashSet<Grid> = (0..test.num_examples())
                .map(|i| Grid::from_tokens(test.example(i).0))
                .collect::<Result<_>>()?;
            let mut rng = ChaCha8Rng::seed_from_u64(g.seed);
            rng.set_stream(stream);
            let made = sudoku_gen::generate(count, &sudoku_filter(g), &held_out, &mut rng)?;
            let examples: Vec<Example> = made
                .into_iter()
                .map(|m| Example { puzzle: m.puzzle, solution: m.solution })
                .collect();
            let mut aug_rng = ChaCha8Rng::seed_from_u64(g.seed);
            aug_rng.set_stream(stream + (1 << 32));
            build_split(&examples, g.size, g.aug, &mut aug_rng)
        }
        _ => {
            let mut used: HashSet<Vec<u64>> = HashSet::new();
            for i in 0..test.num_examples() {
                let (input, label) = test.example(i);
                used.insert(maze_gen::maze_wall_key(
                    &build::decode_example(input, label, g.size, g.size)?.question,
                ));
            }
            let (mazes, _) = maze_gen::generate(
                &maze_generator(g),
                count,
                g.seed,
                stream,
                threads(),
                &mut used,
            )?;
            let dataset = build::build_maze_dataset(Some(&mazes), None, g.aug > 0)?;
            dataset.train.context("the maze builder returned no train split")
        }
    }
    .with_context(|| format!("drawing the training puzzles of iteration {iteration}"))
}
