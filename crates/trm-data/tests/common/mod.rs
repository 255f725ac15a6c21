//! Public data the repository does not ship (README.md, "Tests"): the folder named by
//! `TRM_DATA_DIR`.

use std::io::Write;
use std::path::PathBuf;

/// `TRM_DATA_DIR/rel`, which must exist when the variable is set (a test that finds the folder
/// set but the files missing fails, naming them). When the variable is not set the test is
/// skipped with a line written straight to the process's stderr, which the test harness does
/// not capture, so a skip shows in every `cargo test` run.
pub fn shared_data(test: &str, rel: &str) -> Option<PathBuf> {
    let Some(root) = std::env::var_os("TRM_DATA_DIR") else {
        let line = format!("SKIPPED {test}: set TRM_DATA_DIR to a folder holding {rel}\n");
        let _ = std::io::stderr().write_all(line.as_bytes());
        return None;
    };
    let path = PathBuf::from(root).join(rel);
    assert!(path.exists(), "{test}: TRM_DATA_DIR is set but {} does not exist", path.display());
    Some(path)
}
