//! The solver against tdoku's own test file (`puzzle:count[:solution]`, count 0, 1 or 2 = "two
//! or more"), and against the tdoku collections when `TRM_DATA_DIR` names a folder holding them
//! (`TRM_DATA_DIR/sudoku/<file>`, the files of tdoku's `data/` folder, github.com/t-dillon/tdoku).

mod common;

use std::path::Path;

use trm_data::sudoku::{build, solver, Grid};

#[test]
fn agrees_with_tdoku_test_puzzles() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tdoku_test_puzzles");
    let text = std::fs::read_to_string(path).unwrap();
    let mut checked = [0; 3];
    for line in text.lines() {
        let fields: Vec<&str> = line.split(':').collect();
        let puzzle = Grid::parse(fields[0]).unwrap();
        let expected: usize = fields[1].parse().unwrap();
        let a = solver::analyse(&puzzle);
        assert_eq!(a.solutions, expected.min(2), "{line}");
        if expected == 1 {
            assert_eq!(a.solution.unwrap().to_string(), fields[2], "{line}");
        }
        if let Some(s) = a.solution {
            assert!(puzzle.is_solved_by(&s));
        }
        checked[expected.min(2)] += 1;
    }
    assert_eq!(checked, [10, 18, 15]);
}

#[test]
fn solves_the_shared_collections_when_present() {
    let test = "solves_the_shared_collections_when_present";
    let Some(file) = common::shared_data(test, "sudoku/puzzles6_forum_hardest_1106") else {
        return;
    };
    let records = build::read_records(&file).unwrap();
    assert_eq!(records.len(), 375);
    for r in records {
        let a = solver::analyse(&r.puzzle);
        assert_eq!(a.solutions, 1, "line {}", r.line);
        assert!(r.puzzle.is_solved_by(&a.solution.unwrap()));
    }
}
