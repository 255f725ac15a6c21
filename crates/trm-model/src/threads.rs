//! Thread counts, and keeping rayon's workers awake through a step of many short parallel
//! loops.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Fixes the thread counts once and makes the calling thread one of rayon's workers; call it
/// at the start of `main`, before any other thread exists.
///
/// - Unless `RAYON_NUM_THREADS` is set, candle works out its thread count at every op, and on
///   Linux machines that name no preferred CPUs that means reading and parsing
///   `/proc/cpuinfo` each time (`num_cpus::get_physical`): 853 reads in one short `trm bench`
///   run, half of a batch-1 step on a noisy machine (docs/benchmarks.md). This sets the
///   variable to the count candle would pick, so candle's answer becomes a lookup, and sizes
///   rayon's global pool as it is without the variable (the logical CPUs): no count changes.
///   A variable already set is kept, and sizes the pool.
/// - The calling thread becomes the pool's worker 0 (rayon's `use_current_thread`), one
///   thread fewer is started. A parallel loop called from a thread outside the pool is
///   queued for the workers while the caller sleeps until they are done: two wake-ups across
///   threads per loop, which at batch 1 (a loop every few tens of microseconds) was a tenth
///   of one puzzle's time. From worker 0 the loop starts at once on this thread and the
///   other workers take what they can.
/// - Candle 0.11 runs large element-wise ops on a pool of its own, whose extra thread spins
///   for 25000 rounds after each op before it parks. On a machine with as many cores as rayon
///   workers that spin takes a core from the products that follow (4% of the cycles of a
///   sudoku9-cpu batch-64 run). Unless `CANDLE_BARRIER_POOL_SPIN_LIMIT` is set, it is set to 0:
///   the thread parks at once. sudoku9-cpu and maze-cpu at batch 64, best of 3 alternating
///   rounds: evaluation step 77.1-77.2 -> 70.0-71.3 ms, training step 167.1-170.0 -> 159.6-160.3
///   ms; batch 1 and sudoku-mlp batch 16 unchanged.
/// - `gemm` copies a left operand that is already column-major into its packed layout anyway
///   when the product is wider than 8 x 6 columns and runs on one thread; the chunked
///   sub-layers (`fused`) call it on one thread per chunk. Raising that threshold to its
///   maximum (256 x 6 columns) lets those operands be read in place: sudoku9-cpu batch 64
///   training step 150.3-153.0 -> 146.4-152.6 ms (4 alternating rounds of 40 repetitions).
///   It changes the rounding of some products (the results stay within the reference
///   tolerances; bits differ from a build without it after about ten training steps).
pub fn settle_thread_counts() {
    if std::env::var_os(CANDLE_SPIN).is_none() {
        std::env::set_var(CANDLE_SPIN, "0");
    }
    let mut pool = rayon::ThreadPoolBuilder::new().use_current_thread();
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let candle = candle_core::utils::get_num_threads();
        let logical = std::thread::available_parallelism().map_or(1, |n| n.get());
        // The caller is single-threaded (documented above): nothing reads the environment
        // meanwhile.
        std::env::set_var("RAYON_NUM_THREADS", candle.to_string());
        pool = pool.num_threads(logical);
    }
    // Fails only when the pool exists already (or this thread is in one): it stays as it is.
    let _ = pool.build_global();
    // Single-threaded products (the chunked sub-layers') read column-major lhs operands in
    // place (the last bullet above); 256 is the largest value gemm takes.
    gemm::set_lhs_packing_threshold_single_thread(256);
}

/// Candle's setting of how long its element-wise pool spins before it parks.
const CANDLE_SPIN: &str = "CANDLE_BARRIER_POOL_SPIN_LIMIT";

/// How long a kept-awake worker waits without work before it returns to rayon (which puts it
/// to sleep soon after).
const IDLE_LIMIT: Duration = Duration::from_millis(2);

/// Runs `f` on this thread while rayon's other workers stay awake, each running pending rayon
/// jobs as they appear instead of going to sleep between them.
///
/// A step at batch 1 is some 190 parallel loops of a few tens of microseconds each, with
/// serial work between them. Between loops rayon puts an idle worker to sleep after a short
/// spin, and the next loop waits for a futex wake-up before its second half starts: 34
/// sleeps in one puzzle's 16 steps. Here each other worker runs one job that polls for rayon
/// work (`rayon::yield_now`) and yields its core to the OS while there is none, until `f`
/// returns or it has found nothing for 2 ms. One puzzle of maze-cpu: 9.3-10.1 -> 8.8-9.2 ms on
/// an Intel Ice Lake machine, 9.3-9.4 -> 9.2-9.3 ms on an AMD Zen 4 one; larger batches
/// unchanged (docs/benchmarks.md).
///
/// Called from outside rayon's pool, or with one thread, it just runs `f`. `f` always runs on
/// the calling thread and its result is returned as is.
pub fn with_workers_awake<R>(f: impl FnOnce() -> R) -> R {
    let helpers = rayon::current_num_threads().saturating_sub(1);
    let Some(owner) = rayon::current_thread_index() else { return f() };
    if helpers == 0 {
        return f();
    }
    let done = AtomicBool::new(false);
    let done = &done;
    rayon::in_place_scope(|scope| {
        for _ in 0..helpers {
            scope.spawn(move |_| keep_awake(done, owner));
        }
        let out = f();
        done.store(true, Ordering::Release);
        out
    })
}

/// One other worker's job: run rayon work while there is some, until `done` or idle too long.
/// The owner's own thread can pick the job up too (when it waits inside `f`): it returns at
/// once, since the owner is busy anyway.
fn keep_awake(done: &AtomicBool, owner: usize) {
    if rayon::current_thread_index() == Some(owner) {
        return;
    }
    let mut idle_since = Instant::now();
    while !done.load(Ordering::Acquire) {
        match rayon::yield_now() {
            Some(rayon::Yield::Executed) => idle_since = Instant::now(),
            _ => {
                if idle_since.elapsed() > IDLE_LIMIT {
                    return;
                }
                std::thread::yield_now();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(f)
    }

    #[test]
    fn runs_on_the_calling_thread_and_returns_its_value() {
        for threads in [1, 2, 3] {
            let (inside, outside) = run_in_pool(threads, || {
                let me = std::thread::current().id();
                with_workers_awake(|| (std::thread::current().id() == me, 7 * threads))
            });
            assert!(inside, "{threads} threads: f ran on another thread");
            assert_eq!(outside, 7 * threads);
        }
        let me = std::thread::current().id();
        assert!(with_workers_awake(|| std::thread::current().id() == me), "outside a pool");
    }

    #[test]
    fn parallel_work_inside_is_done_and_the_helpers_leave() {
        // The scope waits for the helpers' jobs: returning at all means they left.
        use rayon::prelude::*;
        let sum = run_in_pool(2, || {
            with_workers_awake(|| {
                (0..50u64)
                    .map(|i| (0..1000u64).into_par_iter().map(|j| i * j).sum::<u64>())
                    .sum::<u64>()
            })
        });
        assert_eq!(sum, (0..50u64).sum::<u64>() * (0..1000u64).sum::<u64>());
    }
}
