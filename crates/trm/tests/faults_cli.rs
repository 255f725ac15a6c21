//! Crash tests of `trm train`, run as a user runs it: a run killed (SIGKILL) at random
//! points, killed in the middle of a checkpoint write, or stopped by a full disk, then
//! continued with `trm train --resume RUN`, must end with the same `model.safetensors` (bit
//! for bit) and the same `metrics.jsonl` (wall-clock fields aside) as a run never
//! interrupted; a damaged newest checkpoint is skipped with a warning naming it. The faults
//! inside checkpoint writes are injected by the variables documented in
//! `trm_train::checkpoint`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use trm_train::checkpoint;
use trm_train::train::{CHECKPOINT_DIR, METRICS_FILE, MODEL_FILE};

#[path = "../../trm-train/tests/common/mod.rs"]
mod common;

/// 36 steps of 32 examples (evaluations after steps 18 and 36), a checkpoint every 3 steps.
const CONFIG: &[&str] = &[
    "epochs=8",
    "eval_interval=4",
    "checkpoint_interval=3",
    "lr_warmup_steps=5",
    "log_interval=1",
    "hidden_size=16",
    "puzzle_emb_ndim=16",
    "global_batch_size=32",
    "data.generate.train=150",
    "data.generate.test=50",
];

fn trm() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trm"));
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    cmd
}

/// The configuration file every run of these tests uses.
fn config_file(dir: &Path) -> PathBuf {
    let path = dir.join("tiny.toml");
    std::fs::write(&path, common::tiny(CONFIG).to_toml().unwrap()).unwrap();
    path
}

fn start_cmd(dir: &Path, run: &Path) -> Command {
    let mut cmd = trm();
    cmd.arg("train").arg("--config").arg(config_file(dir)).arg("--out").arg(run);
    cmd
}

fn resume_cmd(run: &Path) -> Command {
    let mut cmd = trm();
    cmd.arg("train").arg("--resume").arg(run);
    cmd
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn succeeds(mut cmd: Command) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?} failed: {}", stderr(&out));
    stderr(&out)
}

fn fails(mut cmd: Command) -> String {
    let out = cmd.output().unwrap();
    assert!(!out.status.success(), "{cmd:?} should have failed: {}", stderr(&out));
    stderr(&out)
}

/// The uninterrupted run every other run is compared with (trained once per test binary).
fn straight() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let run = dir.join("straight");
        succeeds(start_cmd(&dir, &run));
        run
    })
}

/// Steps of the complete checkpoints in the run.
fn checkpoint_steps(run: &Path) -> Vec<u64> {
    checkpoint::list(&run.join(CHECKPOINT_DIR)).unwrap().into_iter().map(|(s, _)| s).collect()
}

/// The step `trm train --resume` said it continues from.
fn resumed_step(stderr: &str) -> u64 {
    let rest =
        stderr.split(" at step ").nth(1).unwrap_or_else(|| panic!("no resume line in: {stderr}"));
    rest.split_whitespace().next().unwrap().parse().unwrap()
}

/// Resumes `run` to the end, checking that it continues from its newest checkpoint, and
/// compares the result with the uninterrupted run.
fn finish_and_compare(run: &Path) {
    let newest = *checkpoint_steps(run).last().expect("a checkpoint to resume from");
    let log = succeeds(resume_cmd(run));
    assert_eq!(resumed_step(&log), newest, "resumed from the newest complete checkpoint: {log}");
    assert_same_as_straight(run);
}

fn assert_same_as_straight(run: &Path) {
    let straight = straight();
    let metrics = |run: &Path| {
        common::metrics_without_time(&std::fs::read_to_string(run.join(METRICS_FILE)).unwrap())
    };
    assert_eq!(metrics(run), metrics(straight), "metrics.jsonl equals the uninterrupted run's");
    let model = |run: &Path| std::fs::read(run.join(MODEL_FILE)).unwrap();
    assert!(
        model(run) == model(straight),
        "model.safetensors is bit-identical to the uninterrupted run's"
    );
}

/// The step of the last complete line of `metrics.jsonl` (0 before the first).
fn logged_step(run: &Path) -> u64 {
    let text = std::fs::read_to_string(run.join(METRICS_FILE)).unwrap_or_default();
    let complete = text.rsplit_once('\n').map_or("", |(head, _)| head);
    complete
        .lines()
        .last()
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .and_then(|v| v["step"].as_u64())
        .unwrap_or(0)
}

/// Runs `cmd` and kills it (SIGKILL) once `metrics.jsonl` has logged step `at`.
/// Returns false if the run ended on its own first.
fn kill_at(mut cmd: Command, run: &Path, at: u64) -> bool {
    let mut child = cmd.stderr(Stdio::null()).spawn().unwrap();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{cmd:?} failed before the kill");
            return false;
        }
        if logged_step(run) >= at {
            child.kill().unwrap();
            child.wait().unwrap();
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn runs_killed_at_random_points_resume_to_the_uninterrupted_result() {
    let total = common::metrics_without_time(
        &std::fs::read_to_string(straight().join(METRICS_FILE)).unwrap(),
    )
    .iter()
    .filter_map(|l| l["step"].as_u64())
    .max()
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    // Kill points after the first checkpoint (step 3), drawn from a fixed seed.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2024);
    let mut points: Vec<u64> = (0..4).map(|_| rng.random_range(4..total - 1)).collect();
    points.sort_unstable();
    points.dedup();
    let mut kills = 0;
    for (i, &at) in points.iter().enumerate() {
        if i > 0 && at <= *checkpoint_steps(&run).last().unwrap() + 1 {
            continue; // the resumed run would start past this point
        }
        let cmd = if i == 0 { start_cmd(dir.path(), &run) } else { resume_cmd(&run) };
        kills += kill_at(cmd, &run, at) as usize;
    }
    assert!(kills >= 2, "only {kills} of the kills {points:?} hit a running process");
    finish_and_compare(&run);
}

#[test]
fn a_kill_in_the_middle_of_a_checkpoint_write_loses_only_that_checkpoint() {
    for n in [2, 5] {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        let mut cmd = start_cmd(dir.path(), &run);
        cmd.env("TRM_FAULT_ABORT_IN_CHECKPOINT_WRITE", n.to_string());
        fails(cmd);
        // The aborted write left its half-written temporary file, never a checkpoint.
        let names: Vec<String> = std::fs::read_dir(run.join(CHECKPOINT_DIR))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().any(|n| n.contains(".tmp-")), "{names:?}");
        assert_eq!(
            checkpoint_steps(&run),
            [3 * (n - 2), 3 * (n - 1)].into_iter().filter(|&s| s > 0).collect::<Vec<_>>(),
            "checkpoints before the aborted write, step {}",
            3 * n
        );
        // The resume removes the killed writer's temporary file, saying so.
        let log = succeeds(resume_cmd(&run));
        assert!(log.contains("left by a process that was stopped while writing"), "{log}");
        let names: Vec<String> = std::fs::read_dir(run.join(CHECKPOINT_DIR))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!names.iter().any(|n| n.contains(".tmp-")), "{names:?}");
        assert_eq!(resumed_step(&log), 3 * (n - 1));
        assert_same_as_straight(&run);
    }
}

/// While a process trains in a run folder, a second `trm train --resume` of it is refused,
/// naming the process that holds it; once that process is gone, the resume works.
#[test]
fn a_run_folder_takes_one_trainer_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let mut cmd = start_cmd(dir.path(), &run);
    cmd.args(["--set", "epochs=4000", "--set", "eval_interval=4000"]);
    let mut child = cmd.stderr(Stdio::null()).spawn().unwrap();
    // Wait until the first checkpoint exists (the run is under way).
    while checkpoint_steps(&run).is_empty() {
        assert!(child.try_wait().unwrap().is_none(), "the first run ended early");
        std::thread::sleep(Duration::from_millis(20));
    }
    let err = fails(resume_cmd(&run));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        err.contains("is training in this run folder")
            && err.contains(&format!("process {}", child.id())),
        "{err}"
    );
    let mut again = resume_cmd(&run);
    again.args(["--stop-after", "1"]);
    succeeds(again);
}

#[test]
fn a_full_disk_while_writing_a_checkpoint_keeps_the_previous_one() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let mut cmd = start_cmd(dir.path(), &run);
    cmd.env("TRM_FAULT_FAIL_CHECKPOINT_WRITE", "3");
    let log = fails(cmd);
    assert!(
        log.contains("no space left on device")
            && log.contains("step_00000009.safetensors")
            && log.contains("the previous file, if any, is intact"),
        "{log}"
    );
    assert_eq!(checkpoint_steps(&run), [3, 6]);
    let leftovers: Vec<_> = std::fs::read_dir(run.join(CHECKPOINT_DIR))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "the failed write removed its temporary file");
    for (_, path) in checkpoint::list(&run.join(CHECKPOINT_DIR)).unwrap() {
        checkpoint::Checkpoint::load(&path, &candle_core::Device::Cpu)
            .expect("the previous checkpoints are intact");
    }
    finish_and_compare(&run);
}

/// A run stopped after step 10: checkpoints of steps 6 and 9 are kept.
fn stopped_run(dir: &Path) -> PathBuf {
    let run = dir.join("run");
    let mut cmd = start_cmd(dir, &run);
    cmd.args(["--stop-after", "10"]);
    succeeds(cmd);
    assert_eq!(checkpoint_steps(&run), [6, 9]);
    run
}

#[test]
fn a_damaged_newest_checkpoint_is_skipped_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let run = stopped_run(dir.path());
    let newest = checkpoint::path_for_step(&run.join(CHECKPOINT_DIR), 9);
    let mut bytes = std::fs::read(&newest).unwrap();
    let n = bytes.len();
    bytes[n - 5] ^= 0x10; // one bit of the tensor data
    std::fs::write(&newest, &bytes).unwrap();
    let log = succeeds(resume_cmd(&run));
    assert!(
        log.contains(&format!("warning: skipping checkpoint {}", newest.display()))
            && log.contains("corrupt"),
        "{log}"
    );
    assert_eq!(resumed_step(&log), 6, "{log}");
    assert_same_as_straight(&run);
}

#[test]
fn a_run_whose_checkpoints_are_all_damaged_is_refused_naming_each() {
    let dir = tempfile::tempdir().unwrap();
    let run = stopped_run(dir.path());
    let ck = |step| checkpoint::path_for_step(&run.join(CHECKPOINT_DIR), step);
    let bytes = std::fs::read(ck(9)).unwrap();
    std::fs::write(ck(9), &bytes[..bytes.len() / 2]).unwrap(); // cut
    let mut bytes = std::fs::read(ck(6)).unwrap();
    bytes[20] ^= 0xff; // inside the JSON header
    std::fs::write(ck(6), &bytes).unwrap();
    let log = fails(resume_cmd(&run));
    for step in [9, 6] {
        assert!(log.contains(&ck(step).display().to_string()), "{log}");
    }
    assert!(log.contains("none of its checkpoints can be read"), "{log}");
}
