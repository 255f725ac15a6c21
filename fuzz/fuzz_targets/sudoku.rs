//! Sudoku puzzle strings (`Grid::parse`, `Grid::from_tokens`) and puzzle files
//! (`sudoku::build::parse_records`, the text behind `read_records`), then the checks and the
//! dataset builder on what was accepted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use trm_data::sudoku::build::{build_split, check_record, parse_records};
use trm_data::sudoku::Grid;

fuzz_target!(|data: &[u8]| {
    let _ = Grid::from_tokens(data);
    let text = String::from_utf8_lossy(data);
    for line in text.lines() {
        if let Ok(g) = Grid::parse(line) {
            assert_eq!(Grid::parse(&g.to_string()).unwrap(), g, "print/parse round trip");
            let _ = g.render();
            let _ = g.check_consistent();
        }
    }
    let Ok(records) = parse_records(&text) else { return };
    let size = records[0].puzzle.size();
    let examples: Vec<_> =
        records.iter().take(8).filter_map(|r| check_record(r, size, data.len() % 2 == 0).ok()).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    build_split(&examples, size, 1, &mut rng).expect("checked examples build a split");
});
