//! Weights I/O with the official names (design 6): safetensors in and out, official
//! PyTorch checkpoints (`torch.save` zip of the state dict, keys prefixed with
//! `_orig_mod.model.inner.` or `model.inner.`, bf16 `H_init` / `L_init`) in.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor};

use crate::config::ModelConfig;
use crate::model::{names, tensor_specs, Model};

/// What to do when a checkpoint's puzzle table has a different number of rows than the
/// config's `num_puzzle_identifiers`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PuzzleRowsPolicy {
    /// Refuse (default): the identifiers would not match the dataset.
    #[default]
    Error,
    /// Official fine-tuning behaviour: every row becomes the mean row of the checkpoint.
    MeanReset,
}

/// Options of [`Model::from_file`] / [`Model::load_state`].
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// What to do when the checkpoint's puzzle table has another number of rows.
    pub puzzle_rows: PuzzleRowsPolicy,
    /// Read only the keys that start with this prefix (stripped), e.g. `weights.` in the
    /// reference vectors; other keys are skipped silently.
    pub key_prefix: Option<String>,
}

/// What loading found besides the expected tensors.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Keys (after prefix stripping) that the model does not have; they were ignored.
    pub unexpected: Vec<String>,
    /// Messages worth printing (e.g. a puzzle-table reset).
    pub notes: Vec<String>,
}

/// Strips the prefixes the official trainer writes: `_orig_mod.` (torch.compile) and
/// `model.inner.` (ACTLossHead -> ACT wrapper -> inner model).
pub fn official_key(key: &str) -> &str {
    let k = key.strip_prefix("_orig_mod.").unwrap_or(key);
    k.strip_prefix("model.inner.").unwrap_or(k)
}

/// Reads every tensor of a safetensors file or a PyTorch zip checkpoint (by content), on the CPU.
pub fn read_state_file(path: &Path) -> Result<Vec<(String, Tensor)>> {
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .with_context(|| format!("reading {}", path.display()))?;
    if &magic == b"PK\x03\x04" {
        candle_core::pickle::read_all(path).with_context(|| {
            format!(
                "reading PyTorch checkpoint {} (torch.save zip of a state dict)",
                path.display()
            )
        })
    } else {
        let map = candle_core::safetensors::load(path, &Device::Cpu).with_context(|| {
            format!(
                "reading {}: neither a safetensors file nor a PyTorch zip checkpoint",
                path.display()
            )
        })?;
        Ok(map.into_iter().collect())
    }
}

/// Checks `tensors` against the config's state dict and returns the tensors by official
/// name (f32, on `device`). Missing keys and wrong shapes are errors naming the key and both
/// shapes; unexpected keys are reported.
pub(crate) fn resolve_state(
    cfg: &ModelConfig,
    device: &Device,
    tensors: Vec<(String, Tensor)>,
    opts: &LoadOptions,
) -> Result<(HashMap<String, Tensor>, LoadReport)> {
    let mut by_name: HashMap<String, (String, Tensor)> = HashMap::new();
    for (key, t) in tensors {
        let key_after_prefix = match &opts.key_prefix {
            Some(p) => match key.strip_prefix(p.as_str()) {
                Some(k) => k.to_string(),
                None => continue,
            },
            None => key.clone(),
        };
        let name = official_key(&key_after_prefix).to_string();
        if let Some((other, _)) = by_name.get(&name) {
            bail!("keys {other:?} and {key:?} both name tensor {name}");
        }
        by_name.insert(name, (key, t));
    }
    let mut report = LoadReport::default();
    let mut state = HashMap::new();
    let specs = tensor_specs(cfg);
    let expected: HashSet<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    for spec in &specs {
        let Some((key, t)) = by_name.get(&spec.name) else {
            bail!("missing tensor {} (expected shape {:?})", spec.name, spec.shape);
        };
        let mut t = t.to_dtype(DType::F32)?;
        if t.dims() != spec.shape.as_slice() {
            let rows_only =
                spec.name == names::PUZZLE_EMB && t.rank() == 2 && t.dim(1)? == spec.shape[1];
            match (rows_only, opts.puzzle_rows) {
                (true, PuzzleRowsPolicy::MeanReset) => {
                    report.notes.push(format!(
                        "puzzle embedding reset to the mean row: checkpoint has {} rows, config has {} puzzle identifiers",
                        t.dim(0)?,
                        spec.shape[0]
                    ));
                    t = t.mean_keepdim(0)?.broadcast_as(spec.shape.as_slice())?.contiguous()?;
                }
                (true, PuzzleRowsPolicy::Error) => bail!(
                    "tensor {key}: puzzle table has {} rows but the config has num_puzzle_identifiers = {} (expected shape {:?}, found {:?}); \
                     build the dataset with the same identifiers, or load with PuzzleRowsPolicy::MeanReset to fine-tune on new puzzles",
                    t.dim(0)?,
                    spec.shape[0],
                    spec.shape,
                    t.dims()
                ),
                (false, _) => bail!("tensor {key}: expected shape {:?}, found {:?}", spec.shape, t.dims()),
            }
        }
        state.insert(spec.name.clone(), t.to_device(device)?.contiguous()?);
    }
    let mut unexpected: Vec<String> = by_name
        .into_iter()
        .filter(|(n, _)| !expected.contains(n.as_str()))
        .map(|(_, (k, _))| k)
        .collect();
    unexpected.sort();
    report.unexpected = unexpected;
    Ok((state, report))
}

impl Model {
    /// A model built from a complete state (official names, any float dtype).
    pub fn from_state(
        cfg: ModelConfig,
        device: &Device,
        tensors: Vec<(String, Tensor)>,
        opts: &LoadOptions,
    ) -> Result<(Self, LoadReport)> {
        cfg.validate()?;
        let (state, report) = resolve_state(&cfg, device, tensors, opts)?;
        Ok((Self::assemble(cfg, device, state)?, report))
    }

    /// A model built from a safetensors file or an official PyTorch checkpoint.
    pub fn from_file(
        cfg: ModelConfig,
        device: &Device,
        path: &Path,
        opts: &LoadOptions,
    ) -> Result<(Self, LoadReport)> {
        let tensors = read_state_file(path)?;
        Self::from_state(cfg, device, tensors, opts)
            .with_context(|| format!("loading weights from {}", path.display()))
    }

    /// Replaces every weight and buffer in place (`Var::set`, so handles held by an
    /// optimizer stay valid). Nothing changes when an error is returned.
    pub fn load_state(
        &mut self,
        tensors: Vec<(String, Tensor)>,
        opts: &LoadOptions,
    ) -> Result<LoadReport> {
        let (mut state, report) = resolve_state(self.config(), self.device(), tensors, opts)?;
        for (name, var) in self.trainable() {
            var.set(&state[name])?;
        }
        if let Some(table) = self.puzzle_table() {
            table.set(&state[names::PUZZLE_EMB])?;
        }
        let h = state.remove(names::H_INIT).context("internal: H_init")?;
        let l = state.remove(names::L_INIT).context("internal: L_init")?;
        self.set_buffers(h, l)?;
        Ok(report)
    }

    /// [`Self::load_state`] from a file.
    pub fn load_file(&mut self, path: &Path, opts: &LoadOptions) -> Result<LoadReport> {
        let tensors = read_state_file(path)?;
        self.load_state(tensors, opts)
            .with_context(|| format!("loading weights from {}", path.display()))
    }

    /// Every persistent tensor under its official name (unprefixed), official order.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        tensor_specs(self.config())
            .into_iter()
            .map(|spec| {
                let t = match spec.name.as_str() {
                    names::H_INIT => self.h_init().clone(),
                    names::L_INIT => self.l_init().clone(),
                    names::PUZZLE_EMB => self
                        .puzzle_table()
                        .expect("puzzle table exists when specified")
                        .as_detached_tensor(),
                    n => {
                        self.param(n).expect("every parameter spec has a Var").as_detached_tensor()
                    }
                };
                (spec.name, t)
            })
            .collect()
    }

    /// Writes [`Self::state`] as safetensors (f32, official names), atomically.
    pub fn save_safetensors(&self, path: &Path) -> Result<()> {
        // Written beside the target, fsynced, then renamed over it: a reader (or a crash)
        // sees the old file or the new one, never half of one.
        let map: HashMap<String, Tensor> = self.state().into_iter().collect();
        trm_data::atomic::write_file_with(path, |tmp| {
            Ok(candle_core::safetensors::save(&map, tmp)?)
        })
    }
}
