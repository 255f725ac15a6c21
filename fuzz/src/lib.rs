//! Helpers shared by the fuzz targets.
//!
//! Binary formats (npy, safetensors, PyTorch zips, checkpoints) are rarely reached by random
//! bytes, so their targets take a mode byte: either the input is the file itself, or it is a
//! list of [`edit`]s applied to a valid template file (flip, set, insert bytes, truncate).
//! `TRM_FUZZ_DUMP=DIR` makes a target write the files it built from an input into `DIR`
//! ([`dump`]): that is how a crashing input becomes a regression file of the crate's tests.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Reads an input front to back; an exhausted input reads as zeros.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Input { data }
    }

    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    /// The bytes up to the next `sep` (excluded), or all that is left.
    pub fn until(&mut self, sep: u8) -> &'a [u8] {
        match self.data.iter().position(|&b| b == sep) {
            Some(i) => {
                let (head, tail) = self.data.split_at(i);
                self.data = &tail[1..];
                head
            }
            None => std::mem::take(&mut self.data),
        }
    }

    pub fn rest(self) -> &'a [u8] {
        self.data
    }
}

/// Applies edits to a copy of `template`. `ops` is read 4 bytes at a time: `kind, position
/// (u16, scaled to the file length), value`; kind % 4 is 0 xor, 1 set, 2 insert, 3 truncate.
pub fn edit(template: &[u8], ops: &[u8]) -> Vec<u8> {
    let mut out = template.to_vec();
    for op in ops.chunks_exact(4) {
        let scaled = |len: usize| (u16::from_le_bytes([op[1], op[2]]) as usize * len) >> 16;
        let value = op[3];
        match op[0] % 4 {
            0 if !out.is_empty() => {
                let i = scaled(out.len());
                out[i] ^= value.max(1);
            }
            1 if !out.is_empty() => {
                let i = scaled(out.len());
                out[i] = value;
            }
            2 => {
                let i = scaled(out.len() + 1);
                out.insert(i, value);
            }
            3 => {
                let i = scaled(out.len() + 1);
                out.truncate(i);
            }
            _ => {}
        }
    }
    out
}

/// A folder for the files a target writes, private to this process and reused by every run.
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("temporary folder").keep())
}

/// With `TRM_FUZZ_DUMP=DIR`, saves `bytes` as `DIR/name` (folders created).
pub fn dump(name: &str, bytes: &[u8]) {
    if let Some(dir) = std::env::var_os("TRM_FUZZ_DUMP") {
        let path = Path::new(&dir).join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("dump folder");
        }
        std::fs::write(&path, bytes).expect("dump file");
    }
}

/// Writes `bytes` to `path` (and dumps it under `name`).
pub fn put(path: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(path, bytes).expect("scratch file");
    dump(name, bytes);
}
