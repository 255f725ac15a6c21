//! Maze datasets in the official layout (`dataset/build_maze_dataset.py`): every maze is a
//! group; with augmentation a training group holds the 8 dihedral copies, each its own
//! one-example puzzle. Every puzzle uses identifier 0 (`num_puzzle_identifiers = 1`),
//! `identifiers.json` is `["<blank>"]`, vocab 6, pad and ignore label 0 (so every cell,
//! walls included, is supervised), `seq_len = rows * cols`. As in the official builder,
//! `total_puzzles` is the number of groups and `mean_puzzle_examples` is 1.
//!
//! Labels of the dihedral copies: most mazes have several shortest paths (295 of 300 9x9
//! Maze-Hard mazes), and the solver picks one by a fixed rule ([`MazeSolver::shortest_path`]:
//! up, down, left, right). A transformed label follows that rule in another orientation, so
//! 8 copies would teach 8 different choices among the same paths, and a model scored by
//! exact match against the solver's pick could not learn which one to draw. When every
//! training label is the solver's own answer (generated mazes, or CSV files written by
//! `trm data maze --save-csv`), each copy is therefore solved again; other labels (the
//! official CSV files) are transformed with their mazes, as the official builder does.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{ensure, Context, Result};

use super::csv::{read_csv, write_csv};
use super::generate::{generate_splits, maze_wall_key, GenerationStats, GeneratorConfig};
#[cfg(doc)]
use super::MazeSolver;
use super::{parse_size, path_summary, MazePair, VOCAB_SIZE};
use crate::dataset::{Dataset, Split, SplitBuilder, TokenSpec, BLANK_IDENTIFIER};
use crate::dihedral::Dihedral;

/// The token layout of maze datasets.
pub const TOKEN_SPEC: TokenSpec = TokenSpec {
    pad_id: 0,
    ignore_label_id: Some(0),
    blank_identifier_id: 0,
    vocab_size: VOCAB_SIZE as u32,
    num_puzzle_identifiers: 1,
};

/// Builds a maze dataset in memory. `augment` adds the 8 dihedral transforms to the train
/// split (the test split is never augmented; the copies' labels are described in the
/// module documentation); it needs square mazes, since a transposed non-square maze would
/// change shape. Either split may be absent, not both.
pub fn build_maze_dataset(
    train: Option<&[MazePair]>,
    test: Option<&[MazePair]>,
    augment: bool,
) -> Result<Dataset> {
    ensure!(train.is_some() || test.is_some(), "a maze dataset needs a train or a test split");
    let shape = train
        .into_iter()
        .chain(test)
        .flatten()
        .map(|p| (p.question.rows(), p.question.cols()))
        .next();
    let Some((rows, cols)) = shape else {
        anyhow::bail!("no mazes to write");
    };
    for (name, pairs) in [("train", train), ("test", test)] {
        for (i, pair) in pairs.into_iter().flatten().enumerate() {
            for maze in [&pair.question, &pair.answer] {
                ensure!(
                    (maze.rows(), maze.cols()) == (rows, cols),
                    "{name} maze {} is {}x{} but the first maze is {rows}x{cols}; one dataset holds one size",
                    i + 1,
                    maze.rows(),
                    maze.cols()
                );
            }
        }
    }
    ensure!(
        !augment || rows == cols || train.is_none(),
        "dihedral augmentation needs square mazes (rotating a {rows}x{cols} maze changes its shape)"
    );
    let build = |pairs: &[MazePair], augment: bool| -> Result<Split> {
        let transforms: &[Dihedral] = if augment { &Dihedral::ALL } else { &[Dihedral::IDENTITY] };
        let solve_copies = augment && labels_are_the_solvers(pairs);
        let mut builder = SplitBuilder::new(rows * cols);
        for pair in pairs {
            let copies: Vec<(Vec<u8>, Vec<u8>)> = transforms
                .iter()
                .map(|&t| {
                    let p = if solve_copies {
                        MazePair::solve(pair.question.transformed(t))
                            .expect("a transformed solvable maze stays solvable")
                    } else {
                        pair.transformed(t)
                    };
                    (p.question.tokens(), p.answer.tokens())
                })
                .collect();
            builder.push_group(0, copies.iter().map(|(q, a)| (q.as_slice(), a.as_slice())))?;
        }
        let mut split = builder.finish(TOKEN_SPEC)?;
        split.meta.total_puzzles = split.num_groups();
        split.meta.mean_puzzle_examples = 1.0;
        Ok(split)
    };
    Ok(Dataset {
        train: train.map(|p| build(p, augment)).transpose()?,
        test: test.map(|p| build(p, false)).transpose()?,
        identifiers: vec![BLANK_IDENTIFIER.to_string()],
    })
}

/// Whether every label is the solver's answer to its question (then the dihedral copies
/// are solved again rather than transformed).
fn labels_are_the_solvers(pairs: &[MazePair]) -> bool {
    pairs.iter().all(|p| p.question.solve().is_ok_and(|answer| answer == p.answer))
}

/// Builds a maze dataset and writes it to `dir` atomically.
pub fn write_maze_dataset(
    dir: &Path,
    train: Option<&[MazePair]>,
    test: Option<&[MazePair]>,
    augment: bool,
) -> Result<Dataset> {
    let dataset = build_maze_dataset(train, test, augment)?;
    dataset.write(dir)?;
    Ok(dataset)
}

/// The maze pair of one dataset example (for inspection and rendering).
pub fn decode_example(input: &[u8], label: &[u8], rows: usize, cols: usize) -> Result<MazePair> {
    Ok(MazePair {
        question: super::Maze::from_tokens(input, rows, cols)?,
        answer: super::Maze::from_tokens(label, rows, cols)?,
    })
}

/// Where the splits of a maze dataset come from (`trm data maze`): official CSV files and/or
/// the Maze-Hard generator. A split with neither is not built. The error messages name the
/// command's flags.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MazeSources {
    /// Training mazes: an official CSV file.
    pub train_csv: Option<PathBuf>,
    /// Test mazes: an official CSV file.
    pub test_csv: Option<PathBuf>,
    /// Generate this many training mazes (in place of `train_csv`).
    pub generate_train: Option<usize>,
    /// Generate this many test mazes (in place of `test_csv`).
    pub generate_test: Option<usize>,
    /// Size of generated mazes, `N` or `RxC` ([`dataset_size`]).
    pub size: Option<String>,
    /// Path filter of generated mazes ([`GeneratorConfig::with_min_path`]).
    pub min_path: Option<usize>,
    /// Seed of the generator.
    pub seed: u64,
    /// Generator threads (the mazes do not depend on it).
    pub threads: usize,
}

/// The mazes of a dataset's splits, read and generated.
#[derive(Clone, Debug, PartialEq)]
pub struct MazeSplits {
    /// Training mazes; `None`: no train split.
    pub train: Option<Vec<MazePair>>,
    /// Test mazes; `None`: no test split.
    pub test: Option<Vec<MazePair>>,
    /// Rows and columns of every maze.
    pub size: (usize, usize),
    /// The generator's settings and counts, when a split was generated.
    pub generated: Option<(GeneratorConfig, GenerationStats)>,
}

/// The size of a maze dataset: `size` (`N` or `RxC`), which must agree with the mazes read
/// from files (`read`, rows and columns), else theirs, else 30x30 (Maze-Hard).
pub fn dataset_size(size: Option<&str>, read: Option<(usize, usize)>) -> Result<(usize, usize)> {
    let parse = |text: &str| parse_size(text).with_context(|| format!("--size {text:?}"));
    Ok(match (size, read) {
        (Some(text), Some(csv)) => {
            let size = parse(text)?;
            ensure!(
                size == csv,
                "--size {text} differs from the CSV mazes ({}x{}); one dataset holds one size",
                csv.0,
                csv.1
            );
            size
        }
        (Some(text), None) => parse(text)?,
        (None, Some(csv)) => csv,
        (None, None) => (30, 30),
    })
}

impl MazeSources {
    /// Reads the CSV files, then generates the splits asked for, of [`dataset_size`], none
    /// with the wall layout of a maze read or generated before it.
    pub fn collect(&self) -> Result<MazeSplits> {
        let read = |path: &Option<PathBuf>| path.as_ref().map(|p| read_csv(p)).transpose();
        let (mut train, mut test) = (read(&self.train_csv)?, read(&self.test_csv)?);
        let generating = self.generate_train.is_some() || self.generate_test.is_some();
        ensure!(
            train.is_some() || test.is_some() || generating,
            "nothing to build: give --train-csv/--generate-train and/or --test-csv/--generate-test"
        );
        let read_size = train
            .iter()
            .chain(&test)
            .flatten()
            .map(|p| (p.question.rows(), p.question.cols()))
            .next();
        let size = dataset_size(self.size.as_deref(), read_size)?;
        let mut generated = None;
        if generating {
            let config = GeneratorConfig::new(size.0, size.1).with_min_path(self.min_path);
            let mut used: HashSet<Vec<u64>> =
                train.iter().chain(&test).flatten().map(|p| maze_wall_key(&p.question)).collect();
            let (n_train, n_test) =
                (self.generate_train.unwrap_or(0), self.generate_test.unwrap_or(0));
            let splits =
                generate_splits(&config, n_train, n_test, self.seed, self.threads, &mut used)?;
            if self.generate_train.is_some() {
                train = Some(splits.train);
            }
            if self.generate_test.is_some() {
                test = Some(splits.test);
            }
            generated = Some((config, splits.stats));
        }
        Ok(MazeSplits { train, test, size, generated })
    }
}

impl MazeSplits {
    /// Writes the splits as official CSV files `dir/train.csv` and `dir/test.csv`, with
    /// `source` in their source column.
    pub fn save_csv(&self, dir: &Path, source: &str) -> Result<()> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create folder", dir.display()))?;
        for (name, pairs) in [("train", &self.train), ("test", &self.test)] {
            if let Some(pairs) = pairs {
                write_csv(&dir.join(format!("{name}.csv")), pairs, source)?;
            }
        }
        Ok(())
    }

    /// The line `trm data maze` prints after generating with `seed`: size, path filter and
    /// the generator's counts; `None` when nothing was generated.
    pub fn generation_line(&self, seed: u64) -> Option<String> {
        let (config, stats) = self.generated.as_ref()?;
        Some(format!(
            "generated {}x{} mazes (min path {} cells, seed {seed}): {} wall layouts tried, {} BFS searches, {} duplicate layouts skipped",
            self.size.0, self.size.1, config.min_path, stats.layouts, stats.searches, stats.duplicates
        ))
    }

    /// What `trm data maze` prints after writing `dataset` (built from these splits) to
    /// `out`: the `wrote` line and a Markdown table of the splits with their path lengths.
    pub fn dataset_summary(&self, out: &Path, dataset: &Dataset) -> String {
        let (rows, cols) = self.size;
        let mut text = format!(
            "wrote {} ({rows}x{cols}, vocab {VOCAB_SIZE}, seq_len {})\n",
            out.display(),
            rows * cols
        );
        text += "| split | mazes | puzzles | examples | path cells min / mean / max |\n|---|---:|---:|---:|---|\n";
        let pairs = [&self.train, &self.test].into_iter().flatten();
        for ((name, split), pairs) in dataset.splits().zip(pairs) {
            text += &format!(
                "| {name} | {} | {} | {} | {} |\n",
                split.num_groups(),
                split.num_puzzles(),
                split.num_examples(),
                path_summary(pairs)
            );
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dataset_size_agrees_with_the_files() {
        assert_eq!(dataset_size(None, None).unwrap(), (30, 30));
        assert_eq!(dataset_size(Some("9"), None).unwrap(), (9, 9));
        assert_eq!(dataset_size(None, Some((6, 8))).unwrap(), (6, 8));
        assert_eq!(dataset_size(Some("6x8"), Some((6, 8))).unwrap(), (6, 8));
        let e = dataset_size(Some("9"), Some((6, 6))).unwrap_err().to_string();
        assert_eq!(e, "--size 9 differs from the CSV mazes (6x6); one dataset holds one size");
        let e = format!("{:#}", dataset_size(Some("3x"), None).unwrap_err());
        assert!(e.starts_with("--size \"3x\": "), "{e}");
    }

    #[test]
    fn generated_splits_avoid_the_mazes_read() {
        let dir = tempfile::tempdir().unwrap();
        let sources = |train_csv, generate_train, generate_test| MazeSources {
            train_csv,
            generate_train,
            generate_test,
            size: Some("6".into()),
            min_path: Some(6),
            seed: 3,
            threads: 1,
            ..Default::default()
        };
        let e = sources(None, None, None).collect().unwrap_err().to_string();
        assert!(e.starts_with("nothing to build"), "{e}");

        let first = sources(None, Some(20), Some(5)).collect().unwrap();
        assert_eq!((first.size, first.train.as_ref().unwrap().len()), ((6, 6), 20));
        let (config, stats) = first.generated.as_ref().unwrap();
        assert_eq!((config.rows, config.min_path, stats.accepted >= 25), (6, 6, true));
        let line = first.generation_line(3).unwrap();
        let counts =
            format!("{} wall layouts tried, {} BFS searches", stats.layouts, stats.searches);
        assert!(line.starts_with("generated 6x6 mazes (min path 6 cells, seed 3): "), "{line}");
        assert!(line.contains(&counts), "{line}");
        first.save_csv(dir.path(), "test").unwrap();

        // The test mazes generated beside the training file avoid its wall layouts, and the
        // size comes from the file.
        let csv = dir.path().join("train.csv");
        let again = MazeSources { size: None, ..sources(Some(csv), None, Some(30)) };
        let second = again.collect().unwrap();
        assert_eq!(second.train, first.train);
        assert_eq!(second.size, (6, 6));
        let read: HashSet<Vec<u64>> =
            first.train.unwrap().iter().map(|p| maze_wall_key(&p.question)).collect();
        assert!(second.test.unwrap().iter().all(|p| !read.contains(&maze_wall_key(&p.question))));
    }

    #[test]
    fn the_dataset_summary_has_a_row_per_split() {
        let pair = MazePair::solve(super::super::Maze::parse_lines("S  #\n## #\nG   \n").unwrap())
            .unwrap();
        let splits = MazeSplits {
            train: Some(vec![pair.clone(), pair.clone()]),
            test: None,
            size: (3, 4),
            generated: None,
        };
        let dataset = build_maze_dataset(splits.train.as_deref(), None, false).unwrap();
        assert_eq!(splits.generation_line(0), None);
        assert_eq!(
            splits.dataset_summary(Path::new("mazes"), &dataset),
            "wrote mazes (3x4, vocab 6, seq_len 12)\n\
             | split | mazes | puzzles | examples | path cells min / mean / max |\n\
             |---|---:|---:|---:|---|\n\
             | train | 2 | 2 | 2 | 7 / 7.0 / 7 |\n"
        );
    }
}
