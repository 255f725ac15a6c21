//! Atomic writes, one implementation for datasets, checkpoints and model weights: the new
//! content goes to a temporary file (or folder) beside its target, is fsynced, renamed over
//! the target, and the folder is fsynced. A crash, a kill or a full disk at any moment
//! leaves the old content or the new one, never a torn file.
//!
//! Temporaries are named `.NAME.tmp-PID-RANDOM`. One left behind by a killed process is
//! removed by [`remove_stale_temporaries`] the next time a writer starts in that folder; a
//! temporary whose process is still running is left alone.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The folder a path lives in (`.` for a bare file name).
fn parent_of(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// The prefix of this process's temporaries for a target named `name`.
fn temporary_prefix(name: &str) -> String {
    format!(".{name}.tmp-{}-", std::process::id())
}

/// Writes `path` atomically: `fill` writes the content into the temporary file it is given
/// (by path; it may truncate and rewrite it), which is then fsynced and renamed over `path`.
/// On an error `path` is untouched and the temporary removed.
pub fn write_file_with(path: &Path, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let dir = parent_of(path);
    let name = path
        .file_name()
        .with_context(|| format!("{}: the path has no file name", path.display()))?
        .to_string_lossy()
        .into_owned();
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    remove_stale_temporaries(dir)?;
    let result = (|| -> Result<()> {
        let tmp = tempfile::Builder::new().prefix(&temporary_prefix(&name)).tempfile_in(dir)?;
        fill(tmp.path())?;
        File::open(tmp.path())?.sync_all()?;
        tmp.persist(path)?;
        sync_dir(dir)
    })();
    result.with_context(|| {
        format!("writing {} (the previous file, if any, is intact)", path.display())
    })
}

/// Writes `bytes` to `path` atomically.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    write_file_with(path, |tmp| Ok(fs::write(tmp, bytes)?))
}

/// A fresh temporary folder beside `dir`, for content that replaces `dir` as a whole.
pub fn temporary_dir_for(dir: &Path) -> Result<PathBuf> {
    let parent = parent_of(dir);
    let name = dir
        .file_name()
        .with_context(|| format!("{}: output path needs a final folder name", dir.display()))?
        .to_string_lossy()
        .into_owned();
    fs::create_dir_all(parent)
        .with_context(|| format!("{}: cannot create folder", parent.display()))?;
    remove_stale_temporaries(parent)?;
    let tmp = tempfile::Builder::new()
        .prefix(&temporary_prefix(&name))
        .tempdir_in(parent)
        .with_context(|| format!("{}: cannot create a temporary folder", parent.display()))?;
    Ok(tmp.keep())
}

/// fsync of a folder, so that a rename in it survives a crash.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("{}: cannot sync folder", dir.display()))
}

/// Removes the temporaries in `dir` (files or folders named `.NAME.tmp-PID-...`) whose
/// process is no longer running; returns what it removed.
pub fn remove_stale_temporaries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else { return Ok(removed) };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = temporary_pid(&name) else { continue };
        if process_is_running(pid) {
            continue;
        }
        let path = entry.path();
        let gone = if path.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
        gone.with_context(|| format!("{}: cannot remove a stale temporary", path.display()))?;
        removed.push(path);
    }
    Ok(removed)
}

/// The writer's process id in a temporary's name `.NAME.tmp-PID-RANDOM`.
fn temporary_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?;
    let (_, after) = rest.rsplit_once(".tmp-")?;
    after.split_once('-')?.0.parse().ok()
}

/// Whether a process with this id runs on this machine (`/proc`; elsewhere every process is
/// taken to be running, so nothing is removed).
fn process_is_running(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc = Path::new("/proc");
    !proc.is_dir() || proc.join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_replaces_the_file_and_leaves_no_temporary() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("a.bin");
        write_file(&path, b"one").unwrap();
        write_file(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("a.bin");
        write_file(&path, b"old").unwrap();
        let err = write_file_with(&path, |t| {
            fs::write(t, b"half")?;
            anyhow::bail!("disk full")
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("the previous file, if any, is intact"), "{err:#}");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    #[test]
    fn stale_temporaries_go_and_live_ones_stay() {
        let tmp = tempfile::tempdir().unwrap();
        // pid 4194304 is above Linux's largest pid: no such process.
        let dead_file = tmp.path().join(".model.safetensors.tmp-4194304-abc");
        let dead_dir = tmp.path().join(".data.tmp-4194304-xyz");
        let live = tmp.path().join(format!(".x.tmp-{}-q", std::process::id()));
        let other = tmp.path().join(".hidden-notes");
        fs::write(&dead_file, b"torn").unwrap();
        fs::create_dir(&dead_dir).unwrap();
        fs::write(dead_dir.join("all__inputs.npy"), b"torn").unwrap();
        fs::write(&live, b"being written").unwrap();
        fs::write(&other, b"keep").unwrap();
        let mut removed = remove_stale_temporaries(tmp.path()).unwrap();
        removed.sort();
        assert_eq!(removed, vec![dead_dir, dead_file]);
        assert!(live.exists() && other.exists());
        assert_eq!(temporary_pid(".a.b.tmp-12-x"), Some(12));
        assert_eq!(temporary_pid("a.tmp-12-x"), None);
    }
}
