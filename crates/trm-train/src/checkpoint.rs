//! Checkpoint files: named tensors plus a JSON state, in one safetensors file (the JSON rides
//! in the header's `__metadata__`), written atomically: temporary file in the same folder,
//! fsync, rename, fsync of the folder. A crash or a full disk at any moment leaves either the
//! previous checkpoint or the new one, never a torn file.

use anyhow::{bail, ensure, Context, Result};
use candle_core::{Device, Tensor};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Key of the JSON state inside the safetensors metadata.
const STATE_KEY: &str = "trm_state";
/// Key of the format version inside the safetensors metadata.
const FORMAT_KEY: &str = "trm_checkpoint_format";
const FORMAT: &str = "1";

pub struct Checkpoint {
    pub tensors: BTreeMap<String, Tensor>,
    pub state: serde_json::Value,
}

impl Checkpoint {
    /// Writes the checkpoint to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut metadata = HashMap::new();
        metadata.insert(STATE_KEY.to_string(), serde_json::to_string(&self.state)?);
        metadata.insert(FORMAT_KEY.to_string(), FORMAT.to_string());
        let cpu: Vec<(String, Tensor)> = self
            .tensors
            .iter()
            .map(|(k, t)| Ok((k.clone(), t.to_device(&Device::Cpu)?.contiguous()?)))
            .collect::<Result<_>>()?;
        let bytes = safetensors::tensor::serialize(cpu.iter().map(|(k, t)| (k.as_str(), t)), Some(metadata))
            .with_context(|| format!("serialising checkpoint {}", path.display()))?;
        write_atomically(path, &bytes)
    }

    /// Reads a checkpoint, refusing truncated or foreign files with a message that says so.
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("reading checkpoint {}", path.display()))?;
        let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
            .map_err(|e| anyhow::anyhow!("checkpoint {} is truncated or corrupt ({e}); resume from an earlier checkpoint in the same folder or start again", path.display()))?;
        let meta = header.metadata().clone().unwrap_or_default();
        let Some(state) = meta.get(STATE_KEY) else {
            bail!("{} is not a trm training checkpoint (no {STATE_KEY} in its header)", path.display());
        };
        ensure!(meta.get(FORMAT_KEY).map(String::as_str) == Some(FORMAT), "{}: checkpoint format {:?}, this trm reads {FORMAT}", path.display(), meta.get(FORMAT_KEY));
        let state: serde_json::Value = serde_json::from_str(state).with_context(|| format!("checkpoint {}: state is not JSON", path.display()))?;
        let tensors = candle_core::safetensors::load_buffer(&bytes, device)
            .map_err(|e| anyhow::anyhow!("checkpoint {} is truncated or corrupt ({e}); resume from an earlier checkpoint or start again", path.display()))?;
        Ok(Self { tensors: tensors.into_iter().collect(), state })
    }

    pub fn tensor(&self, name: &str) -> Result<&Tensor> {
        self.tensors.get(name).with_context(|| format!("checkpoint has no tensor {name:?}"))
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder, fsync and rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = path.file_name().context("checkpoint path has no file name")?.to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| -> Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {} (the previous file, if any, is intact)", path.display()));
    }
    Ok(())
}

/// The checkpoints in `dir` named `step_<N>.safetensors`, sorted by step.
pub fn list(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(found) };
    for entry in entries {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        if let Some(step) = name.strip_prefix("step_").and_then(|s| s.strip_suffix(".safetensors")).and_then(|s| s.parse().ok()) {
            found.push((step, path));
        }
    }
    found.sort();
    Ok(found)
}

pub fn path_for_step(dir: &Path, step: u64) -> PathBuf {
    dir.join(format!("step_{step:08}.safetensors"))
}

/// Deletes all but the newest `keep` checkpoints.
pub fn prune(dir: &Path, keep: usize) -> Result<()> {
    let all = list(dir)?;
    for (_, path) in all.iter().take(all.len().saturating_sub(keep)) {
        std::fs::remove_file(path).with_context(|| format!("removing old checkpoint {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusal_of_damaged_files() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let mut tensors = BTreeMap::new();
        tensors.insert("a".to_string(), Tensor::new(&[1.0f32, 2.0, 3.0], &Device::Cpu)?);
        tensors.insert("b".to_string(), Tensor::new(&[[7u32, 8]], &Device::Cpu)?);
        let ck = Checkpoint { tensors, state: serde_json::json!({"step": 5, "rng": [1, 2]}) };
        let path = path_for_step(dir.path(), 5);
        ck.save(&path)?;
        let back = Checkpoint::load(&path, &Device::Cpu)?;
        assert_eq!(back.state, ck.state);
        assert_eq!(back.tensor("a")?.to_vec1::<f32>()?, vec![1.0, 2.0, 3.0]);
        assert_eq!(back.tensor("b")?.to_vec2::<u32>()?, vec![vec![7, 8]]);

        let bytes = std::fs::read(&path)?;
        let truncated = dir.path().join("step_00000006.safetensors");
        std::fs::write(&truncated, &bytes[..bytes.len() - 5])?;
        let err = Checkpoint::load(&truncated, &Device::Cpu).err().expect("truncated file refused");
        assert!(format!("{err:#}").contains("truncated or corrupt"), "{err:#}");
        let mut corrupt = bytes.clone();
        corrupt[3] ^= 0x55;
        std::fs::write(&truncated, &corrupt)?;
        assert!(Checkpoint::load(&truncated, &Device::Cpu).is_err());

        for step in [7, 8, 9] {
            ck.save(&path_for_step(dir.path(), step))?;
        }
        prune(dir.path(), 2)?;
        let steps: Vec<u64> = list(dir.path())?.into_iter().map(|(s, _)| s).collect();
        assert_eq!(steps, vec![8, 9]);
        Ok(())
    }
}
