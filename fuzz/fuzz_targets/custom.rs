//! The own-task format (`trm_data::custom`): the task file, then CSV and JSONL data against
//! a task that parsed, and the dataset builder on what was accepted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trm_data::custom::Task;
use trm_fuzz::Input;

/// A valid task to read data against when the input's task text does not parse.
const LATIN: &str = include_str!("../../examples/tasks/latin/task.toml");

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let mode = input.byte();
    let split = input.byte() as usize;
    let rest = input.rest();
    let text = String::from_utf8_lossy(rest);
    let (task_text, data_text) = if mode % 2 == 0 {
        let at = split.min(text.len());
        let at = (0..=at).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        (text[..at].to_string(), text[at..].to_string())
    } else {
        (LATIN.to_string(), text.to_string())
    };
    let task = match Task::parse(&task_text, "fuzz.toml") {
        Ok(t) => t,
        Err(_) => Task::parse(LATIN, "latin.toml").expect("the example task parses"),
    };
    for pairs in [task.parse_csv(&data_text), task.parse_jsonl(&data_text)] {
        let Ok(pairs) = pairs else { continue };
        if pairs.is_empty() {
            continue;
        }
        let ds = task.build_dataset(Some(pairs.as_slice()), Some(pairs.as_slice()), 2, 0).expect("checked pairs build a dataset");
        let split = ds.train.as_ref().unwrap();
        for i in 0..split.num_examples() {
            let (inp, _) = split.example(i);
            let _ = task.decode(inp);
        }
    }
});
