//! `trm`: the command-line front end. Argument parsing and printing only; the work lives in
//! the `trm-data`, `trm-model` and `trm-viz` crates.

mod commands;

use clap::{Parser, Subcommand};

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

/// Tiny Recursive Models: build puzzle datasets, train, evaluate, solve and render.
#[derive(Parser)]
#[command(name = "trm", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a small Sudoku model on this machine and watch it solve a held-out puzzle.
    Demo(commands::demo::Args),
    /// Train a model (presets or a config file), or resume a run.
    Train(commands::train::Args),
    /// Evaluate a trained model on a test split.
    Eval(commands::eval::Args),
    /// Build or inspect datasets in the official layout.
    Data(commands::data::Args),
    /// Solve puzzles with a trained model, step by step if asked.
    Solve(commands::solve::Args),
    /// Draw a Sudoku, a maze or an ARC task as PNG or SVG.
    Render(commands::render::Args),
    /// Draw the learning curves of a run's metrics.jsonl.
    Plot(commands::plot::Args),
    /// Time the training and evaluation steps of a configuration on this machine.
    Bench(commands::bench::Args),
    /// Check the models against tensors produced by the official code, on a device.
    CheckReference(commands::check_reference::Args),
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
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => commands::demo::run(args),
        Command::Train(args) => commands::train::run(args),
        Command::Eval(args) => commands::eval::run(args),
        Command::Data(args) => commands::data::run(args),
        Command::Solve(args) => commands::solve::run(args),
        Command::Render(args) => commands::render::run(args),
        Command::Plot(args) => commands::plot::run(args),
        Command::Bench(args) => commands::bench::run(args),
        Command::CheckReference(args) => commands::check_reference::run(args),
    };
    if let Err(err) = result {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod documented_commands;
