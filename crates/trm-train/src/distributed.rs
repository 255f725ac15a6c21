//! Data-parallel training as the official code does it (design 3.1, 3.3, 3.4, 3.6, 3.7).
//!
//! The global batch is split evenly: rank r of N takes rows `[r*B, (r+1)*B)` with
//! `B = global_batch_size / N`, and keeps its own carry of B slots (and its own halting
//! exploration draws). Each rank back-propagates its loss divided by the GLOBAL batch size,
//! so the SUM-all-reduce of the dense gradients is the gradient of the global mean. The
//! puzzle-embedding gradient rows and their ids are all-gathered, so every rank applies the
//! same sparse sign-SGD update; Adam-atan2 and the EMA then run identically everywhere and
//! the ranks stay bit-identical without exchanging weights. Parameters are broadcast from
//! rank 0 once at the start; losses and metrics are summed across ranks.
//!
//! The communication is a [`Collective`] ([`crate::collective`]: one rank, threads, or
//! NCCL); the step itself is in [`crate::step`]. This module holds the parts of the procedure
//! that are about ranks: the split of the global batch, the broadcast of rank 0's weights,
//! evaluation shared among the ranks, and the carry gathered for a checkpoint and sliced
//! back.

use anyhow::{ensure, Context, Result};
use candle_core::{Device, Tensor};
use std::ops::Range;
use trm_data::dataset::Split;
use trm_model::{Batch, Carry, Model, IGNORE_LABEL_ID};

use crate::collective::{all_reduce_f64, Collective};
use crate::ema::Ema;
use crate::eval::{self, EvalOptions, EvalReport};
use crate::optim::flat;

/// The rows of the global batch that rank `rank` of `world_size` trains on (design 3.6).
pub fn rank_rows(global_batch_size: usize, rank: usize, world_size: usize) -> Result<Range<usize>> {
    ensure!(
        world_size >= 1 && global_batch_size % world_size == 0,
        "global_batch_size {global_batch_size} does not split evenly over {world_size} ranks; choose a world size that divides it or --set global_batch_size=N"
    );
    let local = global_batch_size / world_size;
    Ok(rank * local..(rank + 1) * local)
}

/// Rows `rows` of `batch`.
pub fn slice_batch(batch: &Batch, rows: Range<usize>) -> Result<Batch> {
    let s = batch.seq_len;
    ensure!(rows.end <= batch.batch_size(), "rows {rows:?} of a batch of {}", batch.batch_size());
    Batch::new(
        batch.inputs[rows.start * s..rows.end * s].to_vec(),
        batch.labels[rows.start * s..rows.end * s].to_vec(),
        batch.puzzle_identifiers[rows.clone()].to_vec(),
        s,
    )
}

/// Makes every rank's weights rank 0's (official: parameters and buffers broadcast at the
/// start): every tensor of the model's state (parameters, puzzle table, initial states) and
/// the EMA shadow. This also carries weights rank 0 loaded (`--init-from`) to the others.
pub fn broadcast_model(
    model: &mut Model,
    ema: Option<&mut Ema>,
    dist: &dyn Collective,
) -> Result<()> {
    if dist.world_size() == 1 {
        return Ok(());
    }
    let broadcast_tensor = |t: &Tensor| -> Result<Tensor> {
        let mut host = flat(t)?;
        dist.broadcast(&mut host)?;
        Ok(Tensor::from_vec(host, t.dims(), t.device())?.to_dtype(t.dtype())?)
    };
    let mut state = Vec::new();
    for (name, t) in model.state() {
        let root = broadcast_tensor(&t).with_context(|| format!("broadcasting {name}"))?;
        state.push((name, root));
    }
    model.load_state(state, &Default::default()).context("taking rank 0's weights")?;
    if let Some(ema) = ema {
        for (name, shadow) in ema.shadow.iter_mut() {
            *shadow = broadcast_tensor(shadow)
                .with_context(|| format!("broadcasting the EMA of {name}"))?;
        }
    }
    Ok(())
}

/// [`crate::eval::evaluate`] shared among the ranks: rank r runs evaluation batches r, r+N,
/// r+2N, ... and the sums are added up, so every rank returns the same report (official:
/// each rank evaluates its share of the test set, metrics reduced to rank 0). `on_batch`
/// reports this rank's progress as (examples done, examples of this rank).
pub fn evaluate_shared(
    model: &Model,
    split: &Split,
    opts: &EvalOptions,
    dist: &dyn Collective,
    mut on_batch: impl FnMut(usize, usize),
) -> Result<EvalReport> {
    ensure!(opts.batch_size > 0, "evaluation batch size must be at least 1");
    let total = match opts.max_examples {
        0 => split.num_examples(),
        n => n.min(split.num_examples()),
    };
    let steps = opts.max_steps.unwrap_or(model.config().halt_max_steps);
    let puzzles = eval::example_puzzles(split);
    let starts: Vec<usize> =
        (0..total).step_by(opts.batch_size).skip(dist.rank()).step_by(dist.world_size()).collect();
    let mine: usize = starts.iter().map(|&s| opts.batch_size.min(total - s)).sum();
    let grid = eval::maze_grid(split, model, total);
    // count, token accuracy, exact, q_halt accuracy, steps, solved mazes, then exact answers
    // after each step.
    let mut sums = vec![0.0f64; 6 + steps];
    let mut done = 0;
    for start in starts {
        let end = (start + opts.batch_size).min(total);
        let rows: Vec<usize> = (start..end).collect();
        let batch = eval::collate(split, &rows, &puzzles[start..end])?;
        let (preds, per_step) = eval::predict_batch(model, &batch, opts.max_steps, opts.halt)?;
        for (acc, n) in sums[6..].iter_mut().zip(&per_step) {
            *acc += *n as f64;
        }
        for (r, p) in preds.iter().enumerate() {
            let labels = &batch.labels[r * batch.seq_len..(r + 1) * batch.seq_len];
            let valid = labels.iter().filter(|&&l| l != IGNORE_LABEL_ID).count();
            let correct = p
                .tokens
                .iter()
                .zip(labels)
                .filter(|&(&t, &l)| l != IGNORE_LABEL_ID && t as i32 == l)
                .count();
            if valid > 0 {
                sums[0] += 1.0;
                sums[1] += correct as f64 / valid as f64;
                sums[2] += p.exact as u8 as f64;
                sums[3] += ((p.confidence >= 0.5) == p.exact) as u8 as f64;
                sums[4] += p.steps as f64;
                if let Some(grid) = grid {
                    let input = &batch.inputs[r * batch.seq_len..(r + 1) * batch.seq_len];
                    sums[5] +=
                        trm_data::maze::check::solves_maze(input, &p.tokens, grid) as u8 as f64;
                }
            }
        }
        done += rows.len();
        on_batch(done, mine);
    }
    all_reduce_f64(dist, &mut sums)?;
    let n = sums[0].max(1.0);
    Ok(EvalReport {
        count: sums[0] as usize,
        token_accuracy: sums[1] / n,
        exact_accuracy: sums[2] / n,
        q_halt_accuracy: sums[3] / n,
        mean_steps: sums[4] / n,
        exact_accuracy_per_step: sums[6..].iter().map(|a| a / n).collect(),
        solved_accuracy: grid.map(|_| sums[5] / n),
    })
}

/// The carry of the whole global batch (every rank's slots, in rank order) on the CPU, for
/// checkpoints: a run can then resume with any world size that divides the batch.
pub fn gather_carry(carry: &Carry, dist: &dyn Collective) -> Result<Carry> {
    let (b, s, d) = carry.z_h.dims3()?;
    let world = dist.world_size();
    let seq = carry.current.seq_len;
    let z = |t: &Tensor| -> Result<Tensor> {
        Ok(Tensor::from_vec(dist.all_gather_f32(&flat(t)?)?, (b * world, s, d), &Device::Cpu)?)
    };
    let ints = |v: &[i32]| -> Result<Vec<i32>> {
        Ok(dist
            .all_gather_u32(&v.iter().map(|&x| x as u32).collect::<Vec<_>>())?
            .into_iter()
            .map(|x| x as i32)
            .collect())
    };
    Ok(Carry {
        z_h: z(&carry.z_h)?,
        z_l: z(&carry.z_l)?,
        steps: dist.all_gather_u32(&carry.steps)?,
        halted: dist
            .all_gather_u32(&carry.halted.iter().map(|&h| h as u32).collect::<Vec<_>>())?
            .into_iter()
            .map(|h| h != 0)
            .collect(),
        current: Batch::new(
            ints(&carry.current.inputs)?,
            ints(&carry.current.labels)?,
            ints(&carry.current.puzzle_identifiers)?,
            seq,
        )?,
    })
}

/// Slots `rows` of a global carry, moved to `device`.
pub fn slice_carry(global: &Carry, rows: Range<usize>, device: &Device) -> Result<Carry> {
    ensure!(
        rows.end <= global.batch_size(),
        "carry slots {rows:?} of a carry of {}",
        global.batch_size()
    );
    let n = rows.len();
    Ok(Carry {
        z_h: global.z_h.narrow(0, rows.start, n)?.to_device(device)?.contiguous()?,
        z_l: global.z_l.narrow(0, rows.start, n)?.to_device(device)?.contiguous()?,
        steps: global.steps[rows.clone()].to_vec(),
        halted: global.halted[rows.clone()].to_vec(),
        current: slice_batch(&global.current, rows)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collective::run_ranks;

    #[test]
    fn the_global_batch_splits_evenly_or_not_at_all() {
        assert_eq!(rank_rows(12, 0, 3).unwrap(), 0..4);
        assert_eq!(rank_rows(12, 2, 3).unwrap(), 8..12);
        assert_eq!(rank_rows(5, 0, 1).unwrap(), 0..5);
        let err = rank_rows(10, 0, 4).unwrap_err();
        assert!(format!("{err}").contains("global_batch_size 10"), "{err}");
    }

    #[test]
    fn a_carry_gathered_from_ranks_slices_back_into_them() -> Result<()> {
        let dev = Device::Cpu;
        let (b, s, d, seq) = (2, 3, 4, 3);
        let local = |rank: usize| -> Result<Carry> {
            let base = rank as f32 * 100.0;
            let z: Vec<f32> = (0..b * s * d).map(|i| base + i as f32).collect();
            Ok(Carry {
                z_h: Tensor::from_vec(z.clone(), (b, s, d), &dev)?,
                z_l: (Tensor::from_vec(z, (b, s, d), &dev)? * -1.0)?,
                steps: vec![rank as u32, 5],
                halted: vec![rank == 1, false],
                current: Batch::new(
                    (0..b * seq).map(|i| (i + rank) as i32).collect(),
                    vec![-100; b * seq],
                    vec![rank as i32, 9],
                    seq,
                )?,
            })
        };
        let carries = run_ranks(2, |g| {
            let mine = local(g.rank())?;
            let global = gather_carry(&mine, &g)?;
            let back = slice_carry(&global, rank_rows(4, g.rank(), 2)?, &Device::Cpu)?;
            Ok((mine, global, back))
        })?;
        for (mine, global, back) in &carries {
            assert_eq!(global.batch_size(), 4);
            assert_eq!(global.steps, vec![0, 5, 1, 5]);
            assert_eq!(global.halted, vec![false, false, true, false]);
            assert_eq!(global.current.puzzle_identifiers, vec![0, 9, 1, 9]);
            assert_eq!(
                back.z_h.flatten_all()?.to_vec1::<f32>()?,
                mine.z_h.flatten_all()?.to_vec1::<f32>()?
            );
            assert_eq!(
                back.z_l.flatten_all()?.to_vec1::<f32>()?,
                mine.z_l.flatten_all()?.to_vec1::<f32>()?
            );
            assert_eq!(
                (&back.steps, &back.halted, &back.current),
                (&mine.steps, &mine.halted, &mine.current)
            );
        }
        Ok(())
    }
}
