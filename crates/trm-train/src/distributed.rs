//! Data-parallel training as the official code does it (reference 3.1, 3.3, 3.4, 3.6, 3.7).
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
//! [`Collective`] is the communication the procedure needs, with three implementations:
//! - [`Single`]: one rank, every operation is a no-op.
//! - [`ThreadGroup`]: N ranks as threads of one process (shared memory; sums taken in rank
//!   order, so every rank gets bit-identical results). Used by the tests and by
//!   `trm train --world-size N` on the CPU.
//! - `Nccl` (cargo feature `nccl`): one process per GPU, NCCL through cudarc, rendezvous
//!   through a file holding the NCCL unique id (see docs/distributed.md).
//!
//! The collectives work on host `f32` / `u32` slices: the optimizers already update host
//! copies of the weights (candle has no atan2), so the gradients pass through the host anyway.

use anyhow::{bail, ensure, Context, Result};
use candle_core::backprop::GradStore;
use candle_core::{DType, Device, Tensor};
use rand::Rng;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use trm_data::dataset::Split;
use trm_model::{
    act_loss, Batch, Carry, LossOutput, Metrics, Model, PuzzleRows, StepOutput, IGNORE_LABEL_ID,
};

use crate::ema::Ema;
use crate::eval::{self, EvalOptions, EvalReport};
use crate::optim::{flat, AdamAtan2, SignSgd};
use crate::update::{apply_reduced_updates, apply_updates, UpdateRates};

/// The collective operations of data-parallel training. Every rank must call the same
/// operations in the same order with slices of the same length (as NCCL requires).
pub trait Collective {
    fn rank(&self) -> usize;
    fn world_size(&self) -> usize;
    /// Replaces `data` on every rank with the element-wise sum over the ranks.
    fn all_reduce_sum(&self, data: &mut [f32]) -> Result<()>;
    /// The concatenation of every rank's `local`, in rank order.
    fn all_gather_f32(&self, local: &[f32]) -> Result<Vec<f32>>;
    /// The concatenation of every rank's `local`, in rank order.
    fn all_gather_u32(&self, local: &[u32]) -> Result<Vec<u32>>;
    /// Replaces `data` on every rank with rank 0's.
    fn broadcast(&self, data: &mut [f32]) -> Result<()>;
    /// Returns once every rank has called it.
    fn barrier(&self) -> Result<()>;
}

/// One rank: the collectives are identities.
#[derive(Debug, Clone, Copy, Default)]
pub struct Single;

impl Collective for Single {
    fn rank(&self) -> usize {
        0
    }
    fn world_size(&self) -> usize {
        1
    }
    fn all_reduce_sum(&self, _data: &mut [f32]) -> Result<()> {
        Ok(())
    }
    fn all_gather_f32(&self, local: &[f32]) -> Result<Vec<f32>> {
        Ok(local.to_vec())
    }
    fn all_gather_u32(&self, local: &[u32]) -> Result<Vec<u32>> {
        Ok(local.to_vec())
    }
    fn broadcast(&self, _data: &mut [f32]) -> Result<()> {
        Ok(())
    }
    fn barrier(&self) -> Result<()> {
        Ok(())
    }
}

/// What one rank contributes to an exchange.
#[derive(Debug)]
enum Payload {
    F32(Vec<f32>),
    U32(Vec<u32>),
}

/// One rank's deposit: the operation's name (to catch ranks that disagree) and its data.
type Deposit = (&'static str, Payload);

/// The rendezvous state shared by the threads of a [`ThreadGroup`]. A round collects one
/// deposit per rank, publishes them all, and ends when every rank has taken the result.
#[derive(Default)]
struct Exchange {
    deposits: Vec<Option<Deposit>>,
    deposited: usize,
    published: Option<Arc<Vec<Deposit>>>,
    collected: usize,
    /// Why the group can no longer make progress (a rank failed or left).
    failed: Option<String>,
}

struct Shared {
    world: usize,
    state: Mutex<Exchange>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Exchange> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait<'a>(&self, guard: MutexGuard<'a, Exchange>) -> MutexGuard<'a, Exchange> {
        self.changed.wait(guard).unwrap_or_else(|e| e.into_inner())
    }

    /// The first reason given wins (later ones are consequences).
    fn abort(&self, why: &str) {
        let mut s = self.lock();
        if s.failed.is_none() {
            s.failed = Some(why.to_string());
        }
        self.changed.notify_all();
    }
}

/// N ranks running as threads of one process. Create the handles with [`ThreadGroup::new`]
/// and move one into each thread (or use [`run_ranks`]). A handle dropped before the others
/// are done (a rank that failed or panicked) makes their next collective fail instead of
/// waiting forever.
pub struct ThreadGroup {
    rank: usize,
    shared: Arc<Shared>,
}

impl ThreadGroup {
    /// The handles of ranks `0..world_size`, in rank order.
    pub fn new(world_size: usize) -> Result<Vec<ThreadGroup>> {
        ensure!(world_size >= 1, "the world size must be at least 1");
        let shared = Arc::new(Shared {
            world: world_size,
            state: Mutex::new(Exchange {
                deposits: (0..world_size).map(|_| None).collect(),
                ..Default::default()
            }),
            changed: Condvar::new(),
        });
        Ok((0..world_size).map(|rank| ThreadGroup { rank, shared: shared.clone() }).collect())
    }

    /// Marks the group as failed so that every rank waiting in, or entering, a collective
    /// returns an error naming `why`.
    pub fn abort(&self, why: &str) {
        self.shared.abort(why);
    }

    /// Deposits this rank's payload and returns every rank's, in rank order, once all
    /// have deposited.
    fn exchange(&self, op: &'static str, payload: Payload) -> Result<Arc<Vec<Deposit>>> {
        let shared = &*self.shared;
        let mut s = shared.lock();
        // The previous round's result must be taken by every rank before a new round starts.
        while s.published.is_some() && s.failed.is_none() {
            s = shared.wait(s);
        }
        if let Some(why) = &s.failed {
            bail!(GroupAborted(format!("rank {}: {op} not possible: {why}", self.rank)));
        }
        ensure!(
            s.deposits[self.rank].is_none(),
            "internal: rank {} entered {op} twice in one round",
            self.rank
        );
        s.deposits[self.rank] = Some((op, payload));
        s.deposited += 1;
        if s.deposited == shared.world {
            let all: Vec<Deposit> =
                s.deposits.iter_mut().map(|d| d.take().expect("every rank deposited")).collect();
            s.published = Some(Arc::new(all));
            s.deposited = 0;
            shared.changed.notify_all();
        }
        while s.published.is_none() {
            if let Some(why) = &s.failed {
                bail!(GroupAborted(format!("rank {}: {op} interrupted: {why}", self.rank)));
            }
            s = shared.wait(s);
        }
        let result = s.published.clone().expect("published");
        s.collected += 1;
        if s.collected == shared.world {
            s.published = None;
            s.collected = 0;
            shared.changed.notify_all();
        }
        drop(s);
        for (rank, (other, _)) in result.iter().enumerate() {
            ensure!(*other == op, "rank {} called {op} while rank {rank} called {other}: the ranks disagree on the order of collectives", self.rank);
        }
        Ok(result)
    }

    fn gather<T: Copy>(
        &self,
        op: &'static str,
        local: &[T],
        wrap: fn(Vec<T>) -> Payload,
        unwrap: fn(&Payload) -> Option<&Vec<T>>,
    ) -> Result<Vec<T>> {
        let all = self.exchange(op, wrap(local.to_vec()))?;
        let mut out = Vec::with_capacity(local.len() * all.len());
        for (rank, (_, p)) in all.iter().enumerate() {
            let part = unwrap(p).context("internal: payload type")?;
            ensure!(part.len() == local.len(), "{op}: rank {rank} gave {} values, rank {} gave {} (every rank must give the same length)", part.len(), self.rank, local.len());
            out.extend_from_slice(part);
        }
        Ok(out)
    }
}

impl Drop for ThreadGroup {
    fn drop(&mut self) {
        self.abort(&format!("rank {} left the group", self.rank));
    }
}

/// The error of a collective interrupted because another rank failed or left; [`run_ranks`]
/// reports the failing rank's own error in preference to these.
#[derive(Debug)]
pub struct GroupAborted(pub String);

impl std::fmt::Display for GroupAborted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GroupAborted {}

fn f32_payload(p: &Payload) -> Option<&Vec<f32>> {
    match p {
        Payload::F32(v) => Some(v),
        Payload::U32(_) => None,
    }
}

fn u32_payload(p: &Payload) -> Option<&Vec<u32>> {
    match p {
        Payload::U32(v) => Some(v),
        Payload::F32(_) => None,
    }
}

impl Collective for ThreadGroup {
    fn rank(&self) -> usize {
        self.rank
    }

    fn world_size(&self) -> usize {
        self.shared.world
    }

    /// Sums in rank order (`((x0 + x1) + x2) + ...`) on every rank: bit-identical results.
    fn all_reduce_sum(&self, data: &mut [f32]) -> Result<()> {
        let all = self.gather("all_reduce_sum", data, Payload::F32, f32_payload)?;
        let n = data.len();
        data.copy_from_slice(&all[..n]);
        for part in all.chunks_exact(n.max(1)).skip(1) {
            for (d, x) in data.iter_mut().zip(part) {
                *d += x;
            }
        }
        Ok(())
    }

    fn all_gather_f32(&self, local: &[f32]) -> Result<Vec<f32>> {
        self.gather("all_gather_f32", local, Payload::F32, f32_payload)
    }

    fn all_gather_u32(&self, local: &[u32]) -> Result<Vec<u32>> {
        self.gather("all_gather_u32", local, Payload::U32, u32_payload)
    }

    fn broadcast(&self, data: &mut [f32]) -> Result<()> {
        let all = self.gather("broadcast", data, Payload::F32, f32_payload)?;
        data.copy_from_slice(&all[..data.len()]);
        Ok(())
    }

    fn barrier(&self) -> Result<()> {
        self.exchange("barrier", Payload::U32(Vec::new())).map(|_| ())
    }
}

/// Runs `rank_main` on `world_size` threads, each with its [`ThreadGroup`] handle, and returns
/// their results in rank order. A rank that fails aborts the group so the others stop too;
/// the error returned is the first rank's own failure (not a consequence of another's).
pub fn run_ranks<T: Send>(
    world_size: usize,
    rank_main: impl Fn(ThreadGroup) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    let groups = ThreadGroup::new(world_size)?;
    let rank_main = &rank_main;
    let results: Vec<Result<T>> = std::thread::scope(|scope| {
        let handles: Vec<_> = groups
            .into_iter()
            .map(|group| {
                std::thread::Builder::new()
                    .name(format!("rank-{}", group.rank))
                    .spawn_scoped(scope, move || {
                        let (rank, shared) = (group.rank, group.shared.clone());
                        let result = rank_main(group);
                        if let Err(e) = &result {
                            shared.abort(&format!("rank {rank} failed: {e:#}"));
                        }
                        result
                    })
                    .expect("spawning a rank thread")
            })
            .collect();
        handles
            .into_iter()
            .enumerate()
            .map(|(rank, h)| {
                h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("rank {rank} panicked")))
            })
            .collect()
    });
    let mut first_err = None;
    let mut out = Vec::with_capacity(world_size);
    for result in results {
        match result {
            Ok(v) => out.push(v),
            Err(e) => {
                let secondary = e.downcast_ref::<GroupAborted>().is_some();
                match &first_err {
                    None => first_err = Some((secondary, e)),
                    Some((true, _)) if !secondary => first_err = Some((false, e)),
                    _ => {}
                }
            }
        }
    }
    match first_err {
        Some((_, e)) => Err(e),
        None => Ok(out),
    }
}

/// The rows of the global batch that rank `rank` of `world_size` trains on (reference 3.6).
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

/// Sum over ranks of `f64` values, in f64 and identical on every rank: the values travel as
/// bits and are added in rank order.
pub fn all_reduce_f64(dist: &dyn Collective, values: &mut [f64]) -> Result<()> {
    if dist.world_size() == 1 {
        return Ok(());
    }
    let bits: Vec<u32> = values
        .iter()
        .flat_map(|v| {
            let b = v.to_bits();
            [b as u32, (b >> 32) as u32]
        })
        .collect();
    let all = dist.all_gather_u32(&bits)?;
    values.fill(0.0);
    for part in all.chunks_exact(bits.len().max(1)) {
        for (v, w) in values.iter_mut().zip(part.chunks_exact(2)) {
            *v += f64::from_bits(w[0] as u64 | (w[1] as u64) << 32);
        }
    }
    Ok(())
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

/// Per-step sums over all ranks' rows: losses (not divided), metrics, rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepSums {
    /// `lm + 0.5 (q_halt + q_continue)`, the loss before the division by the global batch.
    pub total: f64,
    pub lm_loss: f64,
    pub q_halt_loss: f64,
    pub q_continue_loss: Option<f64>,
    pub metrics: Metrics,
    pub rows: usize,
}

impl StepSums {
    /// This rank's sums.
    pub fn local(loss: &LossOutput, rows: usize) -> Result<Self> {
        Ok(Self {
            total: loss.total.to_dtype(DType::F64)?.to_scalar()?,
            lm_loss: loss.lm_loss,
            q_halt_loss: loss.q_halt_loss,
            q_continue_loss: loss.q_continue_loss,
            metrics: loss.metrics.clone(),
            rows,
        })
    }

    /// Sums over every rank (official: metrics reduced to rank 0; here every rank gets them,
    /// so every rank sees the same non-finite loss and stops together).
    pub fn all_reduce(&mut self, dist: &dyn Collective) -> Result<()> {
        let m = &self.metrics;
        let mut v = [
            self.total,
            self.lm_loss,
            self.q_halt_loss,
            self.q_continue_loss.unwrap_or(0.0),
            self.q_continue_loss.is_some() as u8 as f64,
            m.count as f64,
            m.accuracy,
            m.exact_accuracy,
            m.q_halt_accuracy,
            m.steps,
            self.rows as f64,
        ];
        all_reduce_f64(dist, &mut v)?;
        *self = Self {
            total: v[0],
            lm_loss: v[1],
            q_halt_loss: v[2],
            q_continue_loss: (v[4] > 0.0).then_some(v[3]),
            metrics: Metrics {
                count: v[5] as usize,
                accuracy: v[6],
                exact_accuracy: v[7],
                q_halt_accuracy: v[8],
                steps: v[9],
            },
            rows: v[10] as usize,
        };
        Ok(())
    }
}

/// The gradients every rank applies: dense ones summed over ranks, the puzzle-embedding rows
/// of the whole global batch with their ids.
pub struct ReducedGrads {
    pub dense: BTreeMap<String, Tensor>,
    /// `(ids, rows [global rows, width])`.
    pub puzzle: Option<(Vec<u32>, Tensor)>,
}

/// SUM-all-reduces the dense gradients (one flat buffer, one collective) and all-gathers the
/// puzzle-embedding gradient rows and ids. A parameter counts as having a gradient when it
/// has one on some rank, as in a single process running the global batch.
pub fn reduce_gradients(
    model: &Model,
    grads: &GradStore,
    puzzle_rows: Option<&PuzzleRows>,
    dist: &dyn Collective,
) -> Result<ReducedGrads> {
    let params = model.trainable();
    let mut buffer = Vec::with_capacity(model.num_params() + params.len() + 1);
    let mut present = Vec::with_capacity(params.len() + 1);
    for (name, var) in params {
        match grads.get(var) {
            Some(g) => {
                let g = flat(g).with_context(|| format!("reading the gradient of {name}"))?;
                ensure!(
                    g.len() == var.elem_count(),
                    "gradient of {name} has {} values, the parameter {}",
                    g.len(),
                    var.elem_count()
                );
                buffer.extend_from_slice(&g);
                present.push(1.0);
            }
            None => {
                buffer.resize(buffer.len() + var.elem_count(), 0.0);
                present.push(0.0);
            }
        }
    }
    let puzzle_grad = puzzle_rows.and_then(|rows| grads.get(&rows.local));
    present.push(puzzle_grad.is_some() as u8 as f32);
    let dense_len = buffer.len();
    buffer.extend_from_slice(&present);
    dist.all_reduce_sum(&mut buffer)?;

    let mut dense = BTreeMap::new();
    let mut offset = 0;
    for (i, (name, var)) in params.iter().enumerate() {
        let n = var.elem_count();
        if buffer[dense_len + i] > 0.0 {
            // On the host: the optimizer reads gradients there anyway.
            dense.insert(
                name.clone(),
                Tensor::from_vec(buffer[offset..offset + n].to_vec(), var.dims(), &Device::Cpu)?,
            );
        }
        offset += n;
    }

    let mut puzzle = None;
    if let (Some(rows), true) = (puzzle_rows, buffer[dense_len + params.len()] > 0.0) {
        let width = rows.local.dim(1)?;
        let local = match puzzle_grad {
            Some(g) => flat(g)?,
            None => vec![0.0; rows.ids.len() * width],
        };
        let all_rows = dist.all_gather_f32(&local)?;
        let all_ids = dist.all_gather_u32(&rows.ids)?;
        let n = all_ids.len();
        puzzle = Some((all_ids, Tensor::from_vec(all_rows, (n, width), &Device::Cpu)?));
    }
    Ok(ReducedGrads { dense, puzzle })
}

/// The forward half of one data-parallel step on this rank.
pub struct LocalStep {
    pub out: StepOutput,
    pub loss: LossOutput,
    /// Sums over every rank.
    pub sums: StepSums,
}

/// One supervision step of this rank's carry on its rows `local` of the global batch, its
/// loss, and the sums of the losses and metrics over all ranks.
pub fn forward_step<R: Rng>(
    model: &Model,
    carry: &mut Carry,
    local: &Batch,
    rng: &mut R,
    dist: &dyn Collective,
) -> Result<LocalStep> {
    let out = model.train_step(carry, local, rng)?;
    let loss = act_loss(model.config().loss_type, &out, carry)?;
    let mut sums = StepSums::local(&loss, local.batch_size())?;
    sums.all_reduce(dist)?;
    Ok(LocalStep { out, loss, sums })
}

/// The backward half: this rank's loss divided by the global batch size, gradients reduced
/// across ranks, then the same updates as a single process (Adam-atan2, sign-SGD, EMA).
/// With one rank it is exactly the single-process update ([`apply_updates`]).
#[allow(clippy::too_many_arguments)]
pub fn backward_and_update(
    model: &Model,
    step: &LocalStep,
    global_batch_size: usize,
    dist: &dyn Collective,
    adam: &mut AdamAtan2,
    sign_sgd: &SignSgd,
    ema: Option<&mut Ema>,
    rates: UpdateRates,
) -> Result<()> {
    let grads = (&step.loss.total / global_batch_size as f64)?.backward()?;
    if dist.world_size() == 1 {
        return apply_updates(
            model,
            &grads,
            step.out.puzzle_rows.as_ref(),
            adam,
            sign_sgd,
            ema,
            rates,
        );
    }
    let reduced = reduce_gradients(model, &grads, step.out.puzzle_rows.as_ref(), dist)?;
    let puzzle = reduced.puzzle.as_ref().map(|(ids, rows)| (ids.as_slice(), rows));
    apply_reduced_updates(model, reduced.dense, puzzle, adam, sign_sgd, ema, rates)
}

/// One complete data-parallel training step of this rank (forward on its rows with its own
/// carry, loss / global batch size, backward, all-reduce, identical update on every rank).
/// Returns the sums over all ranks; fails on every rank alike when the global loss is not finite.
#[allow(clippy::too_many_arguments)]
pub fn data_parallel_step<R: Rng>(
    model: &Model,
    carry: &mut Carry,
    local: &Batch,
    rng: &mut R,
    global_batch_size: usize,
    dist: &dyn Collective,
    adam: &mut AdamAtan2,
    sign_sgd: &SignSgd,
    ema: Option<&mut Ema>,
    rates: UpdateRates,
) -> Result<StepSums> {
    let step = forward_step(model, carry, local, rng, dist)?;
    ensure!(
        step.sums.total.is_finite(),
        "the loss summed over the ranks became {}",
        step.sums.total
    );
    backward_and_update(model, &step, global_batch_size, dist, adam, sign_sgd, ema, rates)?;
    Ok(step.sums)
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
    // count, token accuracy, exact, q_halt accuracy, steps, then exact answers after each step.
    let mut sums = vec![0.0f64; 5 + steps];
    let mut done = 0;
    for start in starts {
        let end = (start + opts.batch_size).min(total);
        let rows: Vec<usize> = (start..end).collect();
        let batch = eval::collate(split, &rows, &puzzles[start..end])?;
        let (preds, per_step) = eval::predict_batch(model, &batch, opts.max_steps, opts.halt)?;
        for (acc, n) in sums[5..].iter_mut().zip(&per_step) {
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
        exact_accuracy_per_step: sums[5..].iter().map(|a| a / n).collect(),
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

/// Every rank's `u128` (a generator position), in rank order.
pub fn all_gather_u128(dist: &dyn Collective, value: u128) -> Result<Vec<u128>> {
    let words: Vec<u32> = (0..4).map(|i| (value >> (32 * i)) as u32).collect();
    let all = dist.all_gather_u32(&words)?;
    Ok(all
        .chunks_exact(4)
        .map(|w| w.iter().enumerate().fold(0u128, |acc, (i, &x)| acc | (x as u128) << (32 * i)))
        .collect())
}

#[cfg(feature = "nccl")]
pub use nccl::Nccl;

/// NCCL between processes, one per GPU (feature `nccl`).
#[cfg(feature = "nccl")]
mod nccl {
    use super::Collective;
    use anyhow::{bail, ensure, Context, Result};
    use candle_core::cuda_backend::cudarc;
    use cudarc::driver::CudaStream;
    use cudarc::nccl::{Comm, Id, ReduceOp};
    use std::path::Path;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    /// One rank of an NCCL communicator on the CUDA stream of a candle device, so the
    /// collectives are ordered with the model's kernels.
    pub struct Nccl {
        comm: Comm,
        stream: Arc<CudaStream>,
    }

    fn nccl_error(what: &'static str) -> impl Fn(cudarc::nccl::result::NcclError) -> anyhow::Error {
        move |e| anyhow::anyhow!("NCCL {what} failed: {:?}", e.0)
    }

    impl Nccl {
        /// Joins the communicator of `world_size` ranks. Rank 0 creates the NCCL unique id
        /// and writes it to `init_file` (which must not exist yet: a stale id would make the
        /// other ranks wait forever); the others wait up to `timeout` for the file. Once every
        /// rank has joined, rank 0 deletes the file so the same path can serve the next launch.
        pub fn connect(
            device: &candle_core::Device,
            rank: usize,
            world_size: usize,
            init_file: &Path,
            timeout: Duration,
        ) -> Result<Self> {
            ensure!(rank < world_size, "rank {rank} is not below the world size {world_size}");
            let stream = device
                .as_cuda_device()
                .map_err(|e| anyhow::anyhow!("NCCL needs a CUDA device (--device cuda:N): {e}"))?
                .cuda_stream();
            let id = if rank == 0 {
                ensure!(
                    !init_file.exists(),
                    "{} already exists (left by an earlier launch?); delete it or give another --dist-init path",
                    init_file.display()
                );
                let id = Id::new().map_err(nccl_error("ncclGetUniqueId"))?;
                write_id(init_file, world_size, &id)?;
                id
            } else {
                read_id(init_file, world_size, timeout)?
            };
            let comm = Comm::from_rank(stream.clone(), rank, world_size, id)
                .map_err(nccl_error("ncclCommInitRank"))?;
            let nccl = Self { comm, stream };
            nccl.barrier()?;
            if rank == 0 {
                std::fs::remove_file(init_file).with_context(|| {
                    format!("removing the rendezvous file {}", init_file.display())
                })?;
            }
            Ok(nccl)
        }

        fn to_device<T: cudarc::driver::DeviceRepr>(
            &self,
            host: &[T],
        ) -> Result<cudarc::driver::CudaSlice<T>> {
            Ok(self.stream.clone_htod(host)?)
        }

        /// Every rank's `local`, in rank order, through the device.
        fn all_gather<
            T: cudarc::driver::DeviceRepr
                + cudarc::driver::ValidAsZeroBits
                + cudarc::nccl::NcclType
                + Default
                + Clone,
        >(
            &self,
            local: &[T],
        ) -> Result<Vec<T>> {
            let send = self.to_device(local)?;
            let mut recv = self.stream.alloc_zeros::<T>(local.len() * self.world_size())?;
            self.comm.all_gather(&send, &mut recv).map_err(nccl_error("all_gather"))?;
            let out = self.stream.clone_dtoh(&recv)?;
            self.stream.synchronize()?;
            Ok(out)
        }
    }

    /// `world_size` on the first line, the 128-byte id in hex on the second; written to a
    /// temporary file and renamed, so a reader never sees half of it.
    fn write_id(path: &Path, world_size: usize, id: &Id) -> Result<()> {
        let hex: String = id.internal().iter().map(|&c| format!("{:02x}", c as u8)).collect();
        let text = format!("{world_size}\n{hex}\n");
        crate::checkpoint::write_atomically(path, text.as_bytes())
            .with_context(|| format!("writing the NCCL id to {}", path.display()))
    }

    fn read_id(path: &Path, world_size: usize, timeout: Duration) -> Result<Id> {
        let start = Instant::now();
        let text = loop {
            match std::fs::read_to_string(path) {
                Ok(t) => break t,
                Err(_) if start.elapsed() < timeout => std::thread::sleep(Duration::from_millis(200)),
                Err(e) => bail!("waited {:?} for rank 0 to write {} ({e}); start rank 0 with the same --dist-init path", timeout, path.display()),
            }
        };
        let mut lines = text.lines();
        let world: usize = lines
            .next()
            .and_then(|l| l.trim().parse().ok())
            .with_context(|| format!("{}: line 1 should be the world size", path.display()))?;
        ensure!(
            world == world_size,
            "{}: rank 0 was started with world size {world}, this rank with {world_size}",
            path.display()
        );
        let hex = lines.next().unwrap_or("").trim();
        ensure!(
            hex.len() == 256,
            "{}: line 2 should be 256 hex digits (the NCCL unique id), found {} characters",
            path.display(),
            hex.len()
        );
        let mut internal = [0 as std::ffi::c_char; 128];
        for (i, byte) in internal.iter_mut().enumerate() {
            let b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                .with_context(|| format!("{}: line 2 is not hexadecimal", path.display()))?;
            *byte = b as std::ffi::c_char;
        }
        Ok(Id::uninit(internal))
    }

    impl Collective for Nccl {
        fn rank(&self) -> usize {
            self.comm.rank()
        }

        fn world_size(&self) -> usize {
            self.comm.world_size()
        }

        fn all_reduce_sum(&self, data: &mut [f32]) -> Result<()> {
            let mut buf = self.to_device(data)?;
            self.comm
                .all_reduce_in_place(&mut buf, &ReduceOp::Sum)
                .map_err(nccl_error("all_reduce"))?;
            self.stream.memcpy_dtoh(&buf, data)?;
            self.stream.synchronize()?;
            Ok(())
        }

        fn all_gather_f32(&self, local: &[f32]) -> Result<Vec<f32>> {
            self.all_gather(local)
        }

        fn all_gather_u32(&self, local: &[u32]) -> Result<Vec<u32>> {
            self.all_gather(local)
        }

        fn broadcast(&self, data: &mut [f32]) -> Result<()> {
            let mut buf = self.to_device(data)?;
            self.comm.broadcast_in_place(&mut buf, 0).map_err(nccl_error("broadcast"))?;
            self.stream.memcpy_dtoh(&buf, data)?;
            self.stream.synchronize()?;
            Ok(())
        }

        fn barrier(&self) -> Result<()> {
            let mut one = [0.0f32];
            self.all_reduce_sum(&mut one)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_group_sums_gathers_and_broadcasts_across_three_ranks() -> Result<()> {
        let results = run_ranks(3, |g| {
            let r = g.rank() as f32;
            let mut sum = vec![r + 1.0, 0.1 * r, -r, 1e-8 * r];
            g.all_reduce_sum(&mut sum)?;
            let gathered = g.all_gather_f32(&[r, 10.0 + r])?;
            let ids = g.all_gather_u32(&[g.rank() as u32 * 7])?;
            let mut bcast = vec![r * 3.0 + 1.0; 5];
            g.broadcast(&mut bcast)?;
            g.barrier()?;
            let mut exact = [0.1 * (g.rank() as f64 + 1.0), 1e20];
            all_reduce_f64(&g, &mut exact)?;
            let positions = all_gather_u128(&g, (g.rank() as u128) << 100 | 5)?;
            Ok((g.world_size(), sum, gathered, ids, bcast, exact, positions))
        })?;
        let expected_sum = [1.0f32 + 2.0 + 3.0, (0.0f32 + 0.1) + 0.2, -3.0, (0.0f32 + 1e-8) + 2e-8];
        for (world, sum, gathered, ids, bcast, exact, positions) in &results {
            assert_eq!(*world, 3);
            assert_eq!(
                sum.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                expected_sum.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "rank-order sum, identical bits"
            );
            assert_eq!(gathered, &vec![0.0, 10.0, 1.0, 11.0, 2.0, 12.0]);
            assert_eq!(ids, &vec![0, 7, 14]);
            assert_eq!(bcast, &vec![1.0; 5], "rank 0's values everywhere");
            assert_eq!(exact[0], 0.1 + 0.2 + 0.30000000000000004);
            assert_eq!(exact[1], 3e20);
            assert_eq!(positions, &vec![5u128, 1u128 << 100 | 5, 2u128 << 100 | 5]);
        }
        Ok(())
    }

    #[test]
    fn a_failing_rank_stops_the_others_with_its_own_error() {
        let err = run_ranks(3, |g| {
            if g.rank() == 1 {
                bail!("rank one could not read its data");
            }
            // The others wait in a collective that rank 1 never joins.
            let mut v = [1.0f32];
            g.all_reduce_sum(&mut v)?;
            Ok(())
        })
        .expect_err("the group fails");
        assert_eq!(format!("{err:#}"), "rank one could not read its data");
    }

    #[test]
    fn ranks_that_disagree_on_lengths_or_operations_get_an_error() {
        let err = run_ranks(2, |g| g.all_gather_f32(&vec![0.0; 1 + g.rank()]))
            .expect_err("lengths differ");
        assert!(format!("{err:#}").contains("same length"), "{err:#}");
        let err = run_ranks(2, |g| {
            if g.rank() == 0 {
                g.barrier()
            } else {
                g.all_gather_u32(&[]).map(|_| ())
            }
        })
        .expect_err("operations differ");
        assert!(format!("{err:#}").contains("disagree"), "{err:#}");
    }

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
