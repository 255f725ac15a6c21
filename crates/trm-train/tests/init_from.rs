//! Starting a run from trained weights (`--init-from`): run folders and checkpoints load,
//! a puzzle table of another size is reset to its mean row, other mismatches are refused.

use candle_core::{Device, Tensor};
use std::path::{Path, PathBuf};
use trm_data::dataset::{Dataset, Split, SplitBuilder, TokenSpec};
use trm_model::{names, read_state_file};
use trm_train::config::RunConfig;
use trm_train::init::INIT_FILE;
use trm_train::train::{ensure_generated_data, Trainer, CHECKPOINT_DIR, CONFIG_FILE, MODEL_FILE};

/// A very small sudoku4 configuration (two epochs, one evaluation at the end) whose data
/// is `data`, or generated there when `data` is empty.
fn tiny(data: &Path, extra: &[&str]) -> RunConfig {
    let mut overrides: Vec<String> = [
        "hidden_size=16",
        "puzzle_emb_ndim=16",
        "global_batch_size=32",
        "data.generate.train=96",
        "data.generate.test=32",
        "data.generate.aug=1",
        "epochs=2",
        "eval_interval=2",
        "lr_warmup_steps=2",
        "log_interval=2",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    overrides.extend(extra.iter().map(|s| s.to_string()));
    let mut cfg = RunConfig::preset("sudoku4").unwrap().apply_overrides(&overrides).unwrap();
    if !data.as_os_str().is_empty() {
        cfg.data.path = data.to_path_buf();
        cfg.data.generate = None;
    }
    cfg
}

/// `split` again with every puzzle of group `g` given identifier `1 + g % (ids - 1)`.
fn with_identifiers(split: &Split, ids: u32) -> Split {
    let mut b = SplitBuilder::new(split.meta.seq_len);
    for g in 0..split.num_groups() {
        for p in split.group_puzzles(g) {
            for e in split.puzzle_examples(p) {
                let (i, l) = split.example(e);
                b.push_example(i, l).unwrap();
            }
            b.finish_puzzle(1 + (g as u32 % (ids - 1)) as i32).unwrap();
        }
        b.finish_group().unwrap();
    }
    let m = &split.meta;
    let spec = TokenSpec {
        pad_id: m.pad_id,
        ignore_label_id: m.ignore_label_id,
        blank_identifier_id: 0,
        vocab_size: m.vocab_size,
        num_puzzle_identifiers: ids,
    };
    b.finish(spec).unwrap()
}

fn tensor(tensors: &[(String, Tensor)], name: &str) -> Vec<f32> {
    tensors
        .iter()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("no tensor {name}"))
        .1
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

struct Fixture {
    _dir: tempfile::TempDir,
    /// Generated 4x4 Sudoku, one puzzle identifier.
    one_id: PathBuf,
    /// A finished run on the same puzzles spread over 3 identifiers.
    run: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let one_id = dir.path().join("one-id");
    ensure_generated_data(&tiny(Path::new(""), &[]), &one_id).unwrap();
    let ds = Dataset::load(&one_id).unwrap();
    let three = Dataset {
        train: Some(with_identifiers(ds.train.as_ref().unwrap(), 3)),
        test: Some(with_identifiers(ds.test.as_ref().unwrap(), 3)),
        identifiers: vec!["<blank>".into(), "a".into(), "b".into()],
    };
    let three_ids = dir.path().join("three-ids");
    three.write(&three_ids).unwrap();
    let run = dir.path().join("run");
    Trainer::create(tiny(&three_ids, &[]), &run, &Device::Cpu).unwrap().run(None, |_| {}).unwrap();
    Fixture { _dir: dir, one_id, run }
}

#[test]
fn fine_tuning_resets_the_puzzle_table_to_its_mean_row_and_keeps_the_rest() {
    let f = fixture();
    let source = read_state_file(&f.run.join(MODEL_FILE)).unwrap();
    let old_table = tensor(&source, names::PUZZLE_EMB);
    assert_eq!(old_table.len(), 3 * 16);

    let tuned = f.run.with_file_name("tuned");
    let (mut trainer, report) =
        Trainer::create_with_init(tiny(&f.one_id, &[]), &tuned, &Device::Cpu, Some(&f.run))
            .unwrap();
    let report = report.expect("a report when initialised");
    assert_eq!(report.source, f.run.join(MODEL_FILE));
    let note = report.notes.join("\n");
    assert!(
        note.contains("3 rows") && note.contains("1 puzzle identifiers") && note.contains("mean"),
        "{note}"
    );
    assert!(tuned.join(INIT_FILE).is_file());

    // Values, not tensors: training updates the weights in place.
    let loaded: Vec<(String, Vec<f32>)> = trainer
        .model
        .state()
        .into_iter()
        .map(|(n, t)| (n, t.flatten_all().unwrap().to_vec1().unwrap()))
        .collect();
    let value = |name: &str| loaded.iter().find(|(n, _)| n == name).unwrap().1.clone();
    for name in [
        names::LM_HEAD,
        names::EMBED_TOKENS,
        names::H_INIT,
        "L_level.layers.0.mlp.down_proj.weight",
    ] {
        assert_eq!(value(name), tensor(&source, name), "{name} is the source's");
    }
    let table = value(names::PUZZLE_EMB);
    assert_eq!(table.len(), 16, "one row for the new dataset's one identifier");
    for (j, &v) in table.iter().enumerate() {
        let mean = (0..3).map(|r| old_table[r * 16 + j]).sum::<f32>() / 3.0;
        assert!((v - mean).abs() < 1e-6, "column {j}: {v} vs mean {mean}");
    }
    // It trains from there.
    trainer.run(None, |_| {}).unwrap();
    assert!(tuned.join(MODEL_FILE).is_file());

    // A checkpoint of the source run gives the same start: its EMA weights, and H_init /
    // L_init drawn again from its configuration.
    let ck =
        trm_train::checkpoint::list(&f.run.join(CHECKPOINT_DIR)).unwrap().last().unwrap().1.clone();
    let from_ck = f.run.with_file_name("from-checkpoint");
    let (t2, _) =
        Trainer::create_with_init(tiny(&f.one_id, &[]), &from_ck, &Device::Cpu, Some(&ck)).unwrap();
    let state = t2.model.state();
    assert_eq!(state.len(), loaded.len());
    for ((name, a), (_, b)) in loaded.iter().zip(state) {
        assert_eq!(
            a,
            &b.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            "{name} differs between the run folder and its checkpoint"
        );
    }
}

#[test]
fn other_shape_mismatches_name_the_tensor_and_the_fix() {
    let f = fixture();
    let wider = f.run.with_file_name("wider");
    let err = Trainer::create_with_init(
        tiny(&f.one_id, &["hidden_size=32", "puzzle_emb_ndim=32"]),
        &wider,
        &Device::Cpu,
        Some(&f.run),
    )
    .err()
    .expect("refused");
    let msg = format!("{err:#}");
    assert!(
        msg.contains("--init-from") && msg.contains("model.safetensors") && msg.contains("[arch]"),
        "{msg}"
    );
    assert!(
        msg.contains("expected shape [") && msg.contains("found [") && msg.contains("16"),
        "names the tensor's shapes: {msg}"
    );
    assert!(
        !wider.join(CONFIG_FILE).exists(),
        "no run is left behind, so the command can be run again"
    );

    let missing = f.run.with_file_name("nothing-here");
    let err = Trainer::create_with_init(tiny(&f.one_id, &[]), &wider, &Device::Cpu, Some(&missing))
        .err()
        .expect("refused");
    assert!(format!("{err:#}").contains("no such file or run folder"), "{err:#}");
    let empty = f.run.with_file_name("empty-run");
    std::fs::create_dir_all(&empty).unwrap();
    let err = Trainer::create_with_init(tiny(&f.one_id, &[]), &wider, &Device::Cpu, Some(&empty))
        .err()
        .expect("refused");
    assert!(format!("{err:#}").contains("without model.safetensors"), "{err:#}");
}
