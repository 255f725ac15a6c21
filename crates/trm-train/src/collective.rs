//! The communication of data-parallel training ([`crate::distributed`]): the [`Collective`]
//! trait and its implementations.
//! - [`Single`]: one rank, every operation is a no-op.
//! - [`ThreadGroup`]: N ranks as threads of one process (shared memory; sums taken in rank
//!   order, so every rank gets bit-identical results). Used by the tests and by
//!   `trm train --world-size N` on the CPU.
//! - `Nccl` (module `nccl`, cargo feature `nccl`): one process per GPU, NCCL through
//!   cudarc, rendezvous through a file holding the NCCL unique id (see docs/distributed.md).
//!
//! The collectives work on host `f32` / `u32` slices.

use anyhow::{bail, ensure, Context, Result};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// The collective operations of data-parallel training. Every rank must call the same
/// operations in the same order with slices of the same length (as NCCL requires).
pub trait Collective {
    /// This rank's index, from 0 to `world_size() - 1` (rank 0 writes the run's files).
    fn rank(&self) -> usize;
    /// The number of ranks taking part.
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
/// their results in rank order. Rank 0 runs on the calling thread (which is rayon's worker 0
/// after [`trm_model::settle_thread_counts`], so its parallel loops start on it at once), the
/// others on threads of their own. A rank that fails aborts the group so the others stop too;
/// the error returned is the first rank's own failure (not a consequence of another's).
pub fn run_ranks<T: Send>(
    world_size: usize,
    rank_main: impl Fn(ThreadGroup) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    let mut groups = ThreadGroup::new(world_size)?.into_iter();
    let first = groups.next().expect("ThreadGroup::new makes at least one rank");
    let rank_main = &rank_main;
    let run_rank = move |group: ThreadGroup| {
        let (rank, shared) = (group.rank, group.shared.clone());
        let result = rank_main(group);
        if let Err(e) = &result {
            shared.abort(&format!("rank {rank} failed: {e:#}"));
        }
        result
    };
    let results: Vec<Result<T>> = std::thread::scope(|scope| {
        let handles: Vec<_> = groups
            .map(|group| {
                std::thread::Builder::new()
                    .name(format!("rank-{}", group.rank))
                    .spawn_scoped(scope, move || run_rank(group))
                    .expect("spawning a rank thread")
            })
            .collect();
        // A panic of rank 0 becomes its error, as one on a rank thread does through `join`
        // (its handle, dropped while unwinding, has made the others' collectives fail).
        let first = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_rank(first)));
        let mut results = vec![first.unwrap_or_else(|_| Err(anyhow::anyhow!("rank 0 panicked")))];
        results.extend(handles.into_iter().enumerate().map(|(i, h)| {
            h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("rank {} panicked", i + 1)))
        }));
        results
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

/// Every rank's `u128` (a generator position), in rank order.
pub fn all_gather_u128(dist: &dyn Collective, value: u128) -> Result<Vec<u128>> {
    let words: Vec<u32> = (0..4).map(|i| (value >> (32 * i)) as u32).collect();
    let all = dist.all_gather_u32(&words)?;
    Ok(all
        .chunks_exact(4)
        .map(|w| w.iter().enumerate().fold(0u128, |acc, (i, &x)| acc | (x as u128) << (32 * i)))
        .collect())
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
    fn rank_zero_runs_on_the_calling_thread_and_its_panic_is_its_error() {
        let caller = std::thread::current().id();
        let threads = run_ranks(3, |_| Ok(std::thread::current().id())).unwrap();
        assert_eq!(threads[0], caller);
        assert!(threads[1] != caller && threads[2] != caller && threads[1] != threads[2]);
        let err = run_ranks(2, |g| {
            if g.rank() == 0 {
                panic!("rank zero fails");
            }
            let mut v = [1.0f32];
            g.all_reduce_sum(&mut v)?;
            Ok(())
        })
        .expect_err("the group fails");
        assert_eq!(format!("{err:#}"), "rank 0 panicked");
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
}
