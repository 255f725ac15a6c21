//! Checkpoint files: named tensors plus a JSON state, in one safetensors file (the JSON rides
//! in the header's `__metadata__`), written atomically ([`trm_data::atomic`]: temporary file in
//! the same folder, fsync, rename, fsync of the folder). A crash or a full disk at any moment leaves either the
//! previous checkpoint or the new one, never a torn file. The header also holds a hash of the
//! content, so that a file damaged later (flipped bits, which the safetensors format cannot
//! always notice) is refused too.
//!
//! Fault injection for the crash tests (`crates/trm/tests/faults_cli.rs`), read once per
//! process and a no-op unless set:
//! - `TRM_FAULT_ABORT_IN_CHECKPOINT_WRITE=N`: the N-th checkpoint written by the process aborts
//!   the process once half of its temporary file is written (a kill in the middle of a write);
//! - `TRM_FAULT_FAIL_CHECKPOINT_WRITE=N`: the N-th checkpoint write fails at the same point with
//!   the error of a full disk.

use anyhow::{bail, ensure, Context, Result};
use candle_core::{Device, Tensor};
use safetensors::SafeTensors;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Key of the JSON state inside the safetensors metadata.
const STATE_KEY: &str = "trm_state";
/// Key of the format version inside the safetensors metadata.
const FORMAT_KEY: &str = "trm_checkpoint_format";
const FORMAT: &str = "1";
/// Key of the [`content_hash`] (hex) inside the safetensors metadata. Files without it
/// (written before it existed) are read without the check.
const HASH_KEY: &str = "trm_content_hash";

/// A training checkpoint: named tensors (weights, EMA, Adam moments, puzzle table, carry)
/// and a JSON state (step, sampler position, RNG positions, configuration).
pub struct Checkpoint {
    /// The tensors by name (`param.*`, `adam.m.*`, `adam.v.*`, `ema.*`, `buffer.*`, `carry.*`).
    pub tensors: BTreeMap<String, Tensor>,
    /// The JSON state: step, sampler position, Adam step, exploration-RNG positions, elapsed
    /// seconds and the run's configuration as TOML.
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
        let serialize = |metadata: HashMap<String, String>| {
            safetensors::tensor::serialize(cpu.iter().map(|(k, t)| (k.as_str(), t)), Some(metadata))
                .with_context(|| format!("serialising checkpoint {}", path.display()))
        };
        // The hashed content does not depend on the hash: serialise, hash, serialise with it.
        let hash = content_hash(&serialize(metadata.clone())?)?;
        metadata.insert(HASH_KEY.to_string(), format!("{hash:016x}"));
        write_file(path, &serialize(metadata)?, next_checkpoint_fault())
    }

    /// Reads a checkpoint, refusing truncated or foreign files with a message that says so.
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("reading checkpoint {}", path.display()))?;
        let (_, header) = SafeTensors::read_metadata(&bytes)
            .map_err(|e| anyhow::anyhow!("checkpoint {} is truncated or corrupt ({e}); resume from an earlier checkpoint in the same folder or start again", path.display()))?;
        let meta = header.metadata().clone().unwrap_or_default();
        let Some(state) = meta.get(STATE_KEY) else {
            bail!(
                "{} is not a trm training checkpoint (no {STATE_KEY} in its header)",
                path.display()
            );
        };
        ensure!(
            meta.get(FORMAT_KEY).map(String::as_str) == Some(FORMAT),
            "{}: checkpoint format {:?}, this trm reads {FORMAT}",
            path.display(),
            meta.get(FORMAT_KEY)
        );
        if let Some(expected) = meta.get(HASH_KEY) {
            let found = format!("{:016x}", content_hash(&bytes)?);
            ensure!(&found == expected, "checkpoint {} is corrupt: its content hashes to {found}, its header says {expected}; resume from an earlier checkpoint in the same folder or start again", path.display());
        }
        let state: serde_json::Value = serde_json::from_str(state)
            .with_context(|| format!("checkpoint {}: state is not JSON", path.display()))?;
        let tensors = candle_core::safetensors::load_buffer(&bytes, device)
            .map_err(|e| anyhow::anyhow!("checkpoint {} is truncated or corrupt ({e}); resume from an earlier checkpoint or start again", path.display()))?;
        Ok(Self { tensors: tensors.into_iter().collect(), state })
    }

    /// The tensor named `name`; an error naming it when the checkpoint has none.
    pub fn tensor(&self, name: &str) -> Result<&Tensor> {
        self.tensors.get(name).with_context(|| format!("checkpoint has no tensor {name:?}"))
    }
}

/// Hash of everything a serialised checkpoint holds but the hash itself: the JSON state, each
/// tensor's name, dtype, shape and offsets, and the tensor bytes.
fn content_hash(bytes: &[u8]) -> Result<u64> {
    let (n, header) = SafeTensors::read_metadata(bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut index: Vec<_> = header.tensors().into_iter().collect();
    index.sort_by(|a, b| a.0.cmp(&b.0));
    let mut text =
        header.metadata().as_ref().and_then(|m| m.get(STATE_KEY)).cloned().unwrap_or_default();
    for (name, info) in index {
        text.push_str(&format!(
            "\n{name} {:?} {:?} {:?}",
            info.dtype, info.shape, info.data_offsets
        ));
    }
    Ok(hash(&[text.as_bytes(), &bytes[8 + n..]]))
}

/// 64-bit words, FNV-1a style with a rotation so that every bit reaches every other; a change
/// within one word always changes the hash.
fn hash(parts: &[&[u8]]) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mix = |h: u64, w: u64| (h ^ w).wrapping_mul(PRIME).rotate_left(23);
    parts.iter().fold(0xcbf2_9ce4_8422_2325, |h, part| {
        let mut words = part.chunks_exact(8);
        let h = (&mut words).fold(mix(h, part.len() as u64), |h, w| {
            mix(h, u64::from_le_bytes(w.try_into().unwrap()))
        });
        let mut tail = [0u8; 8];
        tail[..words.remainder().len()].copy_from_slice(words.remainder());
        mix(h, u64::from_le_bytes(tail))
    })
}

/// A fault to inject into a checkpoint write (see the module documentation).
#[derive(Clone, Copy)]
enum Fault {
    Abort,
    DiskFull,
}

/// The fault planned for the checkpoint write about to start, if any.
fn next_checkpoint_fault() -> Option<Fault> {
    static PLAN: OnceLock<Option<(Fault, u64)>> = OnceLock::new();
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let plan = PLAN.get_or_init(|| {
        let n = |var: &str| std::env::var(var).ok().and_then(|v| v.trim().parse::<u64>().ok());
        n("TRM_FAULT_ABORT_IN_CHECKPOINT_WRITE")
            .map(|n| (Fault::Abort, n))
            .or(n("TRM_FAULT_FAIL_CHECKPOINT_WRITE").map(|n| (Fault::DiskFull, n)))
    });
    let (fault, n) = (*plan)?;
    (WRITES.fetch_add(1, Ordering::Relaxed) + 1 == n).then_some(fault)
}

/// Writes `bytes` to `path` atomically ([`trm_data::atomic`]).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_file(path, bytes, None)
}

fn write_file(path: &Path, bytes: &[u8], fault: Option<Fault>) -> Result<()> {
    trm_data::atomic::write_file_with(path, |tmp| {
        let mut f = std::fs::File::create(tmp)?;
        if let Some(fault) = fault {
            f.write_all(&bytes[..bytes.len() / 2])?;
            f.sync_all()?;
            match fault {
                Fault::Abort => std::process::abort(),
                Fault::DiskFull => Err(std::io::Error::new(
                    std::io::ErrorKind::StorageFull,
                    "no space left on device (injected by TRM_FAULT_FAIL_CHECKPOINT_WRITE)",
                ))?,
            }
        }
        f.write_all(bytes)?;
        Ok(())
    })
}

/// The checkpoints in `dir` named `step_<N>.safetensors`, sorted by step.
pub fn list(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(found) };
    for entry in entries {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        if let Some(step) = name
            .strip_prefix("step_")
            .and_then(|s| s.strip_suffix(".safetensors"))
            .and_then(|s| s.parse().ok())
        {
            found.push((step, path));
        }
    }
    found.sort();
    Ok(found)
}

/// The checkpoint file of optimizer step `step` in `dir`: `step_N.safetensors`, N
/// zero-padded to 8 digits so that names sort by step.
pub fn path_for_step(dir: &Path, step: u64) -> PathBuf {
    dir.join(format!("step_{step:08}.safetensors"))
}

/// Deletes all but the newest `keep` checkpoints.
pub fn prune(dir: &Path, keep: usize) -> Result<()> {
    let all = list(dir)?;
    for (_, path) in all.iter().take(all.len().saturating_sub(keep)) {
        std::fs::remove_file(path)
            .with_context(|| format!("removing old checkpoint {}", path.display()))?;
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

    #[test]
    fn a_flipped_bit_in_the_tensor_bytes_is_refused() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let mut tensors = BTreeMap::new();
        tensors.insert("a".to_string(), Tensor::new(&[1.0f32, 2.0, 3.0], &Device::Cpu)?);
        let path = path_for_step(dir.path(), 1);
        Checkpoint { tensors, state: serde_json::json!({"step": 1}) }.save(&path)?;
        let mut bytes = std::fs::read(&path)?;
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        std::fs::write(&path, &bytes)?;
        let err = Checkpoint::load(&path, &Device::Cpu).err().expect("flipped bit refused");
        assert!(
            format!("{err:#}").contains("is corrupt")
                && format!("{err:#}").contains("step_00000001"),
            "{err:#}"
        );
        Ok(())
    }
}
