//! Maze text (`Maze::parse_lines`, `Maze::parse_flat`) and the official CSV
//! (`maze::csv::parse_csv`, the text behind `read_csv`), then solving, checking and the
//! dataset builder on what was accepted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trm_data::dihedral::Dihedral;
use trm_data::maze::{build, csv, Maze};
use trm_fuzz::Input;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let mode = input.byte();
    let (rows, cols) = (input.byte() as usize, input.byte() as usize);
    let rest = input.rest();
    let text = String::from_utf8_lossy(rest);
    match mode % 3 {
        0 => {
            let Ok(maze) = Maze::parse_lines(&text) else { return };
            assert_eq!(Maze::parse_lines(&maze.to_string()).unwrap(), maze, "print/parse round trip");
            if let Ok(answer) = maze.solve() {
                maze.check_answer(&answer).expect("the solver's answer passes the check");
                for t in Dihedral::ALL {
                    let (q, a) = (maze.transformed(t), answer.transformed(t));
                    q.check_answer(&a).expect("a transformed answer passes the check");
                }
            }
        }
        1 => {
            let _ = Maze::parse_flat(&text, rows, cols);
            let _ = Maze::from_tokens(rest, rows, cols);
        }
        _ => {
            let Ok(pairs) = csv::parse_csv(&text) else { return };
            if !pairs.is_empty() {
                let ds = build::build_maze_dataset(Some(&pairs), Some(&pairs), true).expect("checked mazes build a dataset");
                let split = ds.train.as_ref().unwrap();
                let (r, c) = (pairs[0].question.rows(), pairs[0].question.cols());
                for i in 0..split.num_examples() {
                    let (inp, lab) = split.example(i);
                    build::decode_example(inp, lab, r, c).expect("built examples decode");
                }
            }
        }
    }
});
