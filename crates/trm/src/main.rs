//! `trm`: the command-line front end (the commands live in the `trm` library beside this file:
//! src/lib.rs). This file sets up the process (signals, allocator, thread counts), parses the
//! command line and reports an error.

use clap::Parser;
use trm::Cli;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Keeps freed memory in the process. The recursion frees and allocates tensors of the same
/// few sizes thousands of times per step; returning them to the kernel (mimalloc's default
/// after 10 ms, glibc's for every block over its mmap threshold) made the kernel zero fresh
/// pages for each: 278k page faults and 14 s of system time in one `trm bench` run, against
/// 1.6k and 3 s with purging off (docs/benchmarks.md).
/// A `MIMALLOC_PURGE_DELAY` set in the environment is left to mimalloc (for a machine where
/// resident memory matters more than page faults).
#[cfg(feature = "mimalloc")]
fn keep_freed_memory() {
    // mi_option_purge_delay (mimalloc.h, v2): -1 = never purge.
    const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets a process-wide mimalloc option by its documented number before any
        // other thread exists; no memory is touched.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
}

fn main() {
    // Behave like other Unix tools when the reader goes away (`trm data inspect D | head`):
    // end quietly instead of panicking on a broken pipe.
    #[cfg(unix)]
    // SAFETY: restores the default disposition of one signal at start-up, before any other
    // thread exists; SIG_DFL is no handler, so no code runs in signal context.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    #[cfg(feature = "mimalloc")]
    keep_freed_memory();
    trm_model::settle_thread_counts();
    let result = trm::run(Cli::parse());
    if let Err(err) = result {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}
