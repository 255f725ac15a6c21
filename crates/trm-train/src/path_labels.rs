//! Which of a maze's shortest paths the loss asks for (`[train] path_labels`).
//!
//! Most Maze-Hard mazes have many shortest paths (a median of 16 among generated 9x9 ones),
//! and a dataset's label is one of them, picked by the generating solver's tie rule. The
//! model cannot see that rule locally, so it learns to split between tied branches and
//! draws broken paths. With `path_labels = "nearest"` each training row's label is replaced,
//! at every supervision step, by the shortest path the model's own logits favour: the path
//! whose cells cost least, where a cell's cost is its cross-entropy as a path cell `o` minus
//! its cross-entropy as an open cell. Every such label is still a correct answer.

use anyhow::{bail, ensure, Result};
use candle_core::Tensor;
use serde::{Deserialize, Serialize};
use trm_data::maze::{Cell, MazeSolver, VOCAB_SIZE};
use trm_model::{Batch, LossType, IGNORE_LABEL_ID};

/// How a maze row's label is chosen among its shortest paths.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PathLabels {
    /// The dataset's labels as they are (the official behaviour).
    #[default]
    Dataset,
    /// The shortest path the model's logits favour (mazes only).
    Nearest,
}

/// The columns of the maze grids a model of `seq_len` cells reads: `grid_width` when set,
/// else the side of a square `seq_len`.
pub fn maze_columns(seq_len: usize, grid_width: usize) -> Result<usize> {
    if grid_width != 0 {
        ensure!(
            seq_len % grid_width == 0,
            "path_labels = \"nearest\": grid_width {grid_width} does not divide seq_len {seq_len}"
        );
        return Ok(grid_width);
    }
    let side = (seq_len as f64).sqrt().round() as usize;
    ensure!(
        side * side == seq_len,
        "path_labels = \"nearest\" with seq_len {seq_len}, which is not a square: set grid_width to the mazes' number of columns"
    );
    Ok(side)
}

/// Checks that a dataset of `vocab_size` tokens can be maze data.
pub fn check_maze_vocab(vocab_size: usize) -> Result<()> {
    ensure!(
        vocab_size == VOCAB_SIZE,
        "path_labels = \"nearest\" needs maze data (vocabulary of {VOCAB_SIZE} tokens: pad and \"# SGo\"), but the dataset has {vocab_size}; set path_labels = \"dataset\""
    );
    Ok(())
}

/// The cost of marking a cell as path rather than open, from its logits: CE(o) - CE(open).
fn path_cost(loss_type: LossType, logits: &[f32]) -> f64 {
    let (open, path) = (logits[Cell::Open.token() as usize], logits[Cell::Path.token() as usize]);
    match loss_type {
        LossType::SoftmaxCrossEntropy => (open - path) as f64,
        LossType::StablemaxCrossEntropy => {
            // stablemax: p_k proportional to s(x_k), s(x) = x + 1 for x >= 0, 1 / (1 - x) below.
            let s = |x: f64| if x >= 0.0 { x + 1.0 } else { 1.0 / (1.0 - x) };
            s(open as f64).ln() - s(path as f64).ln()
        }
    }
}

/// Replaces the label of every row of `batch` that holds labels by the shortest path of
/// least cost under `logits` (`[B, seq_len, vocab]`), grids of `cols` columns, each cell of
/// the row's own label path made cheaper by `pull` nats (0: the logits alone choose). A row
/// whose input is not a maze question with a solution label is an error. Returns the rows
/// relabelled.
pub fn relabel_nearest_paths(
    logits: &Tensor,
    loss_type: LossType,
    batch: &mut Batch,
    cols: usize,
    pull: f64,
) -> Result<usize> {
    let (b, seq, vocab) = logits.dims3()?;
    ensure!(
        b == batch.batch_size() && seq == batch.seq_len && vocab == VOCAB_SIZE,
        "path_labels = \"nearest\": logits are [{b}, {seq}, {vocab}] for a batch of {} rows of {} cells (maze vocabulary {VOCAB_SIZE})",
        batch.batch_size(),
        batch.seq_len
    );
    let host: Vec<f32> = logits.detach().flatten_all()?.to_vec1()?;
    let rows = seq / cols;
    let mut solver = MazeSolver::new();
    let mut relabelled = 0;
    for r in 0..b {
        let span = r * seq..(r + 1) * seq;
        if batch.labels[span.clone()].iter().all(|&l| l == IGNORE_LABEL_ID) {
            continue; // an empty slot of the carry
        }
        let cells = decode_row(&batch.inputs[span.clone()], &batch.labels[span.clone()], r)?;
        let (mut start, mut goal) = (None, None);
        for (i, c) in cells.iter().enumerate() {
            match c {
                Cell::Start if start.is_none() => start = Some(i),
                Cell::Goal if goal.is_none() => goal = Some(i),
                Cell::Start | Cell::Goal => bail!("path_labels = \"nearest\": row {r} has more than one 'S' or 'G'; it is not a maze question"),
                _ => {}
            }
        }
        let (Some(start), Some(goal)) = (start, goal) else {
            bail!("path_labels = \"nearest\": row {r} lacks an 'S' or a 'G'; it is not a maze question (set path_labels = \"dataset\")");
        };
        let passable: Vec<bool> = cells.iter().map(|c| c.is_passable()).collect();
        let labels = &batch.labels[span.clone()];
        let cost: Vec<f64> = (0..seq)
            .map(|i| {
                let logits = &host[(r * seq + i) * vocab..(r * seq + i + 1) * vocab];
                let on_label = labels[i] == Cell::Path.token() as i32;
                path_cost(loss_type, logits) - if on_label { pull } else { 0.0 }
            })
            .collect();
        let Some(path) = solver.cheapest_shortest_path(&passable, rows, cols, start, goal, &cost)
        else {
            bail!("path_labels = \"nearest\": row {r} has no path from 'S' to 'G'");
        };
        let labels = &mut batch.labels[span];
        for (l, c) in labels.iter_mut().zip(&cells) {
            *l = c.token() as i32;
        }
        for &i in &path[1..path.len() - 1] {
            labels[i] = Cell::Path.token() as i32;
        }
        relabelled += 1;
    }
    Ok(relabelled)
}

/// The question's cells of row `r`, checking that its label is the question with path cells
/// drawn over open ones (what every maze dataset holds).
fn decode_row(inputs: &[i32], labels: &[i32], r: usize) -> Result<Vec<Cell>> {
    let cell = |t: i32| u8::try_from(t).ok().and_then(Cell::from_token);
    let mut cells = Vec::with_capacity(inputs.len());
    for (i, (&x, &y)) in inputs.iter().zip(labels).enumerate() {
        let (Some(q), Some(a)) = (cell(x), cell(y)) else {
            bail!("path_labels = \"nearest\": row {r}, cell {i} holds input {x}, label {y}, which are not maze tokens; set path_labels = \"dataset\" for data other than mazes");
        };
        ensure!(
            q != Cell::Path && (q == a || (q == Cell::Open && a == Cell::Path)),
            "path_labels = \"nearest\": row {r}, cell {i}: input {:?} with label {:?} is not a maze question and its solution; set path_labels = \"dataset\" for data other than mazes",
            q.to_char(),
            a.to_char()
        );
        cells.push(q);
    }
    Ok(cells)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;
    use trm_data::maze::Maze;

    /// One row: `question` with `label`.
    fn batch_of(label: &Maze, question: &Maze) -> Batch {
        let tok = |m: &Maze| m.tokens().into_iter().map(|t| t as i32).collect::<Vec<_>>();
        Batch::new(tok(question), tok(label), vec![0], 9).unwrap()
    }

    /// Logits that prefer open everywhere, and path on `cells` more strongly.
    fn logits_favouring(cells: &[usize]) -> Tensor {
        let mut v = vec![0f32; 9 * VOCAB_SIZE];
        for i in 0..9 {
            v[i * VOCAB_SIZE + Cell::Open.token() as usize] = 1.0;
        }
        for &i in cells {
            v[i * VOCAB_SIZE + Cell::Path.token() as usize] = 3.0;
        }
        Tensor::from_vec(v, (1, 9, VOCAB_SIZE), &Device::Cpu).unwrap()
    }

    #[test]
    fn relabel_picks_the_shortest_path_the_logits_favour() {
        // S . .
        // . # .
        // . . G   two shortest paths: right-then-down (1, 2, 5) or down-then-right (3, 6, 7).
        let question = Maze::parse_lines("S  \n # \n  G").unwrap();
        let solved = question.solve().unwrap();
        for loss_type in [LossType::StablemaxCrossEntropy, LossType::SoftmaxCrossEntropy] {
            for (favoured, other) in [([1, 2, 5], [3, 6, 7]), ([3, 6, 7], [1, 2, 5])] {
                let mut batch = batch_of(&solved, &question);
                let n = relabel_nearest_paths(
                    &logits_favouring(&favoured),
                    loss_type,
                    &mut batch,
                    3,
                    0.0,
                )
                .unwrap();
                assert_eq!(n, 1);
                for i in favoured {
                    assert_eq!(
                        batch.labels[i],
                        Cell::Path.token() as i32,
                        "{loss_type:?} cell {i}"
                    );
                }
                for i in other {
                    assert_eq!(
                        batch.labels[i],
                        Cell::Open.token() as i32,
                        "{loss_type:?} cell {i}"
                    );
                }
                let answer = Maze::from_tokens(
                    &batch.labels.iter().map(|&t| t as u8).collect::<Vec<_>>(),
                    3,
                    3,
                )
                .unwrap();
                assert_eq!(question.check_answer(&answer).unwrap(), 5);
            }
        }
    }

    #[test]
    fn relabel_refuses_data_that_is_not_mazes_and_skips_empty_rows() {
        let question = Maze::parse_lines("S  \n # \n  G").unwrap();
        let solved = question.solve().unwrap();
        let logits = logits_favouring(&[1, 2, 5]);
        // A label that moves a wall is no maze solution.
        let mut batch = batch_of(&solved, &question);
        batch.labels[4] = Cell::Open.token() as i32;
        let err = relabel_nearest_paths(&logits, LossType::SoftmaxCrossEntropy, &mut batch, 3, 0.0)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("row 0, cell 4") && err.contains("path_labels = \"dataset\""),
            "{err}"
        );
        // An empty carry slot is left alone.
        let mut empty = Batch::empty(1, 9);
        let before = empty.clone();
        assert_eq!(
            relabel_nearest_paths(&logits, LossType::SoftmaxCrossEntropy, &mut empty, 3, 0.0)
                .unwrap(),
            0
        );
        assert_eq!(empty, before);
    }

    #[test]
    fn columns_come_from_grid_width_or_a_square() {
        assert_eq!(maze_columns(81, 0).unwrap(), 9);
        assert_eq!(maze_columns(24, 6).unwrap(), 6);
        assert!(maze_columns(24, 0).unwrap_err().to_string().contains("grid_width"));
        assert!(maze_columns(24, 5).is_err());
        assert!(check_maze_vocab(11).is_err());
        assert!(check_maze_vocab(VOCAB_SIZE).is_ok());
    }
}
