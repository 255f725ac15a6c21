//! `trm data inspect`: a dataset's metadata, counts and a few decoded examples.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Result;
use trm_data::dataset::{Dataset, Split};
use trm_data::sudoku::{self, check::solved_labels};
use trm_viz::terminal;

#[derive(clap::Args)]
pub struct InspectArgs {
    /// Dataset folder (holding train/ and/or test/).
    dir: PathBuf,
    /// Examples shown per split (the first puzzle of the first groups, then an augmented copy).
    #[arg(long, default_value_t = 2)]
    examples: usize,
}

pub fn counts(split: &Split) -> String {
    format!(
        "{} groups, {} puzzles, {} examples",
        split.num_groups(),
        split.num_puzzles(),
        split.num_examples()
    )
}

pub fn inspect(a: InspectArgs) -> Result<()> {
    let dataset = Dataset::load(&a.dir)?;
    let colour = std::io::stdout().is_terminal();
    println!("dataset {}", a.dir.display());
    let names: Vec<&str> = dataset.identifiers.iter().take(5).map(String::as_str).collect();
    let more = dataset.identifiers.len().saturating_sub(names.len());
    println!(
        "identifiers: {} ({}{})",
        dataset.identifiers.len(),
        names.join(", "),
        if more > 0 { format!(", ... {more} more") } else { String::new() }
    );
    for (name, split) in dataset.splits() {
        let m = &split.meta;
        println!("\n[{name}] {}", counts(split));
        println!(
            "  seq_len {}  vocab_size {}  pad_id {}  ignore_label_id {:?}  blank_identifier_id {}  num_puzzle_identifiers {}",
            m.seq_len, m.vocab_size, m.pad_id, m.ignore_label_id, m.blank_identifier_id, m.num_puzzle_identifiers
        );
        println!(
            "  total_groups {}  total_puzzles {}  mean_puzzle_examples {}  sets {:?}",
            m.total_groups, m.total_puzzles, m.mean_puzzle_examples, m.sets
        );
        if let Some(size) = sudoku::side_of_dataset(m) {
            println!(
                "  {size}x{size} Sudoku: {} of {} labels solve their inputs",
                solved_labels(split),
                split.num_examples()
            );
        }
        for i in split.sample_examples(a.examples) {
            let (inp, lab) = split.example(i);
            let puzzle = split.puzzle_of_example(i);
            let group = split.group_of_puzzle(puzzle);
            let copy = puzzle - split.group_puzzles(group).start;
            println!(
                "\n  example {i}: group {group}, puzzle {puzzle} ({}), identifier {}",
                if copy == 0 { "original".to_string() } else { format!("augmented copy {copy}") },
                split.puzzle_identifiers[puzzle]
            );
            for line in terminal::example(m, inp, lab, colour).lines() {
                println!("    {line}");
            }
        }
    }
    Ok(())
}
