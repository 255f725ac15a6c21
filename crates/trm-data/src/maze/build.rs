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

use std::path::Path;

use anyhow::{ensure, Result};

#[cfg(doc)]
use super::MazeSolver;
use super::{MazePair, VOCAB_SIZE};
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
