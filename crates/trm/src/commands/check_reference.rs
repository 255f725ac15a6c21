//! `trm check-reference`: the models against tensors produced by the official PyTorch code, on
//! this binary's devices, in f32 and bf16 (`trm_model::reference`; the test
//! `crates/trm-model/tests/reference.rs` runs the same check). It needs nothing but the binary
//! and a folder of vectors, so it runs as is on a GPU machine without a Rust toolchain.

use anyhow::{bail, Result};
use std::path::PathBuf;
use trm_model::reference::{check_dir, Tolerances};

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
        let tol = Tolerances::for_dtype(dtype)?;
        let outcome = check_dir(&args.dir, &device, dtype)?;
        for (vector, result) in outcome.results {
            let tolerances = serde_json::json!({
                "step": tol.step, "loss": tol.loss, "grad": tol.grad, "exact_calls": tol.exact_calls,
            });
            match result {
                Ok(r) => {
                    if !args.json {
                        println!("{} {}: {}", args.device, dtype.as_str(), r.line());
                    }
                    rows.push(serde_json::json!({
                        "vector": vector, "dtype": dtype.as_str(), "ok": true,
                        "step1": r.fresh.err, "teacher_forced": r.forced.err,
                        "logits": r.by_kind[0], "q_halt_logits": r.by_kind[1],
                        "z_H": r.by_kind[2], "z_L": r.by_kind[3],
                        "eval_loss": r.eval_loss.err, "train_loss": r.train_loss.err,
                        "grad": r.grad.err, "grad_at": r.grad.at,
                        "trace_equal": r.trace_equal, "trace_calls": r.calls,
                        "trace_loss": r.trace_loss.err, "step0_identical": r.step0_identical,
                        "tolerances": tolerances,
                    }));
                }
                Err(e) => {
                    if !args.json {
                        println!(
                            "{} {}: reference {vector} FAILED: {e:#}",
                            args.device,
                            dtype.as_str()
                        );
                    }
                    rows.push(serde_json::json!({
                        "vector": vector, "dtype": dtype.as_str(), "ok": false,
                        "error": format!("{e:#}"), "tolerances": tolerances,
                    }));
                    failed.push(format!("{vector} ({})", dtype.as_str()));
                }
            }
        }
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
