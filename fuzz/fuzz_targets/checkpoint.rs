//! Training checkpoints: `checkpoint::Checkpoint::load` and `Trainer::resume` of a tiny run
//! whose only checkpoint is the input, raw, byte-edited, or re-saved after structured edits
//! (tensors removed or replaced by others of another shape or dtype, state values changed)
//! so that it passes the file checks and reaches the restore; a run that resumes must train.
#![no_main]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use candle_core::{DType, Device, Tensor};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use trm_fuzz::{dump, edit, put, scratch, Input};
use trm_train::checkpoint::{self, Checkpoint};
use trm_train::config::RunConfig;
use trm_train::train::{Trainer, CHECKPOINT_DIR, CONFIG_FILE};

const OVERRIDES: &[&str] = &[
    "hidden_size=8", "puzzle_emb_ndim=8", "halt_max_steps=2", "global_batch_size=4", "epochs=4", "eval_interval=4",
    "checkpoint_interval=2", "log_interval=1", "eval_max_examples=4", "data.generate.train=12", "data.generate.test=4",
    "data.generate.aug=0",
];

struct Template {
    run: PathBuf,
    bytes: Vec<u8>,
    tensors: Vec<(String, Tensor)>,
    state: BTreeMap<String, Value>,
}

/// A tiny run stopped after 3 steps; its checkpoint of step 2 is the template.
fn template() -> &'static Template {
    static T: OnceLock<Template> = OnceLock::new();
    T.get_or_init(|| {
        let overrides: Vec<String> = OVERRIDES.iter().map(|s| s.to_string()).collect();
        let cfg = RunConfig::preset("sudoku4").unwrap().apply_overrides(&overrides).unwrap();
        let run = scratch().join("run");
        let mut trainer = Trainer::create(cfg, &run, &Device::Cpu).unwrap();
        trainer.run(Some(3), |_| {}).unwrap();
        let path = checkpoint::path_for_step(&run.join(CHECKPOINT_DIR), 2);
        let bytes = std::fs::read(&path).unwrap();
        let ck = Checkpoint::load(&path, &Device::Cpu).unwrap();
        dump("config.toml", &std::fs::read(run.join(CONFIG_FILE)).unwrap());
        Template {
            run,
            bytes,
            tensors: ck.tensors.into_iter().collect(),
            state: ck.state.as_object().unwrap().clone().into_iter().collect(),
        }
    })
}

/// A tensor of a shape and dtype taken from the input.
fn other_tensor(input: &mut Input) -> Tensor {
    let dims: Vec<usize> = (0..input.byte() % 4).map(|_| input.byte() as usize % 70).collect();
    let dtype = [DType::F32, DType::F64, DType::U8, DType::U32, DType::I64, DType::BF16][input.byte() as usize % 6];
    Tensor::ones(dims, dtype, &Device::Cpu).unwrap()
}

/// A JSON value taken from the input.
fn other_value(input: &mut Input) -> Value {
    let n = input.u16() as u64;
    match input.byte() % 7 {
        0 => Value::Null,
        1 => Value::from(n),
        2 => Value::from(-(n as i64)),
        3 => Value::from(u64::MAX - n),
        4 => Value::from(n as f64 / 7.0),
        5 => Value::from(n.to_string()),
        _ => Value::from((u128::MAX - n as u128).to_string()),
    }
}

fn structured(t: &Template, mut input: Input) -> Vec<u8> {
    let mut tensors = t.tensors.clone();
    let mut state = t.state.clone();
    for _ in 0..4 {
        let (kind, k) = (input.byte(), input.byte() as usize);
        let key = state.keys().nth(k % state.len()).cloned().unwrap();
        match kind % 4 {
            0 if !tensors.is_empty() => {
                tensors.remove(k % tensors.len());
            }
            1 if !tensors.is_empty() => {
                let i = k % tensors.len();
                tensors[i].1 = other_tensor(&mut input);
            }
            2 => {
                state.insert(key, other_value(&mut input));
            }
            3 => {
                state.remove(&key);
            }
            _ => {}
        }
    }
    let ck = Checkpoint { tensors: tensors.into_iter().collect(), state: Value::Object(state.into_iter().collect()) };
    let path = scratch().join("structured.safetensors");
    ck.save(&path).unwrap();
    std::fs::read(&path).unwrap()
}

fuzz_target!(|data: &[u8]| {
    let t = template();
    let mut input = Input::new(data);
    let bytes = match input.byte() % 3 {
        0 => input.rest().to_vec(),
        1 => edit(&t.bytes, input.rest()),
        _ => structured(t, input),
    };
    let dir = t.run.join(CHECKPOINT_DIR);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = checkpoint::path_for_step(&dir, 2);
    put(&path, "checkpoint.safetensors", &bytes);
    let _ = Checkpoint::load(&path, &Device::Cpu);
    if let Ok(mut trainer) = Trainer::resume(&t.run, None, false, &Device::Cpu) {
        let _ = trainer.run(Some(2), |_| {});
    }
});
