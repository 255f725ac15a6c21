//! Starting a new run from trained weights (`trm train --init-from`), e.g. fine-tuning on a
//! new dataset.
//!
//! The weights may come from a run folder (its `model.safetensors`), a checkpoint of
//! `trm train` (`checkpoints/step_N.safetensors`: its EMA weights when it has them, as the
//! official trainer saves the EMA copy, else the live ones), or any file
//! [`Model::load_file`] reads (safetensors with official names, an official PyTorch
//! checkpoint). A puzzle-embedding table with another number of rows than the new dataset
//! has identifiers is replaced by its mean row broadcast to the new size, as the official
//! loader does (design 6.1); any other difference of shape is an error.

use crate::checkpoint::Checkpoint;
use crate::config::RunConfig;
use crate::train::MODEL_FILE;
use anyhow::{Context, Result};
use candle_core::{Device, Tensor};
use serde::Serialize;
use std::path::{Path, PathBuf};
use trm_model::weights::official_key;
use trm_model::{names, read_state_file, LoadOptions, Model, PuzzleRowsPolicy};

/// Name of the note a run started from other weights keeps in its folder.
pub const INIT_FILE: &str = "init.json";

/// What [`load_into`] did, for the user and for `init.json`.
#[derive(Debug, Clone, Serialize)]
pub struct InitReport {
    /// The file the weights were read from.
    pub source: PathBuf,
    /// What changed on the way (a puzzle table reset to its mean row).
    pub notes: Vec<String>,
    /// Tensors of the file this model has no use for.
    pub unexpected: Vec<String>,
}

/// The weights file `path` names: the file itself, or a run folder's `model.safetensors`.
pub fn weights_file(path: &Path) -> Result<PathBuf> {
    if !path.is_dir() {
        anyhow::ensure!(
            path.exists(),
            "--init-from {}: no such file or run folder",
            path.display()
        );
        return Ok(path.to_path_buf());
    }
    let model = path.join(MODEL_FILE);
    anyhow::ensure!(
        model.is_file(),
        "--init-from {}: a folder without {MODEL_FILE} (a run writes it at its first evaluation); give a run folder that has one, or a checkpoint file from its checkpoints/",
        path.display()
    );
    Ok(model)
}

/// Every tensor of `file` under its official name. Checkpoints of `trm train` are
/// translated: `ema.X` (or `param.X`) -> `X`, `buffer.puzzle_emb.weights` -> the table, and
/// `H_init` / `L_init`, which never change during training, are drawn again from the
/// checkpoint's own configuration and seed.
pub fn read_weights(file: &Path) -> Result<Vec<(String, Tensor)>> {
    let tensors = read_state_file(file)?;
    if !tensors.iter().any(|(k, _)| k.starts_with("param.")) {
        return Ok(tensors);
    }
    let ck = Checkpoint::load(file, &Device::Cpu)?;
    let saved = ck.state["config"]
        .as_str()
        .with_context(|| format!("{}: checkpoint state has no config", file.display()))?;
    let saved = RunConfig::from_toml(saved)
        .with_context(|| format!("{}: the configuration inside the checkpoint", file.display()))?;
    let prefix = if ck.tensors.keys().any(|k| k.starts_with("ema.")) { "ema." } else { "param." };
    let mut out: Vec<(String, Tensor)> = ck
        .tensors
        .iter()
        .filter_map(|(k, t)| Some((k.strip_prefix(prefix)?.to_string(), t.clone())))
        .collect();
    if let Some(table) = ck.tensors.get("buffer.puzzle_emb.weights") {
        out.push((names::PUZZLE_EMB.to_string(), table.clone()));
    }
    let fresh = Model::new(saved.arch, &Device::Cpu, saved.train.seed)?;
    out.push((names::H_INIT.to_string(), fresh.h_init().clone()));
    out.push((names::L_INIT.to_string(), fresh.l_init().clone()));
    Ok(out)
}

/// Loads the weights `path` names into `model` (see the module doc). Errors name the file,
/// the tensor, both shapes and the fix.
pub fn load_into(model: &mut Model, path: &Path) -> Result<InitReport> {
    let file = weights_file(path)?;
    let tensors = read_weights(&file)?;
    let old_rows = tensors
        .iter()
        .find(|(k, _)| official_key(k) == names::PUZZLE_EMB)
        .and_then(|(_, t)| t.dims().first().copied());
    let cfg = model.config().clone();
    let opts = LoadOptions { puzzle_rows: PuzzleRowsPolicy::MeanReset, key_prefix: None };
    let report = model.load_state(tensors, &opts).with_context(|| {
        format!(
            "--init-from {}: these weights do not fit this run's model (vocab_size {}, seq_len {}, hidden_size {}). Fine-tuning keeps the architecture: \
             use the [arch] settings of the run that wrote them (its config.toml) and a dataset with the same vocabulary{}; only the number of puzzle identifiers may differ",
            file.display(),
            cfg.vocab_size,
            cfg.seq_len,
            cfg.hidden_size,
            if cfg.mlp_t { " and the same seq_len (mlp_t mixes a fixed number of positions)" } else { "" }
        )
    })?;
    let mut notes = Vec::new();
    if let Some(rows) =
        old_rows.filter(|&r| model.puzzle_table().is_some() && r != cfg.num_puzzle_identifiers)
    {
        notes.push(format!(
            "the puzzle-embedding table of {} has {rows} rows but this dataset has {} puzzle identifiers: it was resized with every row set to the mean of the old rows (official fine-tuning behaviour)",
            file.display(),
            cfg.num_puzzle_identifiers
        ));
    }
    Ok(InitReport { source: file, notes, unexpected: report.unexpected })
}

impl InitReport {
    /// What `trm train --init-from` tells the user, a line each: where the weights came from,
    /// the notes, and the tensors not used.
    pub fn summary(&self) -> String {
        let mut out = format!("initialised from {}\n", self.source.display());
        for note in &self.notes {
            out += &format!("note: {note}\n");
        }
        if !self.unexpected.is_empty() {
            let (n, names) = (self.unexpected.len(), self.unexpected.join(", "));
            out += &format!("note: {n} tensors were not used: {names}\n");
        }
        out
    }

    /// Writes [`INIT_FILE`] into the run folder.
    pub fn write(&self, run_dir: &Path) -> Result<()> {
        crate::checkpoint::write_atomically(
            &run_dir.join(INIT_FILE),
            serde_json::to_string_pretty(self)?.as_bytes(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_says_where_the_weights_came_from_and_what_was_left() {
        let mut report = InitReport {
            source: PathBuf::from("runs/s9/model.safetensors"),
            notes: vec!["the table was resized".into()],
            unexpected: Vec::new(),
        };
        assert_eq!(
            report.summary(),
            "initialised from runs/s9/model.safetensors\nnote: the table was resized\n"
        );
        report.unexpected = vec!["a".into(), "b".into()];
        assert!(report.summary().ends_with("\nnote: 2 tensors were not used: a, b\n"));
    }
}
