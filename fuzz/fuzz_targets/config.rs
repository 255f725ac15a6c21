//! Run configuration: `RunConfig::from_toml` + `validate` (and the model's), `--set`
//! overrides through `apply_overrides`, and the lenient official JSON model config.
//! A configuration that validates must survive a TOML round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trm_fuzz::Input;
use trm_model::ModelConfig;
use trm_train::config::{RunConfig, PRESETS};

fn check(cfg: &RunConfig) {
    if cfg.validate().is_err() {
        return;
    }
    let _ = cfg.arch.clone().with_dataset(6, 16, 1).validate();
    let text = cfg.to_toml().expect("a valid config prints");
    let again = RunConfig::from_toml(&text).expect("a printed config parses");
    assert_eq!(again.to_toml().unwrap(), text, "TOML round trip"); // as text: NaN != NaN
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let mode = input.byte();
    let text = String::from_utf8_lossy(input.rest());
    match mode % 3 {
        0 => {
            if let Ok(cfg) = RunConfig::from_toml(&text) {
                check(&cfg);
            }
        }
        1 => {
            let base = RunConfig::preset(PRESETS[mode as usize / 3 % PRESETS.len()]).unwrap();
            let overrides: Vec<String> = text.lines().map(str::to_string).collect();
            if let Ok(cfg) = base.apply_overrides(&overrides) {
                check(&cfg);
            }
        }
        _ => {
            if let Ok((cfg, _)) = ModelConfig::from_official_json(&text) {
                let _ = cfg.validate();
                let _ = ModelConfig::from_json_str(&text).map(|c| c.validate());
            }
        }
    }
});
