//! `trm check-reference` as a user (or the GPU script) runs it: the built-in vectors pass in
//! f32 and bf16, a vector whose configuration differs from the one that produced it fails
//! and is named, and a folder without vectors is an error naming it.

use std::path::{Path, PathBuf};

mod cli;
use cli::{fails, ok, trm};

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../trm-model/tests/fixtures/vectors")
}

#[test]
fn built_in_vectors_pass_in_f32_and_bf16() {
    let dir = vectors();
    let out =
        ok(&["check-reference", "--dir", dir.to_str().unwrap(), "--dtype", "f32,bf16", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], true);
    let rows = v["vectors"].as_array().unwrap();
    assert_eq!(rows.len(), 6);
    for row in rows {
        assert_eq!(row["ok"], true, "{row}");
        let tol = row["tolerances"]["step"].as_f64().unwrap();
        assert!(row["teacher_forced"].as_f64().unwrap() <= tol, "{row}");
        if row["dtype"] == "f32" {
            assert!(row["step1"].as_f64().unwrap() < 1e-4, "{row}");
            assert_eq!(row["trace_equal"], row["trace_calls"], "{row}");
        }
    }
}

fn copy_vector(from: &Path, name: &str, to: &Path) {
    for ext in ["json", "safetensors"] {
        std::fs::copy(from.join(format!("{name}.{ext}")), to.join(format!("{name}.{ext}")))
            .unwrap();
    }
}

#[test]
fn a_vector_run_with_another_configuration_fails_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    copy_vector(&vectors(), "maze_att_tiny", tmp.path());
    copy_vector(&vectors(), "sudoku_mlp_tiny", tmp.path());
    // Another RoPE base: the weights still load, the outputs move.
    let json = tmp.path().join("maze_att_tiny.json");
    let text = std::fs::read_to_string(&json).unwrap();
    let text = text.replace(
        "\"pos_encodings\": \"rope\",",
        "\"pos_encodings\": \"rope\", \"rope_theta\": 500.0,",
    );
    std::fs::write(&json, text).unwrap();

    let out = trm(&["check-reference", "--dir", tmp.path().to_str().unwrap()]);
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("reference maze_att_tiny FAILED") && stdout.contains("exceeds"),
        "{stdout}"
    );
    assert!(stdout.contains("reference sudoku_mlp_tiny ok"), "{stdout}");
    assert!(stderr.contains("1 of 2 checks failed: maze_att_tiny (f32)"), "{stderr}");
}

#[test]
fn bad_folders_and_flags_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let err = fails(&["check-reference", "--dir", tmp.path().to_str().unwrap()]);
    assert!(err.contains("no reference vectors here"), "{err}");
    let dir = vectors();
    let err = fails(&["check-reference", "--dir", dir.to_str().unwrap(), "--dtype", "f16"]);
    assert!(err.contains("--dtype f16: expected f32 or bf16"), "{err}");
    let err = fails(&["check-reference", "--dir", dir.to_str().unwrap(), "--device", "tpu"]);
    assert!(err.contains("--device tpu"), "{err}");
}
