//! Every command of README.md's "Two commands" and "Common tasks", run on small data by
//! `scripts/readme-commands.sh` with this build's binary. It takes a minute or two on two
//! cores, so a plain `cargo test` skips it and says so; it runs with
//! `TRM_README_COMMANDS=1 cargo test --release -p trm --test readme_commands`, or with
//! `cargo test --release -p trm --test readme_commands -- --ignored`.

use std::io::Write;
use std::path::Path;
use std::process::Command;

const ASK: &str = "TRM_README_COMMANDS";

fn asked() -> bool {
    std::env::var_os(ASK).is_some_and(|v| v == "1")
}

fn run_script() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let status = Command::new("bash")
        .arg(root.join("scripts/readme-commands.sh"))
        .env("TRM", env!("CARGO_BIN_EXE_trm"))
        .status()
        .expect("run bash scripts/readme-commands.sh");
    assert!(status.success(), "scripts/readme-commands.sh failed: {status}");
}

/// Runs the script when `TRM_README_COMMANDS=1`; otherwise says on standard error (written
/// directly, which the test harness does not capture) that it skipped.
#[test]
fn readme_commands_run_when_asked() {
    if asked() {
        run_script();
    } else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED readme_commands: the README's commands did not run; set {ASK}=1 or run scripts/readme-commands.sh"
        );
    }
}

/// The same with `-- --ignored`, whatever the environment (once: not again when
/// `TRM_README_COMMANDS=1` ran it above).
#[test]
#[ignore = "runs every README command (a minute or two); set TRM_README_COMMANDS=1, or run scripts/readme-commands.sh"]
fn readme_commands_run() {
    if !asked() {
        run_script();
    }
}
