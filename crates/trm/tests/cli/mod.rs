//! Running the `trm` binary from the integration tests of this crate.
#![allow(dead_code)]

use std::process::{Command, Output};

/// Runs `trm` with `args`, capturing its output.
pub fn trm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trm")).args(args).output().expect("run trm")
}

/// Runs `trm`, asserts success, returns stdout.
pub fn ok(args: &[&str]) -> String {
    let out = trm(args);
    assert!(out.status.success(), "trm {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `trm`, asserts failure, returns stderr.
pub fn fails(args: &[&str]) -> String {
    let out = trm(args);
    assert!(!out.status.success(), "trm {args:?} should fail");
    String::from_utf8(out.stderr).unwrap()
}
