//! A run folder written by `trm train`, opened for use: its configuration, its model, its
//! dataset. Every command that takes `--model RUN` opens the folder here, and the trainer
//! opens it here to resume: [`RunDir::load_model`], [`RunDir::load_for_eval`] (sized for a
//! test split), [`RunDir::load_arc_model`] (with the dataset's puzzle names), and the checks
//! that a new puzzle fits the run's model ([`RunDir::check_sudoku_fits`],
//! [`RunDir::check_maze_fits`]). Weights outside a run folder load with
//! [`read_model_config`] and [`load_weights_for_eval`].
//!
//! ```text
//! RUN/config.toml         the resolved configuration (CONFIG_FILE)
//! RUN/model.safetensors   the EMA weights of the last evaluation (MODEL_FILE)
//! RUN/metrics.jsonl       one JSON object per logged step and evaluation (METRICS_FILE)
//! RUN/checkpoints/        step_N.safetensors, the last two kept for --resume (CHECKPOINT_DIR)
//! RUN/.lock               held while a process trains in the folder (LOCK_FILE)
//! RUN/data/               the generated dataset, unless [data] path names another folder
//! ```

use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use candle_core::Device;
use trm_data::arc::encode::{Canvas, VOCAB_SIZE as ARC_VOCAB_SIZE};
use trm_data::dataset::{Dataset, Metadata, Split, IDENTIFIERS_FILE};
use trm_data::maze::VOCAB_SIZE as MAZE_VOCAB_SIZE;
use trm_data::sudoku::tokens;
use trm_model::{LoadOptions, Model, ModelConfig};

use crate::config::RunConfig;
use crate::solve::arc::ArcModel;
use crate::train::{data_dir, CONFIG_FILE, MODEL_FILE};

/// An existing run folder and its configuration.
pub struct RunDir {
    /// The run folder.
    pub path: PathBuf,
    /// The run's configuration, read from its `config.toml`.
    pub config: RunConfig,
}

impl RunDir {
    /// Opens `path`, reading its `config.toml`.
    pub fn open(path: &Path) -> Result<RunDir> {
        let config = RunConfig::from_file(&path.join(CONFIG_FILE))
            .with_context(|| format!("{} is not a run folder of `trm train`", path.display()))?;
        Ok(RunDir { path: path.to_path_buf(), config })
    }

    /// The model weights; an error saying why when there are none yet.
    pub fn weights(&self) -> Result<PathBuf> {
        let weights = self.path.join(MODEL_FILE);
        ensure!(
            weights.exists(),
            "{}: no model yet (it is written at the first evaluation); wait for it or resume the run",
            weights.display()
        );
        Ok(weights)
    }

    /// The folder of the dataset the run trained on.
    pub fn data_dir(&self) -> PathBuf {
        data_dir(&self.config, &self.path)
    }

    /// The metadata of the run's dataset (test split, else train split).
    pub fn dataset_metadata(&self) -> Result<Metadata> {
        Metadata::of_dataset(&self.data_dir()).context(
            "the run's dataset gives the model's vocabulary, sequence length and puzzle identifiers",
        )
    }

    /// The model configuration, with the sizes the run's dataset gave it when the
    /// configuration leaves them open.
    pub fn model_config(&self) -> Result<ModelConfig> {
        let arch = &self.config.arch;
        if arch.seq_len > 0 && arch.vocab_size > 0 {
            return Ok(arch.clone());
        }
        let meta = self.dataset_metadata()?;
        Ok(arch.clone().with_dataset(
            meta.vocab_size as usize,
            meta.seq_len,
            meta.num_puzzle_identifiers as usize,
        ))
    }

    /// The run's model on `device`.
    pub fn load_model(&self, device: &Device) -> Result<Model> {
        let weights = self.weights()?;
        let (model, _) =
            Model::from_file(self.model_config()?, device, &weights, &LoadOptions::default())
                .with_context(|| format!("loading {}", weights.display()))?;
        Ok(model)
    }

    /// Refuses a dataset whose sizes differ from those the run trained on, in words.
    pub fn check_dataset_fits(&self, data: &Path, meta: &Metadata) -> Result<()> {
        let Ok(trained) = self.dataset_metadata() else { return Ok(()) };
        let same = |m: &Metadata| (m.seq_len, m.vocab_size, m.num_puzzle_identifiers);
        if same(&trained) != same(meta) {
            bail!(
                "{} holds {}, but the model of {} was trained on {}; evaluate it on a dataset built \
                 like its training data (same task and size)",
                data.display(),
                meta.describe_sizes(),
                self.path.display(),
                trained.describe_sizes()
            );
        }
        Ok(())
    }

    /// The run's model sized for the test split of `data` (the run's own dataset when `None`),
    /// for evaluation; a dataset of other sizes than the run trained on is refused.
    pub fn load_for_eval(&self, data: Option<&Path>, device: &Device) -> Result<EvalModel> {
        let weights = self.weights()?;
        let data = data.map_or_else(|| self.data_dir(), Path::to_path_buf);
        let mut loaded =
            load_eval_model(self.config.arch.clone(), &weights, data, Some(self), device)?;
        loaded.eval_steps = self.config.train.eval_steps();
        Ok(loaded)
    }

    /// The run's ARC model with the puzzle names of its dataset (`identifiers.json`; without
    /// it every task is new, said in a note) and its canvas (the square root of `seq_len`).
    pub fn load_arc_model(&self, device: &Device) -> Result<ArcModel> {
        let weights = self.weights()?;
        let data = self.data_dir();
        let arch = self.model_config()?;
        let not_arc = || {
            format!(
                "{}: not an ARC model (train one on a `trm data arc` dataset)",
                self.path.display()
            )
        };
        ensure!(
            arch.vocab_size == ARC_VOCAB_SIZE as usize,
            "{}: vocab_size {}, not {ARC_VOCAB_SIZE}",
            not_arc(),
            arch.vocab_size
        );
        let canvas = Canvas::from_seq_len(arch.seq_len).with_context(not_arc)?;
        let id_path = data.join(IDENTIFIERS_FILE);
        let mut notes = Vec::new();
        let identifiers: Vec<String> = match std::fs::read_to_string(&id_path) {
            Ok(text) => serde_json::from_str(&text)
                .with_context(|| format!("{}: expected a JSON list of names", id_path.display()))?,
            Err(_) => {
                notes.push(format!(
                    "{} is missing; every task is treated as new (blank identifier)",
                    id_path.display()
                ));
                Vec::new()
            }
        };
        if !identifiers.is_empty() && identifiers.len() != arch.num_puzzle_identifiers {
            bail!(
                "{}: {} names but the model has {} puzzle identifiers; the run's dataset was replaced",
                id_path.display(),
                identifiers.len(),
                arch.num_puzzle_identifiers
            );
        }
        let (model, _) = Model::from_file(arch, device, &weights, &LoadOptions::default())
            .with_context(|| format!("loading {}", weights.display()))?;
        Ok(ArcModel { model, identifiers, canvas, notes })
    }

    /// Refuses an `n x n` Sudoku (`name` in the error) that `model`, the run's model, was not
    /// trained on, and a model with one puzzle identifier per training puzzle.
    pub fn check_sudoku_fits(&self, model: &ModelConfig, n: usize, name: &str) -> Result<()> {
        let (vocab, seq) = (tokens::vocab_size(n) as usize, n * n);
        if model.vocab_size != vocab || model.seq_len != seq {
            let what = match (model.seq_len, model.vocab_size) {
                (16, 6) => "a 4x4 Sudoku model".to_string(),
                (81, 11) => "a 9x9 Sudoku model".to_string(),
                _ => "not a Sudoku model".to_string(),
            };
            bail!(
                "{name}: a {n}x{n} Sudoku needs a model with seq_len {seq} and vocab_size {vocab}, but {} has seq_len {} and vocab_size {} ({what}); use a run trained on {n}x{n} Sudoku",
                self.path.display(),
                model.seq_len,
                model.vocab_size
            );
        }
        self.check_one_identifier(model, "a Sudoku model has one, used for every puzzle")
    }

    /// Refuses a `rows x cols` maze (`name` in the error) of another size than `model`, the
    /// run's model, was trained on, and a model with one puzzle identifier per training maze.
    pub fn check_maze_fits(
        &self,
        model: &ModelConfig,
        (rows, cols): (usize, usize),
        name: &str,
    ) -> Result<()> {
        let side = (model.seq_len as f64).sqrt().round() as usize;
        if model.vocab_size != MAZE_VOCAB_SIZE || rows != cols || rows * cols != model.seq_len {
            let what = if model.vocab_size == MAZE_VOCAB_SIZE && side * side == model.seq_len {
                format!("a {side}x{side} maze model")
            } else {
                "not a maze model".to_string()
            };
            bail!(
                "{name}: a {rows}x{cols} maze needs a model trained on {rows}x{cols} mazes (seq_len {}, vocab_size {MAZE_VOCAB_SIZE}; maze models are square), but {} has seq_len {} and vocab_size {} ({what})",
                rows * cols,
                self.path.display(),
                model.seq_len,
                model.vocab_size
            );
        }
        self.check_one_identifier(model, "a maze model has one, used for every maze")
    }

    /// Refuses a model whose puzzle embedding has one row per training puzzle (no row to use
    /// for a new puzzle); `what` says what the task's models have instead.
    fn check_one_identifier(&self, model: &ModelConfig, what: &str) -> Result<()> {
        if model.puzzle_emb_ndim > 0 && model.num_puzzle_identifiers != 1 {
            bail!(
                "{}: the model has {} puzzle identifiers (one per training puzzle, as for ARC); {what}",
                self.path.display(),
                model.num_puzzle_identifiers
            );
        }
        Ok(())
    }
}

/// A model loaded for evaluation, sized for the test split it is evaluated on.
pub struct EvalModel {
    /// The model.
    pub model: Model,
    /// The test split.
    pub test: Split,
    /// The dataset folder the split came from.
    pub data: PathBuf,
    /// The run's evaluation steps (`[train] eval_max_steps`) when it sets them.
    pub eval_steps: Option<usize>,
    /// What loading found that the user may want to know (tensors of the weights that the
    /// model does not use).
    pub notes: Vec<String>,
}

/// Weights outside a run folder (safetensors or an official PyTorch checkpoint) for the model
/// configuration `arch` ([`read_model_config`]), sized for the test split of the dataset
/// `data`, for evaluation.
pub fn load_weights_for_eval(
    arch: ModelConfig,
    weights: &Path,
    data: &Path,
    device: &Device,
) -> Result<EvalModel> {
    load_eval_model(arch, weights, data.to_path_buf(), None, device)
}

/// `arch` sized for the test split of `data` with `weights` loaded; the dataset is checked
/// against the one `run` trained on.
fn load_eval_model(
    arch: ModelConfig,
    weights: &Path,
    data: PathBuf,
    run: Option<&RunDir>,
    device: &Device,
) -> Result<EvalModel> {
    let dataset = Dataset::load(&data)?;
    let test = dataset
        .test
        .with_context(|| format!("{}: the dataset has no test split", data.display()))?;
    let m = &test.meta;
    if let Some(run) = run {
        run.check_dataset_fits(&data, m)?;
    }
    let fixed = (arch.seq_len, arch.vocab_size);
    if fixed.0 > 0 && fixed.1 > 0 && fixed != (m.seq_len, m.vocab_size as usize) {
        bail!(
            "{} holds {}, but the model's configuration is for sequences of {} tokens with {} \
             token values; evaluate it on a dataset built like its training data (same task \
             and size)",
            data.display(),
            m.describe_sizes(),
            fixed.0,
            fixed.1
        );
    }
    let arch =
        arch.with_dataset(m.vocab_size as usize, m.seq_len, m.num_puzzle_identifiers as usize);
    let (model, report) = Model::from_file(arch, device, weights, &LoadOptions::default())
        .with_context(|| {
            format!(
                "loading {} into a model sized for {} ({}): weights of another shape come from \
                 a model trained on another task, size or set of puzzles; evaluate it on a \
                 dataset built like its training data",
                weights.display(),
                data.display(),
                m.describe_sizes()
            )
        })?;
    let mut notes = Vec::new();
    if !report.unexpected.is_empty() {
        notes.push(format!(
            "{} tensors of {} were not used: {}",
            report.unexpected.len(),
            weights.display(),
            report.unexpected.join(", ")
        ));
    }
    Ok(EvalModel { model, test, data, eval_steps: None, notes })
}

/// A model configuration from a file: our run configuration or model configuration (TOML),
/// or an official configuration (JSON), with the keys of an official one that the model does
/// not use.
pub fn read_model_config(path: &Path) -> Result<(ModelConfig, Vec<String>)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if path.extension().is_some_and(|e| e == "json") {
        return ModelConfig::from_official_json(&text)
            .with_context(|| format!("config {}", path.display()));
    }
    match RunConfig::from_toml(&text) {
        Ok(run) => Ok((run.arch, Vec::new())),
        Err(_) => {
            ModelConfig::from_toml_str(&text).map(|cfg| (cfg, Vec::new())).with_context(|| {
                format!("config {}: neither a run config nor a model config", path.display())
            })
        }
    }
}

/// The lock file of a run folder, held while a process trains in it.
pub const LOCK_FILE: &str = ".lock";

/// A run folder locked for training: a second process that tries to train in it is refused,
/// naming the process that holds it. The lock is an advisory `flock` on `RUN/.lock`, so the
/// operating system releases it when the process ends, killed or not; the file keeps the
/// holder's process id for the message. (On systems without `flock` nothing is locked.)
pub struct RunLock {
    _file: std::fs::File,
}

impl RunLock {
    /// Locks `run_dir` (which must exist) for this process.
    pub fn acquire(run_dir: &Path) -> Result<RunLock> {
        use std::io::{Read, Seek, Write};
        let path = run_dir.join(LOCK_FILE);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("opening the lock file {}", path.display()))?;
        if !try_lock(&file)? {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let who =
                if holder.is_empty() { "another process".to_string() } else { holder.to_string() };
            bail!(
                "{}: {who} is training in this run folder; wait for it to end or stop it (two \
                 processes would interleave its checkpoints and metrics)",
                run_dir.display()
            );
        }
        file.set_len(0)?;
        file.rewind()?;
        writeln!(file, "process {} ({})", std::process::id(), command_line())?;
        file.sync_all()?;
        Ok(RunLock { _file: file })
    }
}

fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

/// Takes an exclusive `flock` without waiting: false when another process holds it.
#[cfg(unix)]
fn try_lock(file: &std::fs::File) -> Result<bool> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on a file descriptor this function borrows for the call; it touches no
    // memory of ours.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(err).context("locking the run folder")
    }
}

#[cfg(not(unix))]
fn try_lock(_file: &std::fs::File) -> Result<bool> {
    Ok(true)
}

/// Where a new run named `name` goes when no folder is given: `runs/<name>-<unix time>`.
pub fn default_run_dir(name: &str) -> PathBuf {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Path::new("runs").join(format!("{name}-{secs}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_default_run_dir_is_named_and_timed() {
        let dir = default_run_dir("sudoku4");
        assert_eq!(dir.parent(), Some(Path::new("runs")));
        let name = dir.file_name().unwrap().to_str().unwrap();
        let secs = name.strip_prefix("sudoku4-").unwrap();
        assert!(secs.parse::<u64>().unwrap() > 1_600_000_000, "{name}");
    }
}
