//! A run folder written by `trm train`, opened for use: its configuration, its model, its
//! dataset. Every command that takes `--model RUN` opens the folder here.
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
use trm_data::dataset::Metadata;
use trm_model::{LoadOptions, Model, ModelConfig};

use crate::config::RunConfig;
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
