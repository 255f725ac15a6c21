//! `trm data custom` on the example task of the repository, training on it through
//! `trm train --config`, fine-tuning with `--init-from`, and bad input, run as a user runs them.

use std::path::{Path, PathBuf};

use trm_data::dataset::Dataset;
mod cli;
use cli::{fails, trm};

fn ok(args: &[&str]) -> (String, String) {
    let out = trm(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "trm {args:?} failed: {stderr}");
    (String::from_utf8(out.stdout).unwrap(), stderr)
}

/// A file of the example task `examples/tasks/latin`.
fn latin(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/tasks/latin").join(file);
    assert!(path.is_file(), "{} is missing", path.display());
    path.to_str().unwrap().to_string()
}

/// The last `"split":"eval"` line of a run's metrics.jsonl.
fn last_eval(run: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .rfind(|v| v["split"] == "eval")
        .expect("an evaluation line")
}

#[test]
fn the_latin_example_builds_and_a_small_model_learns_it() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |name: &str| tmp.path().join(name).to_str().unwrap().to_string();
    let build = [
        "data",
        "custom",
        "--task",
        &latin("task.toml"),
        "--train",
        &latin("train.csv"),
        "--test",
        &latin("test.csv"),
        "--aug",
        "4",
        "--seed",
        "0",
    ];
    let (stdout, _) = ok(&[&build[..], &["--out", &p("data")]].concat());
    assert!(stdout.contains("latin5: 5x5 grid, vocab 7, seq_len 25"), "{stdout}");
    assert!(stdout.contains("| train | 1000 | 5000 | 5000 | 4 / 4.00 / 4 |"), "{stdout}");
    assert!(stdout.contains("| test | 500 | 500 | 500 |"), "{stdout}");
    assert!(
        !stdout.contains("also appear in the training file"),
        "train and test inputs are distinct: {stdout}"
    );
    ok(&[&build[..], &["--out", &p("again")]].concat());
    for file in
        ["train/all__inputs.npy", "train/all__labels.npy", "test/all__labels.npy", "task.toml"]
    {
        let read = |d: &str| std::fs::read(tmp.path().join(d).join(file)).unwrap();
        assert!(read("data") == read("again"), "{file}: same seed, same bytes");
    }
    let ds = Dataset::load(&tmp.path().join("data")).unwrap();
    let meta = &ds.train.as_ref().unwrap().meta;
    assert_eq!(
        (meta.vocab_size, meta.seq_len, meta.num_puzzle_identifiers, meta.total_groups),
        (7, 25, 1, 1000)
    );

    // A short run of the example configuration: the model must do much better than copying
    // the givens (about half the cells) and guessing the blanks (1 in 5).
    let run = p("run");
    let short =
        ["--set", "epochs=12", "--set", "eval_interval=12", "--set", "eval_max_examples=200"];
    ok(&[
        &["train", "--config", &latin("train.toml"), "--data", &p("data"), "--out", &run][..],
        &short[..],
    ]
    .concat());
    let eval = last_eval(Path::new(&run));
    let (token, exact) =
        (eval["accuracy"].as_f64().unwrap(), eval["exact_accuracy"].as_f64().unwrap());
    eprintln!("held-out token accuracy {token:.3}, exact {exact:.3}");
    assert!(token > 0.8, "held-out token accuracy only {token:.3}");
    assert!(exact > 0.1, "held-out exact accuracy only {exact:.3}");

    // Fine-tuning from that run: the weights load (same task, same identifier count) ...
    let (_, stderr) = ok(&[
        &[
            "train",
            "--config",
            &latin("train.toml"),
            "--data",
            &p("data"),
            "--out",
            &p("tuned"),
            "--init-from",
            &run,
            "--stop-after",
            "1",
        ][..],
        &short[..],
    ]
    .concat());
    assert!(
        stderr.contains("initialised from") && stderr.contains("model.safetensors"),
        "{stderr}"
    );
    // ... but not into a model of another vocabulary: the error names the tensor, the shapes and the fix.
    let stderr = fails(&[
        "train",
        "--preset",
        "sudoku4",
        "--out",
        &p("sudoku"),
        "--init-from",
        &run,
        "--set",
        "hidden_size=32",
        "--set",
        "puzzle_emb_ndim=32",
        "--set",
        "data.generate.train=20",
        "--set",
        "data.generate.test=5",
    ]);
    assert!(
        stderr.contains("--init-from")
            && stderr.contains("embed_tokens.embedding_weight")
            && stderr.contains("[6, 32]")
            && stderr.contains("[7, 32]"),
        "{stderr}"
    );
}

#[test]
fn bad_task_and_data_files_name_the_file_the_line_and_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| -> String {
        let path: PathBuf = tmp.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let out = tmp.path().join("out").to_str().unwrap().to_string();
    let task = latin("task.toml");
    // A character outside the alphabet, on line 3.
    let bad_char = write("bad_char.csv", "input,output\n1234.2345134512451235123.,1234523451345124512351234\n1234.2345134512451235x23.,1234523451345124512351234\n");
    let err = fails(&["data", "custom", "--task", &task, "--train", &bad_char, "--out", &out]);
    assert!(
        err.contains("bad_char.csv")
            && err.contains("line 3")
            && err.contains("'x'")
            && err.contains("row 5, column 2")
            && err.contains("add the character to `alphabet`"),
        "{err}"
    );
    // A wrong length, on line 1 of a JSONL file.
    let bad_len = write(
        "bad_len.jsonl",
        "{\"input\": \"1234.234513451245123512\", \"output\": \"1234523451345124512351234\"}\n",
    );
    let err = fails(&["data", "custom", "--task", &task, "--test", &bad_len, "--out", &out]);
    assert!(
        err.contains("bad_len.jsonl")
            && err.contains("line 1")
            && err.contains("input has 23 characters, expected 25")
            && err.contains("5 rows x 5 columns"),
        "{err}"
    );
    // A blank in an answer.
    let blank = write("blank.csv", "input,output\n1234.2345134512451235123.,1234523451345124512351234\n.........................,123452345134512451235123.\n");
    let err = fails(&["data", "custom", "--task", &task, "--train", &blank, "--out", &out]);
    assert!(
        err.contains("blank.csv") && err.contains("line 3") && err.contains("inputs only"),
        "{err}"
    );
    // A task file with a misspelt key, and --aug on a task without augmentations.
    let typo = write("typo.toml", "alphabet = \".12345\"\nrow = 5\ncols = 5\n");
    let err =
        fails(&["data", "custom", "--task", &typo, "--train", &latin("train.csv"), "--out", &out]);
    assert!(err.contains("typo.toml") && err.contains("unknown field `row`"), "{err}");
    let plain = write("plain.toml", "alphabet = \".12345\"\nblanks = \".\"\nrows = 5\ncols = 5\n");
    let err = fails(&[
        "data",
        "custom",
        "--task",
        &plain,
        "--train",
        &latin("train.csv"),
        "--out",
        &out,
        "--aug",
        "2",
    ]);
    assert!(err.contains("plain.toml") && err.contains("--aug must be 0"), "{err}");
    let err = fails(&["data", "custom", "--task", &plain, "--out", &out]);
    assert!(err.contains("nothing to build"), "{err}");
    assert!(!Path::new(&out).exists(), "nothing is written after an error");
}
