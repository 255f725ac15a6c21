//! ARC task JSON through `arc::read_tasks` (a single task file, a folder of task files, a
//! Kaggle challenges file with or without its solutions sibling) and `read_test_puzzles`,
//! then encoding and augmenting what was accepted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trm_data::arc::build::{encode_test_inputs, task_augmentations};
use trm_data::arc::encode::Canvas;
use trm_data::arc::read::read_test_puzzles;
use trm_data::arc::{read_tasks, Task};
use trm_fuzz::{put, scratch, Input};

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let mode = input.byte();
    let first = input.until(0xff);
    let second = input.rest();
    let tasks = match mode % 4 {
        0 => {
            let path = scratch().join("task.json");
            put(&path, "task.json", first);
            read_tasks(&path)
        }
        1 => {
            let dir = scratch().join("folder");
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(dir.join("sub")).unwrap();
            put(&dir.join("a.json"), "folder/a.json", first);
            put(&dir.join("sub/b.json"), "folder/sub/b.json", second);
            read_tasks(&dir)
        }
        2 => {
            let dir = scratch().join("kaggle");
            std::fs::create_dir_all(&dir).unwrap();
            let challenges = dir.join("x_challenges.json");
            put(&challenges, "x_challenges.json", first);
            let solutions = dir.join("x_solutions.json");
            if second.is_empty() {
                let _ = std::fs::remove_file(&solutions);
            } else {
                put(&solutions, "x_solutions.json", second);
            }
            read_tasks(&challenges)
        }
        _ => {
            let path = scratch().join("test_puzzles.json");
            put(&path, "test_puzzles.json", first);
            read_test_puzzles(&path).map(|m| m.into_values().collect())
        }
    };
    if let Ok(tasks) = tasks {
        tasks.iter().for_each(exercise);
    }
});

/// What the builder does with an accepted task must not fail.
fn exercise(task: &Task) {
    for pair in task.train.iter().chain(&task.test) {
        for grid in [&pair.input, &pair.output] {
            let canvas = Canvas::OFFICIAL;
            assert_eq!(&canvas.crop(&canvas.encode(grid, 0, 0)), grid, "encode/crop round trip");
        }
    }
    for aug in task_augmentations(task, 2, 0) {
        let _ = encode_test_inputs(task, &aug, Canvas::OFFICIAL);
        for pair in &task.train {
            assert_eq!(aug.invert(&aug.apply(&pair.input)), pair.input, "augmentation round trip");
        }
    }
}
