//! The official dataset layout (reference section 4.1).
//!
//! API contract used by the model/training crate and the CLI (implementation pending):
//!
//! ```text
//! pub struct Metadata { pad_id, ignore_label_id: Option<u32>, blank_identifier_id, vocab_size,
//!                       seq_len, num_puzzle_identifiers, total_groups, mean_puzzle_examples,
//!                       total_puzzles, sets }            // serde = dataset.json
//! pub struct Split { meta: Metadata, inputs: Vec<u8> /* [N, seq_len] */, labels: Vec<u8>,
//!                    puzzle_identifiers: Vec<i32>, puzzle_indices: Vec<i32>, group_indices: Vec<i32> }
//! Split::load(dir) -> Result<Split>;  split.num_examples(); split.example(i) -> (&[u8], &[u8])
//! pub struct Dataset { train: Split, test: Split, identifiers: Vec<String> }
//! Dataset::load(dir) -> Result<Dataset>;  dataset.write(dir) (atomic: temp dir + rename)
//! SplitBuilder: push groups of puzzles of examples, then finish(meta fields) -> Split
//! ```
