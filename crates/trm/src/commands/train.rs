//! `trm train`: train a model from a preset or a config file, or resume a run.

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use trm_train::config::{RunConfig, PRESETS};
use trm_train::train::{Event, Trainer};

#[derive(clap::Args)]
#[command(after_help = "Presets: sudoku4 (4x4 Sudoku, generates its own data, minutes on a CPU), sudoku9-cpu (9x9 on a CPU, about an hour), and the official recipes sudoku-mlp, sudoku-att, maze-att, arc1, arc2, hrm-sudoku, hrm-maze, hrm-arc1 (GPU-sized; need --data).

Examples:
  trm train --preset sudoku4 --out runs/s4
  trm train --preset sudoku-mlp --data data/sudoku-extreme-1k-aug-1000 --set global_batch_size=256
  trm train --resume runs/s4")]
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
    /// Stop after this many optimizer steps (the run can be resumed later).
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
}

pub fn run(args: Args) -> Result<()> {
    let device = super::device(&args.device)?;
    let given = resolve_config(&args)?;
    if args.print_config {
        let cfg = given.context("--print-config needs --preset or --config")?;
        print!("{}", cfg.to_toml()?);
        return Ok(());
    }
    let mut trainer = match &args.resume {
        Some(run) => {
            let t = Trainer::resume(run, given.as_ref(), args.force, &device)?;
            eprintln!("resuming {} at step {} of {}", run.display(), t.step(), t.total_steps());
            t
        }
        None => {
            let cfg = given.context("give --preset NAME or --config FILE (or --resume RUN)")?;
            let out = match &args.out {
                Some(o) => o.clone(),
                None => default_run_dir(args.preset.as_deref().or(args.config.as_deref().and_then(|p| p.file_stem()?.to_str())).unwrap_or("run")),
            };
            eprintln!("run folder: {}", out.display());
            let (trainer, init) = Trainer::create_with_init(cfg, &out, &device, args.init_from.as_deref())?;
            if let Some(init) = init {
                eprintln!("initialised from {}", init.source.display());
                for note in init.notes {
                    eprintln!("note: {note}");
                }
                if !init.unexpected.is_empty() {
                    eprintln!("note: {} tensors were not used: {}", init.unexpected.len(), init.unexpected.join(", "));
                }
            }
            trainer
        }
    };
    train_with_progress(&mut trainer, args.stop_after)?;
    eprintln!("model: {}", trainer.run_dir.join(trm_train::train::MODEL_FILE).display());
    Ok(())
}

/// The configuration given on the command line, if any (preset or file, then --data, --set).
fn resolve_config(args: &Args) -> Result<Option<RunConfig>> {
    let base = match (&args.preset, &args.config) {
        (Some(p), _) => RunConfig::preset(p)?,
        (None, Some(path)) => RunConfig::from_file(path)?,
        (None, None) => {
            if !args.overrides.is_empty() || args.data.is_some() {
                if args.resume.is_some() {
                    bail!("with --resume, --set and --data need --preset or --config too (the full configuration to compare with the run's)");
                }
                bail!("--set and --data need --preset NAME or --config FILE; presets: {}", PRESETS.join(", "));
            }
            return Ok(None);
        }
    };
    let mut cfg = base.apply_overrides(&args.overrides)?;
    if let Some(d) = &args.data {
        cfg.data.path = d.clone();
        cfg.data.generate = None;
    }
    cfg.validate()?;
    Ok(Some(cfg))
}

fn default_run_dir(name: &str) -> PathBuf {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    Path::new("runs").join(format!("{name}-{secs}"))
}

/// Runs the trainer with a progress bar on a terminal (plain lines at evaluations otherwise).
pub fn train_with_progress(trainer: &mut Trainer, stop_after: Option<u64>) -> Result<()> {
    let tty = std::io::stderr().is_terminal();
    let bar = ProgressBar::new(0);
    bar.set_draw_target(if tty { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() });
    bar.set_style(
        ProgressStyle::with_template("{spinner} step {pos}/{len} [{bar:30}] {msg} eta {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    trainer.run(stop_after, |event| match event {
        Event::Started { total_steps, start_step, num_params, train_examples, test_examples } => {
            bar.set_length(total_steps);
            bar.set_position(start_step);
            bar.reset_eta();
            bar.println(format!("{num_params} parameters; {train_examples} training examples, {test_examples} test examples; {total_steps} steps"));
        }
        Event::Step(m) => {
            bar.set_position(m.step);
            bar.set_message(format!(
                "epoch {:.1} loss {:.4} exact {:.3} steps {:.1} {:.0} ex/s",
                m.epoch,
                m.lm_loss.unwrap_or(f64::NAN),
                m.exact_accuracy,
                m.steps,
                m.examples_per_s.unwrap_or(0.0)
            ));
        }
        Event::EvalProgress { done, total } => bar.set_message(format!("evaluating {done}/{total}")),
        Event::Eval(m) => {
            let line = format!(
                "eval at step {}: exact accuracy {:.4}, token accuracy {:.4}, q_halt accuracy {:.4} over {} examples ({:.0}s)",
                m.step, m.exact_accuracy, m.accuracy, m.q_halt_accuracy, m.count, m.elapsed_s
            );
            if tty {
                bar.println(line);
            } else {
                eprintln!("{line}");
            }
        }
        Event::Checkpoint(path) => {
            if tty {
                bar.println(format!("checkpoint {}", path.display()));
            }
        }
    })?;
    bar.finish_and_clear();
    Ok(())
}
