//! NCCL between processes, one per GPU (cargo feature `nccl`).

use crate::collective::Collective;
use anyhow::{bail, ensure, Context, Result};
use candle_core::cuda_backend::cudarc;
use cudarc::driver::CudaStream;
use cudarc::nccl::{Comm, Id, ReduceOp};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One rank of an NCCL communicator on the CUDA stream of a candle device, so the
/// collectives are ordered with the model's kernels.
pub struct Nccl {
    comm: Comm,
    stream: Arc<CudaStream>,
}

fn nccl_error(what: &'static str) -> impl Fn(cudarc::nccl::result::NcclError) -> anyhow::Error {
    move |e| anyhow::anyhow!("NCCL {what} failed: {:?}", e.0)
}

impl Nccl {
    /// Joins the communicator of `world_size` ranks. Rank 0 creates the NCCL unique id
    /// and writes it to `init_file` (which must not exist yet: a stale id would make the
    /// other ranks wait forever); the others wait up to `timeout` for the file. Once every
    /// rank has joined, rank 0 deletes the file so the same path can serve the next launch.
    pub fn connect(
        device: &candle_core::Device,
        rank: usize,
        world_size: usize,
        init_file: &Path,
        timeout: Duration,
    ) -> Result<Self> {
        ensure!(rank < world_size, "rank {rank} is not below the world size {world_size}");
        let stream = device
            .as_cuda_device()
            .map_err(|e| anyhow::anyhow!("NCCL needs a CUDA device (--device cuda:N): {e}"))?
            .cuda_stream();
        let id = if rank == 0 {
            ensure!(
                !init_file.exists(),
                "{} already exists (left by an earlier launch?); delete it or give another --dist-init path",
                init_file.display()
            );
            let id = Id::new().map_err(nccl_error("ncclGetUniqueId"))?;
            write_id(init_file, world_size, &id)?;
            id
        } else {
            read_id(init_file, world_size, timeout)?
        };
        let comm = Comm::from_rank(stream.clone(), rank, world_size, id)
            .map_err(nccl_error("ncclCommInitRank"))?;
        let nccl = Self { comm, stream };
        nccl.barrier()?;
        if rank == 0 {
            std::fs::remove_file(init_file)
                .with_context(|| format!("removing the rendezvous file {}", init_file.display()))?;
        }
        Ok(nccl)
    }

    fn to_device<T: cudarc::driver::DeviceRepr>(
        &self,
        host: &[T],
    ) -> Result<cudarc::driver::CudaSlice<T>> {
        Ok(self.stream.clone_htod(host)?)
    }

    /// Every rank's `local`, in rank order, through the device.
    fn all_gather<
        T: cudarc::driver::DeviceRepr
            + cudarc::driver::ValidAsZeroBits
            + cudarc::nccl::NcclType
            + Default
            + Clone,
    >(
        &self,
        local: &[T],
    ) -> Result<Vec<T>> {
        let send = self.to_device(local)?;
        let mut recv = self.stream.alloc_zeros::<T>(local.len() * self.world_size())?;
        self.comm.all_gather(&send, &mut recv).map_err(nccl_error("all_gather"))?;
        let out = self.stream.clone_dtoh(&recv)?;
        self.stream.synchronize()?;
        Ok(out)
    }
}

/// `world_size` on the first line, the 128-byte id in hex on the second; written to a
/// temporary file and renamed, so a reader never sees half of it.
fn write_id(path: &Path, world_size: usize, id: &Id) -> Result<()> {
    let hex: String = id.internal().iter().map(|&c| format!("{:02x}", c as u8)).collect();
    let text = format!("{world_size}\n{hex}\n");
    crate::checkpoint::write_atomically(path, text.as_bytes())
        .with_context(|| format!("writing the NCCL id to {}", path.display()))
}

fn read_id(path: &Path, world_size: usize, timeout: Duration) -> Result<Id> {
    let start = Instant::now();
    let text = loop {
        match std::fs::read_to_string(path) {
            Ok(t) => break t,
            Err(_) if start.elapsed() < timeout => std::thread::sleep(Duration::from_millis(200)),
            Err(e) => bail!("waited {:?} for rank 0 to write {} ({e}); start rank 0 with the same --dist-init path", timeout, path.display()),
        }
    };
    let mut lines = text.lines();
    let world: usize = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .with_context(|| format!("{}: line 1 should be the world size", path.display()))?;
    ensure!(
        world == world_size,
        "{}: rank 0 was started with world size {world}, this rank with {world_size}",
        path.display()
    );
    let hex = lines.next().unwrap_or("").trim();
    ensure!(
        hex.len() == 256,
        "{}: line 2 should be 256 hex digits (the NCCL unique id), found {} characters",
        path.display(),
        hex.len()
    );
    let mut internal = [0 as std::ffi::c_char; 128];
    for (i, byte) in internal.iter_mut().enumerate() {
        let b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
            .with_context(|| format!("{}: line 2 is not hexadecimal", path.display()))?;
        *byte = b as std::ffi::c_char;
    }
    Ok(Id::uninit(internal))
}

impl Collective for Nccl {
    fn rank(&self) -> usize {
        self.comm.rank()
    }

    fn world_size(&self) -> usize {
        self.comm.world_size()
    }

    fn all_reduce_sum(&self, data: &mut [f32]) -> Result<()> {
        let mut buf = self.to_device(data)?;
        self.comm
            .all_reduce_in_place(&mut buf, &ReduceOp::Sum)
            .map_err(nccl_error("all_reduce"))?;
        self.stream.memcpy_dtoh(&buf, data)?;
        self.stream.synchronize()?;
        Ok(())
    }

    fn all_gather_f32(&self, local: &[f32]) -> Result<Vec<f32>> {
        self.all_gather(local)
    }

    fn all_gather_u32(&self, local: &[u32]) -> Result<Vec<u32>> {
        self.all_gather(local)
    }

    fn broadcast(&self, data: &mut [f32]) -> Result<()> {
        let mut buf = self.to_device(data)?;
        self.comm.broadcast_in_place(&mut buf, 0).map_err(nccl_error("broadcast"))?;
        self.stream.memcpy_dtoh(&buf, data)?;
        self.stream.synchronize()?;
        Ok(())
    }

    fn barrier(&self) -> Result<()> {
        let mut one = [0.0f32];
        self.all_reduce_sum(&mut one)
    }
}
