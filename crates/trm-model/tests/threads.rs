//! `settle_thread_counts` in a process of its own (it sets the environment and builds rayon's
//! global pool, once per process).

use rayon::prelude::*;

#[test]
fn the_caller_becomes_rayon_worker_zero_and_the_counts_are_fixed() {
    assert_eq!(rayon::current_thread_index(), None, "the test thread is outside any pool");
    std::env::remove_var("RAYON_NUM_THREADS");
    std::env::remove_var("CANDLE_BARRIER_POOL_SPIN_LIMIT");
    let candle = candle_core::utils::get_num_threads();
    trm_model::settle_thread_counts();
    assert_eq!(rayon::current_thread_index(), Some(0));
    let logical = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(rayon::current_num_threads(), logical);
    assert_eq!(std::env::var("RAYON_NUM_THREADS").unwrap(), candle.to_string());
    assert_eq!(std::env::var("CANDLE_BARRIER_POOL_SPIN_LIMIT").unwrap(), "0");
    assert_eq!(
        gemm::get_lhs_packing_threshold_single_thread(),
        256,
        "gemm packs in-place operands"
    );
    // Parallel loops from worker 0 run, across the workers, to the same result.
    let sum: u64 = (0..100_000u64).into_par_iter().map(|i| i * i).sum();
    assert_eq!(sum, (0..100_000u64).map(|i| i * i).sum::<u64>());
    let mut v = vec![0u32; 1 << 16];
    v.par_chunks_mut(1024).enumerate().for_each(|(i, c)| c.fill(i as u32));
    assert!(v.chunks(1024).enumerate().all(|(i, c)| c.iter().all(|&x| x == i as u32)));
    // A second call changes nothing.
    trm_model::settle_thread_counts();
    assert_eq!(rayon::current_thread_index(), Some(0));
}
