//! The official dataset layout: `dataset::read_npy` and `Dataset::load` on a folder whose
//! files come from the input (one file raw or edited, the others valid; several dtypes, byte
//! orders and Fortran order as templates), then what training does with an accepted split
//! (every accessor, the sampler, collation).
#![no_main]

use libfuzzer_sys::fuzz_target;
use trm_data::dataset::{read_npy, Dataset};
use trm_fuzz::{edit, put, scratch, Input};

/// A valid `.npy` file (format 1.0).
fn npy(descr: &str, fortran: bool, shape: &[u64], values: &[i64]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
    let shape_text = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let fortran = if fortran { "True" } else { "False" };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape_text}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    let size: usize = descr[2..].parse().unwrap();
    for &v in values {
        let le = v.to_le_bytes();
        if descr.starts_with('>') {
            out.extend(le[..size].iter().rev());
        } else {
            out.extend_from_slice(&le[..size]);
        }
    }
    out
}

/// Template split: seq_len 4, 4 examples in 3 puzzles in 2 groups, vocab 6, 3 identifiers.
const INPUTS: [i64; 16] = [1, 2, 3, 4, 5, 1, 2, 3, 0, 1, 1, 2, 3, 3, 4, 5];
const LABELS: [i64; 16] = [2, 2, 3, 4, 5, 5, 2, 3, 1, 1, 1, 2, 3, 4, 4, 5];
/// (descr, fortran order) of the token arrays, and descr of the index arrays.
const TOKEN_TYPES: [(&str, bool); 5] = [("|u1", false), ("|u1", true), ("<i8", false), (">u2", true), ("|i1", false)];
const INDEX_TYPES: [&str; 4] = ["<i4", "<i8", ">i4", "|u1"];

fn files(variant: u8) -> Vec<(&'static str, Vec<u8>)> {
    let (tok, fortran) = TOKEN_TYPES[variant as usize % TOKEN_TYPES.len()];
    let idx = INDEX_TYPES[variant as usize / TOKEN_TYPES.len() % INDEX_TYPES.len()];
    // Fortran order stores the transpose.
    let order = |v: &[i64]| -> Vec<i64> {
        if fortran { (0..16).map(|i| v[(i % 4) * 4 + i / 4]).collect() } else { v.to_vec() }
    };
    let meta = r#"{"pad_id": 0, "ignore_label_id": 0, "blank_identifier_id": 0, "vocab_size": 6, "seq_len": 4,
        "num_puzzle_identifiers": 3, "total_groups": 2, "mean_puzzle_examples": 1.3333, "total_puzzles": 3, "sets": ["all"]}"#;
    vec![
        ("train/all__inputs.npy", npy(tok, fortran, &[4, 4], &order(&INPUTS))),
        ("train/all__labels.npy", npy(tok, fortran, &[4, 4], &order(&LABELS))),
        ("train/all__puzzle_identifiers.npy", npy(idx, false, &[3], &[0, 2, 1])),
        ("train/all__puzzle_indices.npy", npy(idx, false, &[4], &[0, 2, 3, 4])),
        ("train/all__group_indices.npy", npy(idx, false, &[3], &[0, 2, 3])),
        ("train/dataset.json", meta.as_bytes().to_vec()),
        ("identifiers.json", br#"["<blank>", "a", "b"]"#.to_vec()),
    ]
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let (which, how, variant) = (input.byte(), input.byte(), input.byte());
    let rest = input.rest();
    let mut files = files(variant);
    let k = which as usize % files.len();
    files[k].1 = if how % 2 == 0 { rest.to_vec() } else { edit(&files[k].1, rest) };
    let dir = scratch().join("dataset");
    std::fs::create_dir_all(dir.join("train")).unwrap();
    for (name, bytes) in &files {
        put(&dir.join(name), &format!("dataset/{name}"), bytes);
    }
    let changed = dir.join(files[k].0);
    let _ = read_npy::<u8>(&changed);
    let _ = read_npy::<i32>(&changed);
    let Ok(ds) = Dataset::load(&dir) else { return };
    let split = ds.train.as_ref().expect("the template has a train split");
    for g in 0..split.num_groups() {
        for p in split.group_puzzles(g) {
            let _ = split.puzzle_identifiers[p];
            for e in split.puzzle_examples(p) {
                let _ = split.example(e);
            }
        }
    }
    for batch_size in 1..=3 {
        for b in trm_train::sampler::iteration_batches(split, 0, 1, 2, batch_size) {
            trm_train::eval::collate(split, &b.examples, &b.puzzles).expect("sampled rows collate");
        }
    }
});
