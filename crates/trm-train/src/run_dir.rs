//! A run folder written by `trm train`, opened for use: its configuration, its model, its
//! dataset. Every command that takes `--model RUN` opens the folder here.
//!
//! ```text
//! RUN/config.toml         the resolved configuration (CONFIG_FILE)
//! RUN/model.safetensors   the EMA weights of the last evaluation (MODEL_FILE)
//! RUN/metrics.jsonl       one JSON object per logged step and evaluation (METRICS_FILE)
//! RUN/checkpoints/        step-N.safetensors, the newest kept for --resume (CHECKPOINT_DIR)
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
    pub path: PathBuf,
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
