//! One module per subcommand.

pub mod bench;
pub mod check_reference;
pub mod data;
pub mod demo;
pub mod eval;
pub mod plot;
pub mod render;
pub mod solve;
pub mod train;

/// The compute device named on the command line: `cpu`, `cuda` or `cuda:N`.
pub fn device(name: &str) -> anyhow::Result<candle_core::Device> {
    match name {
        "cpu" => Ok(candle_core::Device::Cpu),
        cuda if cuda.starts_with("cuda") => {
            let ordinal = cuda
                .strip_prefix("cuda")
                .and_then(|r| r.strip_prefix(':'))
                .map_or(Ok(0), str::parse)
                .map_err(|_| anyhow::anyhow!("--device {name}: expected cuda or cuda:N"))?;
            candle_core::Device::new_cuda(ordinal).map_err(|e| anyhow::anyhow!("--device {name}: {e} (this binary needs to be built with --features cuda and a GPU driver present)"))
        }
        other => anyhow::bail!("--device {other}: expected cpu, cuda or cuda:N"),
    }
}

/// The compute dtype named by `--dtype`: `f32` or `bf16` (see `trm_model::default_compute_dtype`).
pub fn compute_dtype(name: &str) -> anyhow::Result<candle_core::DType> {
    match name {
        "f32" | "float32" => Ok(candle_core::DType::F32),
        "bf16" | "bfloat16" => Ok(candle_core::DType::BF16),
        other => anyhow::bail!("--dtype {other}: expected f32 or bf16"),
    }
}
