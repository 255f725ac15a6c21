//! Training end to end on generated 4x4 Sudoku: a real learning test, and exact resume.

use candle_core::Device;
use trm_train::eval::{evaluate, EvalOptions};
use trm_train::train::{Trainer, METRICS_FILE};

mod common;
use common::{metrics_without_time, tiny};

#[test]
fn a_tiny_model_learns_4x4_sudoku_well_above_chance() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let cfg = tiny(&["epochs=60", "eval_interval=60", "lr_warmup_steps=20"]);
    let mut trainer = Trainer::create(cfg, &run, &Device::Cpu).unwrap();
    let test = trm_data::dataset::Dataset::load(&run.join("data")).unwrap().test.unwrap();
    let opts = EvalOptions { batch_size: 100, max_examples: 0, max_steps: None, halt: false };
    let (before, _) = evaluate(&trainer.model, &test, &opts, |_, _| {}).unwrap();
    trainer.run(None, |_| {}).unwrap();
    // Evaluate the saved (EMA) model, as `trm eval` would.
    let (model, _) = trm_model::Model::from_file(
        trainer.config.arch.clone(),
        &Device::Cpu,
        &run.join("model.safetensors"),
        &Default::default(),
    )
    .unwrap();
    let (after, _) = evaluate(&model, &test, &opts, |_, _| {}).unwrap();
    eprintln!(
        "token accuracy {:.3} -> {:.3}, exact {:.3} -> {:.3}",
        before.token_accuracy, after.token_accuracy, before.exact_accuracy, after.exact_accuracy
    );
    // Chance on a cell is 1/4, and the givens (about a quarter of the cells of a minimal
    // 4x4 puzzle) are copied from the input; an untrained model sits near 0.3.
    assert!(after.token_accuracy > 0.75, "token accuracy only {:.3}", after.token_accuracy);
    assert!(after.token_accuracy > before.token_accuracy + 0.3);
    assert!(after.exact_accuracy > 0.2, "exact accuracy only {:.3}", after.exact_accuracy);
    let metrics = std::fs::read_to_string(run.join(METRICS_FILE)).unwrap();
    assert!(metrics.lines().count() >= 3, "metrics.jsonl has a line per log step");
    assert!(metrics.contains("\"split\":\"eval\""));
}

#[test]
fn a_resumed_run_reproduces_the_uninterrupted_run_bit_for_bit() {
    // Two evaluations (checkpoints) so the run can be interrupted after the first.
    resume_matches(&[
        "epochs=8",
        "eval_interval=4",
        "lr_warmup_steps=5",
        "log_interval=1",
        "hidden_size=16",
        "puzzle_emb_ndim=16",
    ]);
}

#[test]
fn resuming_from_a_checkpoint_in_the_middle_of_an_iteration_is_exact_too() {
    // One iteration only, checkpoints every 7 steps: the resume point lies mid-iteration,
    // so the sampler has to rebuild the iteration's batches and skip to the right one.
    resume_matches(&[
        "epochs=8",
        "eval_interval=8",
        "checkpoint_interval=7",
        "lr_warmup_steps=5",
        "log_interval=1",
        "hidden_size=16",
        "puzzle_emb_ndim=16",
    ]);
}

fn resume_matches(overrides: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = tiny(overrides);
    let straight = dir.path().join("straight");
    let mut a = Trainer::create(cfg.clone(), &straight, &Device::Cpu).unwrap();
    a.run(None, |_| {}).unwrap();

    let interrupted = dir.path().join("interrupted");
    // The data is generated from the same seed, so both runs read identical bytes.
    let mut b = Trainer::create(cfg.clone(), &interrupted, &Device::Cpu).unwrap();
    let total = b.total_steps();
    // Stop somewhere after the first checkpoint; the steps after it are redone on resume.
    b.run(Some(total * 3 / 4), |_| {}).unwrap();
    drop(b);
    let mut c = Trainer::resume(&interrupted, None, false, &Device::Cpu).unwrap();
    assert!(
        c.step() > 0 && c.step() < total,
        "resumed from a checkpoint in the middle (step {})",
        c.step()
    );
    c.run(None, |_| {}).unwrap();

    let ma = metrics_without_time(&std::fs::read_to_string(straight.join(METRICS_FILE)).unwrap());
    let mc =
        metrics_without_time(&std::fs::read_to_string(interrupted.join(METRICS_FILE)).unwrap());
    assert_eq!(ma.len(), mc.len());
    assert_eq!(ma, mc, "metrics of the resumed run equal the uninterrupted run's");
    let wa = std::fs::read(straight.join("model.safetensors")).unwrap();
    let wc = std::fs::read(interrupted.join("model.safetensors")).unwrap();
    assert!(wa == wc, "final weights are bit-identical");
}

#[test]
fn resuming_with_another_configuration_is_refused_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = tiny(&["epochs=4", "eval_interval=4", "hidden_size=16", "puzzle_emb_ndim=16"]);
    let run = dir.path().join("run");
    Trainer::create(cfg.clone(), &run, &Device::Cpu).unwrap().run(None, |_| {}).unwrap();
    let other = cfg.apply_overrides(&["lr=0.5".into()]).unwrap();
    let err = Trainer::resume(&run, Some(&other), false, &Device::Cpu).err().expect("refused");
    assert!(format!("{err:#}").contains("--force"), "{err:#}");
    assert!(Trainer::resume(&run, Some(&cfg), false, &Device::Cpu).is_ok());
}

#[test]
fn online_data_resumes_bit_for_bit_mid_iteration() {
    // Fresh puzzles every iteration: the resume point lies in the second of four iterations,
    // whose puzzles must be drawn again exactly.
    resume_matches(&[
        "data.generate.online=true",
        "epochs=8",
        "eval_interval=2",
        "checkpoint_interval=7",
        "lr_warmup_steps=5",
        "log_interval=1",
        "hidden_size=16",
        "puzzle_emb_ndim=16",
    ]);
}

#[test]
fn online_data_draws_new_puzzles_every_iteration_and_never_a_test_puzzle() {
    use std::collections::HashSet;
    use trm_train::config::RunConfig;
    use trm_train::generated::online_train_split;
    let cases: [(&str, &[&str]); 2] = [
        ("sudoku9-cpu", &["data.generate.min_givens=30", "data.generate.max_givens=40"]),
        ("maze-cpu", &["data.generate.size=6"]),
    ];
    for (preset, extra) in cases {
        let mut set: Vec<String> = vec![
            "data.generate.online=true".into(),
            "data.generate.train=200".into(),
            "data.generate.test=50".into(),
        ];
        set.extend(extra.iter().map(|s| s.to_string()));
        let cfg = RunConfig::preset(preset).unwrap().apply_overrides(&set).unwrap();
        cfg.validate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        trm_train::generated::ensure_generated_data(&cfg, dir.path()).unwrap();
        let data = trm_data::dataset::Dataset::load(dir.path()).unwrap();
        let (train, test) = (data.train.unwrap(), data.test.unwrap());
        let g = cfg.data.generate.as_ref().unwrap();
        // What is on disk is iteration 1; iteration 2 is new and the same when drawn again.
        let first = online_train_split(g, &test, 1).unwrap();
        assert_eq!(
            (first.inputs.clone(), first.labels.clone()),
            (train.inputs.clone(), train.labels.clone()),
            "{preset}: RUN/data/train holds iteration 1"
        );
        let second = online_train_split(g, &test, 2).unwrap();
        assert_eq!(
            second.inputs,
            online_train_split(g, &test, 2).unwrap().inputs,
            "{preset}: an iteration is drawn the same way twice"
        );
        let seq = train.meta.seq_len;
        let rows = |s: &trm_data::dataset::Split| -> HashSet<Vec<u8>> {
            s.inputs.chunks(seq).map(<[u8]>::to_vec).collect()
        };
        let (a, b, t) = (rows(&first), rows(&second), rows(&test));
        assert!(
            a.len() >= 200 && b.len() >= 200,
            "{preset}: 200 puzzles (and their copies) per iteration"
        );
        assert!(
            a.intersection(&b).count() * 10 < a.len(),
            "{preset}: iteration 2 brings mostly new puzzles"
        );
        assert!(
            a.is_disjoint(&t) && b.is_disjoint(&t),
            "{preset}: no training puzzle is a test puzzle"
        );
    }
}
