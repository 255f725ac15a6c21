//! `trm check-reference`: the models against tensors produced by the official PyTorch code, on
//! this binary's devices, in f32 and bf16 (`trm_model::reference`; the test
//! `crates/trm-model/tests/reference.rs` runs the same check). It needs nothing but the binary
//! and a folder of vectors, so it runs as is on a GPU machine without a Rust toolchain.

use anyhow::{bail, Result};
use std::path::PathBuf;
use trm_model::reference::check_dir;

#[derive(clap::Args)]
#[command(after_help = "Examples:
  trm check-reference --dir crates/trm-model/tests/fixtures/vectors
  trm check-reference --dir VECTORS --device cuda --dtype f32,bf16 --json

A vector is NAME.json (official configuration) next to NAME.safetensors (weights, a batch and
the official outputs); the README beside the repository's vectors describes the format.")]
pub struct Args {
    /// Folder of reference vectors.
    #[arg(long)]
    dir: PathBuf,
    /// cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Compute dtypes to check, comma separated: f32 (float32 tolerances) and bf16 (bf16
    /// autocast tolerances, forced also on the CPU).
    #[arg(long, value_delimiter = ',', default_value = "f32")]
    dtype: Vec<String>,
    /// Print one JSON object instead of lines.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let device = super::device(&args.device)?;
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for name in &args.dtype {
        let dtype = super::compute_dtype(name)?;
        let outcome = check_dir(&args.dir, &device, dtype)?;
        if !args.json {
            print!("{}", outcome.lines(&args.device));
        }
        rows.extend(outcome.json_rows());
        failed.extend(outcome.failures().iter().map(|v| format!("{v} ({})", dtype.as_str())));
    }
    if args.json {
        let out = serde_json::json!({
            "dir": args.dir.display().to_string(),
            "device": args.device,
            "ok": failed.is_empty(),
            "vectors": rows,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    if !failed.is_empty() {
        bail!("{} of {} checks failed: {}", failed.len(), rows.len(), failed.join(", "));
    }
    if !args.json {
        println!("all {} checks within tolerance", rows.len());
    }
    Ok(())
}
