//! One process per GPU (`trm train --dist-init`; docs/distributed.md): which rank this
//! process is ([`ProcessRank`], from flags or the launcher's environment) and, with the cargo
//! feature `nccl`, the communication between the processes (`Nccl`).

use anyhow::{Context, Result};

#[cfg(feature = "nccl")]
mod comm;
#[cfg(feature = "nccl")]
pub use comm::Nccl;

/// This process's place in a run of one process per GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessRank {
    /// The rank of this process, from 0.
    pub rank: usize,
    /// Processes in the run.
    pub world_size: usize,
    /// The GPU of this process on its machine: `$LOCAL_RANK`, else the rank.
    pub gpu: usize,
}

impl ProcessRank {
    /// `--rank` and `--world-size` when given, else `$RANK` and `$WORLD_SIZE` (as `torchrun`
    /// sets them); the GPU from `$LOCAL_RANK`, else the rank. An error names the flag and
    /// variable that are both missing, or the variable that is not a number.
    pub fn resolve(rank: Option<usize>, world_size: Option<usize>) -> Result<ProcessRank> {
        Self::resolve_in(rank, world_size, |key| std::env::var(key).ok())
    }

    /// [`Self::resolve`] with the environment variables read through `env`.
    pub fn resolve_in(
        rank: Option<usize>,
        world_size: Option<usize>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<ProcessRank> {
        let var = |key: &str| -> Result<Option<usize>> {
            let parse = |v: String| {
                v.trim().parse().with_context(|| format!("${key} is {v:?}, not a number"))
            };
            env(key).map(parse).transpose()
        };
        let rank = match rank {
            Some(r) => r,
            None => var("RANK")?.context("--dist-init needs --rank R (or $RANK)")?,
        };
        let world_size = match world_size {
            Some(n) => n,
            None => {
                var("WORLD_SIZE")?.context("--dist-init needs --world-size N (or $WORLD_SIZE)")?
            }
        };
        let gpu = var("LOCAL_RANK")?.unwrap_or(rank);
        Ok(ProcessRank { rank, world_size, gpu })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&str, &str)]) -> impl Fn(&str) -> Option<String> + 'a {
        |key| vars.iter().find(|(k, _)| *k == key).map(|(_, v)| v.to_string())
    }

    #[test]
    fn flags_come_first_then_the_environment() {
        let torchrun = [("RANK", "3"), ("WORLD_SIZE", "8"), ("LOCAL_RANK", "1")];
        let place = ProcessRank::resolve_in(None, None, env(&torchrun)).unwrap();
        assert_eq!(place, ProcessRank { rank: 3, world_size: 8, gpu: 1 });
        let place = ProcessRank::resolve_in(Some(2), Some(4), env(&torchrun)).unwrap();
        assert_eq!(place, ProcessRank { rank: 2, world_size: 4, gpu: 1 });
        // Without $LOCAL_RANK the GPU is the rank.
        let place = ProcessRank::resolve_in(Some(2), Some(4), env(&[])).unwrap();
        assert_eq!(place, ProcessRank { rank: 2, world_size: 4, gpu: 2 });
    }

    #[test]
    fn errors_name_the_flag_and_the_variable() {
        let err = |r, w, vars: &[(&str, &str)]| {
            ProcessRank::resolve_in(r, w, env(vars)).unwrap_err().to_string()
        };
        assert_eq!(err(None, Some(2), &[]), "--dist-init needs --rank R (or $RANK)");
        assert_eq!(err(Some(0), None, &[]), "--dist-init needs --world-size N (or $WORLD_SIZE)");
        assert_eq!(err(None, Some(2), &[("RANK", "one")]), "$RANK is \"one\", not a number");
        assert_eq!(
            err(Some(0), Some(2), &[("LOCAL_RANK", "x")]),
            "$LOCAL_RANK is \"x\", not a number"
        );
    }
}
