//! `trm demo`: the main job on a built-in default. Trains a CPU preset (data generated on
//! the spot) with a progress bar, evaluates it on its held-out puzzles, and shows one of
//! them solved step by step. `--task sudoku4` (default, minutes), `sudoku9` or `maze`
//! (about 20 to 25 minutes each on two cores).

use anyhow::{Context, Result};
use std::path::PathBuf;
use trm_data::sudoku::Grid;
use trm_train::config::RunConfig;
use trm_train::eval::{evaluate, EvalOptions};
use trm_train::run_dir::RunDir;
use trm_train::train::{Trainer, CONFIG_FILE};

use super::solve::maze::{solve_maze, MazeArgs};
use super::solve::sudoku::{solve_sudoku, SudokuArgs};

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Task {
    /// 4x4 Sudoku, preset sudoku4 (about 3 minutes).
    Sudoku4,
    /// 9x9 Sudoku, preset sudoku9-cpu (about 20 minutes).
    Sudoku9,
    /// 9x9 mazes, preset maze-cpu (about 25 minutes).
    Maze,
}

impl Task {
    fn preset(self) -> &'static str {
        match self {
            Task::Sudoku4 => "sudoku4",
            Task::Sudoku9 => "sudoku9-cpu",
            Task::Maze => "maze-cpu",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Task::Sudoku4 => "4x4 Sudoku",
            Task::Sudoku9 => "9x9 Sudoku",
            Task::Maze => "9x9 mazes (shortest paths of at least 30 cells)",
        }
    }
}

#[derive(clap::Args)]
pub struct Args {
    /// What to learn.
    #[arg(long, value_enum, default_value = "sudoku4")]
    task: Task,
    /// Run folder (a previous demo run there is replaced) [default: runs/demo, or
    /// runs/demo-sudoku9, runs/demo-maze].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Override a setting of the task's preset, e.g. epochs=100. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// Which held-out puzzle to show (index in the test split).
    #[arg(long, default_value_t = 0)]
    show: usize,
}

pub fn run(args: Args) -> Result<()> {
    let preset = args.task.preset();
    let out = args.out.clone().unwrap_or_else(|| match args.task {
        Task::Sudoku4 => PathBuf::from("runs/demo"),
        Task::Sudoku9 => PathBuf::from("runs/demo-sudoku9"),
        Task::Maze => PathBuf::from("runs/demo-maze"),
    });
    let cfg = RunConfig::preset(preset)?.apply_overrides(&args.overrides)?;
    // Checked before anything is replaced or trained: the held-out split holds the
    // generator's test puzzles.
    if let Some(g) = &cfg.data.generate {
        ensure_shown(args.show, g.test)?;
    }
    if out.join(CONFIG_FILE).exists() {
        eprintln!("replacing the previous demo run in {}", out.display());
        std::fs::remove_dir_all(&out).with_context(|| format!("removing {}", out.display()))?;
    }
    eprintln!(
        "Training a Tiny Recursive Model on {} (preset {preset}) in {}",
        args.task.describe(),
        out.display()
    );
    eprintln!("The data (train puzzles, held-out test puzzles) is generated first.");
    let mut trainer = Trainer::create(cfg, &out, &candle_core::Device::Cpu)?;
    super::train::train_with_progress(&mut trainer, None)?;

    let run = RunDir::open(&out)?;
    let dataset = trm_data::dataset::Dataset::load(&run.data_dir())?;
    let test = dataset.test.context("the demo dataset has no test split")?;
    let ema_model = run.load_model(&candle_core::Device::Cpu)?;
    let opts = EvalOptions { batch_size: 256, max_examples: 0, max_steps: None, halt: false };
    let (report, _) = evaluate(&ema_model, &test, &opts, |_, _| {})?;
    print!("\n{}", report.held_out_summary());
    ensure_shown(args.show, test.num_examples())?;
    let index = args.show;
    match args.task {
        Task::Maze => {
            // Shown as `trm solve maze --steps` shows it, with a picture of every step.
            let side = trainer.config.data.generate.as_ref().map_or(9, |g| g.size);
            let (input, label) = test.example(index);
            let maze = trm_data::maze::build::decode_example(input, label, side, side)?.question;
            let file = out.join("demo-maze.txt");
            std::fs::write(&file, maze.to_string())
                .with_context(|| format!("writing {}", file.display()))?;
            let picture = out.join("demo-maze-steps.png");
            println!("\nHeld-out maze {index}, the answer after each supervision step:\n");
            solve_maze(MazeArgs::for_demo(out.clone(), file, picture.clone()))?;
            println!("Picture of every step: {}", picture.display());
        }
        _ => {
            // Shown as `trm solve sudoku --steps` shows it.
            println!("\nHeld-out puzzle {index}, the answer after each supervision step (changed cells marked):\n");
            let puzzle = Grid::from_tokens(test.example(index).0)?.to_line('.');
            solve_sudoku(SudokuArgs::for_demo(out.clone(), puzzle))?;
        }
    }
    println!("Run folder: {} (metrics.jsonl, model.safetensors, checkpoints/)", out.display());
    Ok(())
}

/// Refuses `--show index` for a held-out split of `count` puzzles that lacks it.
fn ensure_shown(index: usize, count: usize) -> Result<()> {
    anyhow::ensure!(
        index < count,
        "--show {index}: the demo holds {count} held-out puzzles (0 to {}); pick one of those, or more with --set data.generate.test=N",
        count.saturating_sub(1)
    );
    Ok(())
}
