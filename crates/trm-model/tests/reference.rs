//! The models against tensors produced by the official PyTorch code (fixtures/vectors/README.md),
//! through `trm_model::reference`, the same check `trm check-reference` runs.
//!
//! Every `NAME.json` / `NAME.safetensors` pair in `tests/fixtures/vectors` and, when set, in
//! the directory named by `TRM_REFERENCE_DIR` is checked in f32 against the float32
//! tolerances, and in bf16 (forced on the CPU) against the bf16 ones.

use std::path::PathBuf;

use candle_core::{DType, Device};
use trm_model::reference::{check_dir, Tolerances};

fn dirs() -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vectors")];
    match std::env::var_os("TRM_REFERENCE_DIR") {
        Some(d) => dirs.push(PathBuf::from(d)),
        None => eprintln!("TRM_REFERENCE_DIR not set: checking the built-in vectors only"),
    }
    dirs
}

fn check_all(dtype: DType) {
    let mut failures = Vec::new();
    for dir in dirs() {
        let outcome = check_dir(&dir, &Device::Cpu, dtype).unwrap();
        for (name, result) in &outcome.results {
            match result {
                Ok(report) => {
                    println!("{dtype:?} {}", report.line());
                    // bf16 really ran: its rounding shows far above the float32 tolerance.
                    let f32_like = report.fresh.err <= Tolerances::F32.step;
                    assert!(dtype == DType::F32 || !f32_like, "{name}: bf16 did not run");
                }
                Err(e) => println!("{dtype:?} reference {name} FAILED ({}): {e:#}", dir.display()),
            }
        }
        failures.extend(outcome.failures().iter().map(|s| s.to_string()));
    }
    assert!(failures.is_empty(), "reference vectors failed in {dtype:?}: {failures:?}");
}

#[test]
fn reference_vectors_f32() {
    check_all(DType::F32);
}

#[test]
fn reference_vectors_bf16() {
    check_all(DType::BF16);
}

/// The built-in vectors cover both TRM token mixers and HRM, all with a step_0 checkpoint, and
/// in f32 every training-trace call the reference recorded agrees (the check enforces 4).
#[test]
fn built_in_vectors_cover_the_variants() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vectors");
    let outcome = check_dir(&dir, &Device::Cpu, DType::F32).unwrap();
    let names: Vec<&str> = outcome.results.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["hrm_att_tiny", "maze_att_tiny", "sudoku_mlp_tiny"]);
    for (name, result) in &outcome.results {
        let report = result.as_ref().unwrap();
        assert_eq!(report.step0_identical, Some(true), "{name}");
        assert!(report.calls > Tolerances::F32.exact_calls, "{name}: {} calls", report.calls);
        assert_eq!(report.trace_equal, report.calls, "{name}");
    }
}

#[test]
fn a_folder_without_vectors_is_an_error_naming_it() {
    let empty = tempfile::tempdir().unwrap();
    let err = check_dir(empty.path(), &Device::Cpu, DType::F32).err().unwrap().to_string();
    assert!(err.contains("no reference vectors") && err.contains(&*empty.path().to_string_lossy()));
    let err = check_dir(&empty.path().join("missing"), &Device::Cpu, DType::F32)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("reading the reference folder"), "{err}");
    let err = check_dir(empty.path(), &Device::Cpu, DType::F16).err().unwrap().to_string();
    assert!(err.contains("f32 or bf16"), "{err}");
}

/// trm -> official naming: `model.safetensors` as trm writes it holds exactly the keys of the
/// official `torch.save` state dict (each `NAME.step_0` fixture, written by the official
/// trainer) once the trainer's `model.inner.` prefix is added, with the same shapes. So the
/// file loads into the official model (`load_state_dict`, strict) after that renaming.
#[test]
fn saved_weights_carry_the_official_state_dict_names() {
    use std::collections::BTreeMap;
    use trm_model::config::ModelConfig;
    use trm_model::weights::{read_state_file, LoadOptions};
    use trm_model::Model;
    let dir = &dirs()[0];
    let tmp = std::env::temp_dir().join(format!("trm-naming-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut checked = 0;
    for name in ["sudoku_mlp_tiny", "maze_att_tiny", "hrm_att_tiny"] {
        let (cfg, _) =
            ModelConfig::from_official_json_file(&dir.join(format!("{name}.json"))).unwrap();
        let step0 = dir.join(format!("{name}.step_0"));
        let shapes = |tensors: Vec<(String, candle_core::Tensor)>| -> BTreeMap<String, Vec<usize>> {
            tensors.into_iter().map(|(k, t)| (k, t.dims().to_vec())).collect()
        };
        let official = shapes(read_state_file(&step0).unwrap());
        let (model, _) =
            Model::from_file(cfg, &Device::Cpu, &step0, &LoadOptions::default()).unwrap();
        let saved_path = tmp.join(format!("{name}.safetensors"));
        model.save_safetensors(&saved_path).unwrap();
        let ours: BTreeMap<String, Vec<usize>> = shapes(read_state_file(&saved_path).unwrap())
            .into_iter()
            .map(|(k, s)| (format!("model.inner.{k}"), s))
            .collect();
        // The official checkpoint may carry the torch.compile prefix; compare without it.
        let official: BTreeMap<String, Vec<usize>> = official
            .into_iter()
            .map(|(k, s)| (k.strip_prefix("_orig_mod.").unwrap_or(&k).to_string(), s))
            .collect();
        assert_eq!(ours, official, "{name}: saved names and shapes differ from the official ones");
        // And back: the saved file loads with nothing left over (tests/variants.rs checks
        // that the reloaded model computes the same logits).
        let (_, report) = Model::from_file(
            model.config().clone(),
            &Device::Cpu,
            &saved_path,
            &LoadOptions::default(),
        )
        .unwrap();
        assert!(report.unexpected.is_empty(), "{name}: {:?}", report.unexpected);
        checked += 1;
    }
    std::fs::remove_dir_all(&tmp).ok();
    assert_eq!(checked, 3);
}
