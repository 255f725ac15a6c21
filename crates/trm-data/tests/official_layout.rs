//! Reads a dataset written by the official builder's own code (numpy; see
//! fixtures/make_official_sudoku.py) and writes it back in the same layout.

use std::path::{Path, PathBuf};

use trm_data::dataset::{read_npy, Dataset};
use trm_data::sudoku::{solver, Grid};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/official_sudoku")
}

#[test]
fn loads_the_official_builder_output() {
    let ds = Dataset::load(&fixture()).unwrap();
    assert_eq!(ds.identifiers, vec!["<blank>".to_string()]);
    let train = ds.train.as_ref().unwrap();
    let test = ds.test.as_ref().unwrap();
    assert_eq!((train.num_groups(), train.num_puzzles(), train.num_examples()), (3, 9, 9));
    assert_eq!((test.num_groups(), test.num_puzzles(), test.num_examples()), (2, 2, 2));
    assert_eq!(train.group_indices, vec![0, 3, 6, 9]);
    assert_eq!(
        (train.meta.vocab_size, train.meta.seq_len, train.meta.ignore_label_id),
        (11, 81, Some(0))
    );
    for split in [train, test] {
        for i in 0..split.num_examples() {
            let (inp, lab) = split.example(i);
            let (p, s) = (Grid::from_tokens(inp).unwrap(), Grid::from_tokens(lab).unwrap());
            assert!(p.is_solved_by(&s), "example {i}");
            // The official labels are the unique solutions our solver finds.
            let a = solver::analyse(&p);
            assert_eq!((a.solutions, a.solution), (1, Some(s)));
        }
    }
    // The augmented copies keep the number of givens of their original.
    for g in 0..train.num_groups() {
        let givens: Vec<usize> = train
            .group_puzzles(g)
            .map(|p| {
                Grid::from_tokens(train.example(train.puzzle_examples(p).start).0).unwrap().givens()
            })
            .collect();
        assert!(givens.iter().all(|&n| n == givens[0]), "{givens:?}");
    }
}

#[test]
fn official_augmented_arrays_are_int64_and_we_write_uint8() {
    // The official builder's digit map is int64, so its augmented inputs come out int64.
    let (_, shape) = read_npy::<u8>(&fixture().join("train/all__inputs.npy")).unwrap();
    assert_eq!(shape, vec![9, 81]);
    let ds = Dataset::load(&fixture()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("copy");
    ds.write(&out).unwrap();
    assert_eq!(Dataset::load(&out).unwrap(), ds);
    let bytes = std::fs::read(out.join("train/all__inputs.npy")).unwrap();
    assert!(String::from_utf8_lossy(&bytes[..64]).contains("'descr': '|u1'"));
    assert_eq!(bytes.len(), 128 + 9 * 81);
}
