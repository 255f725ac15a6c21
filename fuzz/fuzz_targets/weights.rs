//! Weights files: `Model::from_file` and `Model::load_file` (safetensors by content, PyTorch
//! `torch.save` zips by their `PK` magic) on a tiny configuration, the file being the input
//! or an edit of a valid safetensors / PyTorch template; a model that loads must then run.
#![no_main]

use std::sync::OnceLock;

use candle_core::Device;
use libfuzzer_sys::fuzz_target;
use trm_fuzz::{dump, edit, put, scratch, Input};
use trm_model::{Batch, LoadOptions, Model, ModelConfig, PuzzleRowsPolicy};

const TINY: &str = r#"
arch = "trm"
seq_len = 4
vocab_size = 5
num_puzzle_identifiers = 3
puzzle_emb_ndim = 8
puzzle_emb_len = 1
H_cycles = 1
L_cycles = 1
L_layers = 1
hidden_size = 8
expansion = 2.0
num_heads = 2
pos_encodings = "rope"
halt_max_steps = 2
halt_exploration_prob = 0.1
forward_dtype = "float32"
"#;

/// The official checkpoint layout of the same tiny model (`_orig_mod.model.inner.` keys,
/// bf16 `H_init`/`L_init`), made by `fuzz/templates/make_torch_template.py`.
const TORCH_TEMPLATE: &[u8] = include_bytes!("../templates/tiny_trm.pt");

fn config() -> ModelConfig {
    ModelConfig::from_toml_str(TINY).unwrap()
}

fn safetensors_template() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let model = Model::new(config(), &Device::Cpu, 0).unwrap();
        let path = scratch().join("template.safetensors");
        model.save_safetensors(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        dump("template.safetensors", &bytes);
        bytes
    })
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let (mode, options) = (input.byte(), input.byte());
    let rest = input.rest();
    let bytes = match mode % 4 {
        0 => rest.to_vec(),
        1 => edit(safetensors_template(), rest),
        2 => edit(TORCH_TEMPLATE, rest),
        _ => [b"PK\x03\x04", rest].concat(),
    };
    let path = scratch().join("weights");
    put(&path, "weights", &bytes);
    let opts = LoadOptions {
        puzzle_rows: if options % 2 == 0 { PuzzleRowsPolicy::Error } else { PuzzleRowsPolicy::MeanReset },
        key_prefix: (options / 2 % 2 == 1).then(|| "_orig_mod.".to_string()),
    };
    let loaded = Model::from_file(config(), &Device::Cpu, &path, &opts);
    let mut model = Model::new(config(), &Device::Cpu, 1).unwrap();
    let in_place = model.load_file(&path, &opts);
    assert_eq!(loaded.is_ok(), in_place.is_ok(), "from_file and load_file agree");
    if let Ok((model, _)) = loaded {
        let batch = Batch::new(vec![1, 2, 3, 4, 4, 3, 2, 1], vec![1; 8], vec![0, 2], 4).unwrap();
        model.eval_all_steps(&batch).expect("a loaded model runs");
    }
});
