//! The `trm` command line: argument parsing and printing only; the work lives in the
//! `trm-data`, `trm-model`, `trm-train` and `trm-viz` crates. A library beside the binary
//! (src/main.rs) so that tests can parse command lines (tests/documented_commands.rs).

pub mod commands;

use clap::{Parser, Subcommand};

/// Tiny Recursive Models: build puzzle datasets, train, evaluate, solve and render.
#[derive(Parser)]
#[command(name = "trm", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
pub enum Command {
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

/// Runs the command parsed from the command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Demo(args) => commands::demo::run(args),
        Command::Train(args) => commands::train::run(args),
        Command::Eval(args) => commands::eval::run(args),
        Command::Data(args) => commands::data::run(args),
        Command::Solve(args) => commands::solve::run(args),
        Command::Render(args) => commands::render::run(args),
        Command::Plot(args) => commands::plot::run(args),
        Command::Bench(args) => commands::bench::run(args),
        Command::CheckReference(args) => commands::check_reference::run(args),
    }
}
