//! `trm train`: train a model from a preset or a config file, or resume a run.

use anyhow::{ensure, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use trm_train::collective::{self, Collective};
use trm_train::config::{ConfigChoice, RunConfig};
use trm_train::run_dir::default_run_dir;
use trm_train::train::{Event, Trainer};

#[derive(clap::Args)]
#[command(
    after_help = "Presets: sudoku4 (4x4 Sudoku, generates its own data, minutes on a CPU), sudoku9-cpu (9x9 on a CPU from fresh generated puzzles, about 20 minutes), maze-cpu (fresh generated 9x9 mazes on a CPU, about 25 minutes), arc-cpu (a few small ARC tasks on a 4x4 canvas on a CPU, about 20 minutes; needs --data from `trm data arc --canvas 4 --max-grid 3`), and the official recipes sudoku-mlp, sudoku-att, maze-att, arc1, arc2, hrm-sudoku, hrm-maze, hrm-arc1 (GPU-sized; need --data).

Examples:
  trm train --preset sudoku4 --out runs/s4
  trm train --preset sudoku-mlp --data data/sudoku-extreme-1k-aug-1000 --set global_batch_size=256
  trm train --resume runs/s4
  trm train --preset sudoku4 --out runs/s4x2 --world-size 2        (2 ranks as threads)
  trm train ... --out RUN --device cuda --world-size 4 --rank R --dist-init /shared/id   (one process per GPU; docs/distributed.md)"
)]
pub struct Args {
    /// A built-in configuration.
    #[arg(long, conflicts_with = "config")]
    preset: Option<String>,
    /// A configuration file (TOML with [arch], [train], [data]; see --print-config).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Dataset folder in the official layout (overrides the configuration's data).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Run folder to create (default: runs/<preset or config name>-<unix time>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Override a setting: key=value, e.g. lr=3e-4 or arch.hidden_size=128. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// Continue the run in this folder from its newest checkpoint.
    #[arg(long, value_name = "RUN")]
    resume: Option<PathBuf>,
    /// With --resume: continue even if the configuration given differs from the run's.
    #[arg(long)]
    force: bool,
    /// Print the fully resolved configuration and exit.
    #[arg(long)]
    print_config: bool,
    /// Stop after this many optimizer steps. `--resume` continues from the last checkpoint
    /// (written at evaluations and every `checkpoint_interval` steps), not from the stop.
    #[arg(long)]
    stop_after: Option<u64>,
    /// Start from trained weights (fine-tuning): a run folder, its model.safetensors, a
    /// checkpoint of it, or an official checkpoint. A puzzle-embedding table of another size
    /// than the new dataset's is reset to its mean row, as official.
    #[arg(long, value_name = "PATH", conflicts_with = "resume")]
    init_from: Option<PathBuf>,
    /// Device: cpu (default) or cuda[:N] (needs a build with --features cuda).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Compute dtype, f32 or bf16 [default: bf16 on a GPU when forward_dtype = "bfloat16",
    /// else f32]. Parameters, optimizer state and checkpoints stay f32.
    #[arg(long, value_name = "f32|bf16")]
    dtype: Option<String>,
    /// Data-parallel ranks sharing each global batch (official torchrun training). Alone: N
    /// threads of this process. With --dist-init: this process is one of N (default $WORLD_SIZE).
    #[arg(long, value_name = "N")]
    world_size: Option<usize>,
    /// With --dist-init: the rank of this process, 0..N (default $RANK).
    #[arg(long, value_name = "R", requires = "dist_init")]
    rank: Option<usize>,
    /// One process per GPU with NCCL (a build with --features nccl): rank 0 writes the NCCL id
    /// to FILE, the other ranks wait for it. FILE must not exist yet; with several machines put
    /// it, and the run folder, on a filesystem they all see. `--device cuda` picks GPU
    /// $LOCAL_RANK (else the rank). See docs/distributed.md.
    #[arg(long, value_name = "FILE")]
    dist_init: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    if let Some(name) = &args.dtype {
        super::compute_dtype(name)?; // a bad --dtype fails before a run folder is written
    }
    let given = choice(&args).resolve()?;
    if args.print_config {
        let cfg = given.context("--print-config needs --preset or --config")?;
        print!("{}", cfg.to_toml()?);
        return Ok(());
    }
    if let Some(file) = &args.dist_init {
        return train_process_rank(&args, given, file);
    }
    let world = args.world_size.unwrap_or(1);
    ensure!(world >= 1, "--world-size must be at least 1");
    let device = super::device(&args.device)?;
    let run_dir = run_folder(&args);
    if world > 1 {
        // Ranks as threads of this process.
        collective::run_ranks(world, |group| {
            train_rank(&args, given.clone(), &run_dir, &device, Box::new(group))
        })?;
        return Ok(());
    }
    let mut trainer = open_run(&args, given, &device, &run_dir)?;
    force_dtype(&mut trainer, &args)?;
    train_with_progress(&mut trainer, args.stop_after)?;
    eprintln!("model: {}", trainer.run_dir.join(trm_train::train::MODEL_FILE).display());
    Ok(())
}

/// The run folder: the one resumed, --out, or runs/<preset or config name>-<unix time>.
fn run_folder(args: &Args) -> PathBuf {
    let given = args.resume.as_ref().or(args.out.as_ref()).cloned();
    given.unwrap_or_else(|| default_run_dir(choice(args).name()))
}

/// Applies `--dtype` to the trainer's model (its carry follows at the next step).
fn force_dtype(trainer: &mut Trainer, args: &Args) -> Result<()> {
    if let Some(name) = &args.dtype {
        trainer.model.set_compute_dtype(super::compute_dtype(name)?)?;
    }
    Ok(())
}

/// Continues the run with --resume, else creates it in `run_dir`.
fn open_run(
    args: &Args,
    given: Option<RunConfig>,
    device: &candle_core::Device,
    run_dir: &Path,
) -> Result<Trainer> {
    if let Some(run) = &args.resume {
        let t = Trainer::resume(run, given.as_ref(), args.force, device)?;
        eprintln!("resuming {} at step {} of {}", run.display(), t.step(), t.total_steps());
        return Ok(t);
    }
    let cfg = given.context("give --preset NAME or --config FILE (or --resume RUN)")?;
    eprintln!("run folder: {}", run_dir.display());
    let (trainer, init) =
        Trainer::create_with_init(cfg, run_dir, device, args.init_from.as_deref())?;
    if let Some(init) = init {
        eprint!("{}", init.summary());
    }
    Ok(trainer)
}

/// One rank of a data-parallel run: rank 0 creates or resumes the run and shows progress,
/// the others open it once it is there (`Trainer::open_ranked`; docs/distributed.md).
fn train_rank(
    args: &Args,
    given: Option<RunConfig>,
    run_dir: &Path,
    device: &candle_core::Device,
    dist: Box<dyn Collective>,
) -> Result<()> {
    let rank = dist.rank();
    let open = || open_run(args, given.clone(), device, run_dir);
    let mut trainer = Trainer::open_ranked(run_dir, device, dist, given.as_ref(), open)?;
    force_dtype(&mut trainer, args)?;
    if rank == 0 {
        train_with_progress(&mut trainer, args.stop_after)?;
        eprintln!("model: {}", trainer.run_dir.join(trm_train::train::MODEL_FILE).display());
    } else {
        trainer.run(args.stop_after, |_| {})?;
    }
    Ok(())
}

/// This process as one rank of a run with one process per GPU (NCCL).
#[cfg(feature = "nccl")]
fn train_process_rank(args: &Args, given: Option<RunConfig>, init_file: &Path) -> Result<()> {
    let place = trm_train::nccl::ProcessRank::resolve(args.rank, args.world_size)?;
    ensure!(args.out.is_some() || args.resume.is_some(), "with one process per GPU, name the run folder (--out DIR or --resume DIR): every rank opens the same one");
    let device = match args.device.as_str() {
        "cuda" => super::device(&format!("cuda:{}", place.gpu))?,
        other => super::device(other)?,
    };
    let dist = trm_train::nccl::Nccl::connect(
        &device,
        place.rank,
        place.world_size,
        init_file,
        std::time::Duration::from_secs(600),
    )?;
    train_rank(args, given, &run_folder(args), &device, Box::new(dist))
}

#[cfg(not(feature = "nccl"))]
fn train_process_rank(_: &Args, _: Option<RunConfig>, _: &Path) -> Result<()> {
    anyhow::bail!("--dist-init (one process per GPU) needs a build with --features nccl; for ranks as threads of this process give --world-size N without --dist-init")
}

/// The configuration named on the command line (preset or file, then --set, --data).
fn choice(args: &Args) -> ConfigChoice<'_> {
    ConfigChoice {
        preset: args.preset.as_deref(),
        file: args.config.as_deref(),
        data: args.data.as_deref(),
        overrides: &args.overrides,
        resuming: args.resume.is_some(),
    }
}

/// Runs the trainer with a progress bar on a terminal (plain lines at evaluations otherwise).
pub fn train_with_progress(trainer: &mut Trainer, stop_after: Option<u64>) -> Result<()> {
    let tty = std::io::stderr().is_terminal();
    let bar = ProgressBar::new(0);
    bar.set_draw_target(if tty {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    bar.set_style(
        ProgressStyle::with_template("{spinner} step {pos}/{len} [{bar:30}] {msg} eta {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    trainer.run(stop_after, |event| {
        let text = event.message();
        match event {
            Event::Started { total_steps, start_step, .. } => {
                bar.set_length(total_steps);
                bar.set_position(start_step);
                bar.reset_eta();
                bar.println(text);
            }
            Event::Step(m) => {
                bar.set_position(m.step);
                bar.set_message(text);
            }
            Event::EvalProgress { .. } => bar.set_message(text),
            Event::Eval(_) | Event::Checkpoint(_) if tty => bar.println(text),
            Event::Eval(_) => eprintln!("{text}"),
            Event::Checkpoint(_) => {}
        }
    })?;
    bar.finish_and_clear();
    Ok(())
}
