//! The batch and the ACT carry (design 3.1).

use anyhow::{bail, Context, Result};
use candle_core::{DType, Tensor};

/// Label id of positions excluded from the loss and the metrics.
pub const IGNORE_LABEL_ID: i32 = -100;

/// One batch, host-side, row-major: `inputs` and `labels` are `[B, seq_len]`,
/// `puzzle_identifiers` is `[B]`. Labels use [`IGNORE_LABEL_ID`] for ignored positions.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Input tokens, `[B, seq_len]` row-major.
    pub inputs: Vec<i32>,
    /// Target tokens, `[B, seq_len]` row-major; [`IGNORE_LABEL_ID`] where no loss is taken.
    pub labels: Vec<i32>,
    /// Puzzle identifier of each row, `[B]` (its row in the puzzle-embedding table).
    pub puzzle_identifiers: Vec<i32>,
    /// Tokens per row.
    pub seq_len: usize,
}

impl Batch {
    /// Checks that the three arrays agree in shape.
    pub fn new(
        inputs: Vec<i32>,
        labels: Vec<i32>,
        puzzle_identifiers: Vec<i32>,
        seq_len: usize,
    ) -> Result<Self> {
        let b = Self { inputs, labels, puzzle_identifiers, seq_len };
        b.check_shape()?;
        Ok(b)
    }

    /// From tensors of any integer dtype (`[B, seq]`, `[B, seq]`, `[B]`).
    pub fn from_tensors(
        inputs: &Tensor,
        labels: &Tensor,
        puzzle_identifiers: &Tensor,
    ) -> Result<Self> {
        let (_, seq) = inputs.dims2().context("batch inputs must be [B, seq_len]")?;
        let host = |t: &Tensor, what: &str| -> Result<Vec<i32>> {
            let v: Vec<i64> = t
                .to_dtype(DType::I64)?
                .flatten_all()?
                .to_vec1()
                .with_context(|| format!("batch {what}"))?;
            v.into_iter()
                .map(|x| {
                    i32::try_from(x)
                        .with_context(|| format!("batch {what}: value {x} does not fit i32"))
                })
                .collect()
        };
        Self::new(
            host(inputs, "inputs")?,
            host(labels, "labels")?,
            host(puzzle_identifiers, "puzzle_identifiers")?,
            seq,
        )
    }

    /// An all-zero batch with every label ignored (the content of a fresh carry).
    pub fn empty(batch_size: usize, seq_len: usize) -> Self {
        Self {
            inputs: vec![0; batch_size * seq_len],
            labels: vec![IGNORE_LABEL_ID; batch_size * seq_len],
            puzzle_identifiers: vec![0; batch_size],
            seq_len,
        }
    }

    /// B: the number of rows.
    pub fn batch_size(&self) -> usize {
        self.puzzle_identifiers.len()
    }

    fn check_shape(&self) -> Result<()> {
        let b = self.batch_size();
        if self.inputs.len() != b * self.seq_len || self.labels.len() != b * self.seq_len {
            bail!(
                "batch shapes disagree: {} puzzle ids, seq_len {}, {} inputs, {} labels (need B*seq_len each)",
                b,
                self.seq_len,
                self.inputs.len(),
                self.labels.len()
            );
        }
        Ok(())
    }

    /// Checks shape and value ranges against a model.
    pub fn validate(
        &self,
        seq_len: usize,
        vocab_size: usize,
        num_puzzle_identifiers: usize,
    ) -> Result<()> {
        self.check_shape()?;
        if self.seq_len != seq_len {
            bail!("batch seq_len is {} but the model has seq_len {seq_len}", self.seq_len);
        }
        let v = vocab_size as i32;
        if let Some((i, x)) = self.inputs.iter().enumerate().find(|(_, &x)| x < 0 || x >= v) {
            bail!(
                "batch input {x} at row {}, position {} is outside the vocabulary 0..{v}",
                i / seq_len,
                i % seq_len
            );
        }
        if let Some((i, x)) =
            self.labels.iter().enumerate().find(|(_, &x)| x != IGNORE_LABEL_ID && (x < 0 || x >= v))
        {
            bail!(
                "batch label {x} at row {}, position {} is neither -100 nor inside the vocabulary 0..{v}",
                i / seq_len,
                i % seq_len
            );
        }
        let n = num_puzzle_identifiers as i32;
        if n > 0 {
            if let Some((i, x)) =
                self.puzzle_identifiers.iter().enumerate().find(|(_, &x)| x < 0 || x >= n)
            {
                bail!(
                    "puzzle identifier {x} of row {i} is outside 0..{n} (num_puzzle_identifiers)"
                );
            }
        }
        Ok(())
    }

    /// Copies row `src_row` of `src` into row `dst_row` of `self`.
    pub fn copy_row_from(&mut self, dst_row: usize, src: &Batch, src_row: usize) {
        let s = self.seq_len;
        self.inputs[dst_row * s..(dst_row + 1) * s]
            .copy_from_slice(&src.inputs[src_row * s..(src_row + 1) * s]);
        self.labels[dst_row * s..(dst_row + 1) * s]
            .copy_from_slice(&src.labels[src_row * s..(src_row + 1) * s]);
        self.puzzle_identifiers[dst_row] = src.puzzle_identifiers[src_row];
    }
}

/// The persistent ACT carry of B slots. Official `..._ACTV1Carry`: the inner carry
/// (`z_H` = y, the embedded answer; `z_L` = z, the latent), the supervision steps taken,
/// the halted flags and the data each slot is working on.
#[derive(Debug, Clone)]
pub struct Carry {
    /// `[B, S, D]` in the model's compute dtype (f32 or bf16), detached.
    pub z_h: Tensor,
    /// `[B, S, D]` in the model's compute dtype (f32 or bf16), detached.
    pub z_l: Tensor,
    /// Supervision steps taken by each slot's current example.
    pub steps: Vec<u32>,
    /// Slots that halted at the last call; they take the next batch's row and restart.
    pub halted: Vec<bool>,
    /// The example each slot is working on (`current_data`).
    pub current: Batch,
}

impl Carry {
    /// B: the number of slots.
    pub fn batch_size(&self) -> usize {
        self.halted.len()
    }

    /// Whether every slot halted at the last call.
    pub fn all_halted(&self) -> bool {
        self.halted.iter().all(|&h| h)
    }
}
