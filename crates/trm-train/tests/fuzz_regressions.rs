//! Inputs that crashed a parser under `scripts/fuzz.sh` (see docs/reliability.md), kept so that
//! the fixes stay: each must now be refused with an error, never a panic.

use std::path::Path;

use candle_core::Device;
use trm_train::checkpoint;
use trm_train::config::RunConfig;
use trm_train::train::{Trainer, CHECKPOINT_DIR};

/// `fuzz_regressions/checkpoint/*.safetensors`: checkpoints of the tiny run of the
/// `checkpoint` fuzz target (its `config.toml` is kept alongside), each resumed as the run's
/// only checkpoint.
#[test]
fn damaged_checkpoints_are_refused_on_resume() {
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions/checkpoint");
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let cfg = RunConfig::from_file(&cases.join("config.toml")).unwrap();
    Trainer::create(cfg, &run, &Device::Cpu).unwrap();
    let mut files: Vec<_> = std::fs::read_dir(&cases)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for file in files {
        let dir = run.join(CHECKPOINT_DIR);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(&file, checkpoint::path_for_step(&dir, 2)).unwrap();
        let err = Trainer::resume(&run, None, false, &Device::Cpu).err();
        assert!(err.is_some(), "{} was accepted", file.display());
        eprintln!("{}: {:#}", file.display(), err.unwrap());
    }
}
