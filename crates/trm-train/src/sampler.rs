//! Training batches as the official `PuzzleDataset._iter_train` draws them (design 3.6).
//!
//! One epoch is one pass over the *groups* (an original puzzle and its augmented copies).
//! An iteration covers `epochs_per_iter` epochs: their shuffled group orders are concatenated,
//! then batches are packed in that order, each group contributing one of its puzzles chosen at
//! random, with all that puzzle's examples in random order (examples that overflow the batch
//! are dropped). The last, incomplete batch of an iteration is dropped.
//!
//! Everything is drawn from a ChaCha8 generator seeded with `seed + iteration`, so the batches
//! of an iteration can be rebuilt at any time: resuming needs only (iteration, batch index).
//! (Official: a Philox generator for groups and NumPy's unseeded global generator for the
//! example order, so its runs are not reproducible; ours are.)

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use trm_data::dataset::Split;

/// One training batch: indices of examples in the split, and the puzzle each belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchIndices {
    /// Indices of the batch's examples in the split, in batch order.
    pub examples: Vec<usize>,
    /// For each example, the index of its puzzle in the split (which gives its identifier).
    pub puzzles: Vec<usize>,
}

/// All batches of iteration `iteration` (counted from 1, as the official loader counts).
pub fn iteration_batches(
    split: &Split,
    seed: u64,
    iteration: u64,
    epochs_per_iter: usize,
    batch_size: usize,
) -> Vec<BatchIndices> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(iteration));
    let num_groups = split.group_indices.len() - 1;
    let mut order = Vec::with_capacity(num_groups * epochs_per_iter);
    for _ in 0..epochs_per_iter {
        let mut epoch: Vec<usize> = (0..num_groups).collect();
        epoch.shuffle(&mut rng);
        order.extend(epoch);
    }
    let mut batches = Vec::new();
    let mut next = 0;
    while next < order.len() {
        let mut batch = BatchIndices {
            examples: Vec::with_capacity(batch_size),
            puzzles: Vec::with_capacity(batch_size),
        };
        while next < order.len() && batch.examples.len() < batch_size {
            let group = order[next];
            next += 1;
            let (first, last) =
                (split.group_indices[group] as usize, split.group_indices[group + 1] as usize);
            let puzzle = rng.random_range(first..last);
            let (start, end) =
                (split.puzzle_indices[puzzle] as usize, split.puzzle_indices[puzzle + 1] as usize);
            let take = (end - start).min(batch_size - batch.examples.len());
            let mut examples: Vec<usize> = (start..end).collect();
            examples.shuffle(&mut rng);
            batch.examples.extend_from_slice(&examples[..take]);
            batch.puzzles.extend(std::iter::repeat_n(puzzle, take));
        }
        if batch.examples.len() < batch_size {
            break;
        }
        batches.push(batch);
    }
    batches
}

/// Number of optimizer steps of a run, as the official trainer computes it:
/// `floor(epochs * total_groups * mean_puzzle_examples / global_batch_size)`.
pub fn total_steps(
    epochs: usize,
    total_groups: usize,
    mean_puzzle_examples: f64,
    batch_size: usize,
) -> u64 {
    (epochs as f64 * total_groups as f64 * mean_puzzle_examples / batch_size as f64) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use trm_data::dataset::Metadata;

    /// Three groups: group 0 has two puzzles of 2 examples; group 1 one puzzle of 3; group 2
    /// one puzzle of 1. Examples are numbered 0..8.
    fn split() -> Split {
        let meta = Metadata {
            pad_id: 0,
            ignore_label_id: Some(0),
            blank_identifier_id: 0,
            vocab_size: 3,
            seq_len: 1,
            num_puzzle_identifiers: 5,
            total_groups: 3,
            mean_puzzle_examples: 2.0,
            total_puzzles: 4,
            sets: vec!["all".into()],
        };
        Split {
            meta,
            inputs: vec![1; 8],
            labels: vec![2; 8],
            puzzle_identifiers: vec![1, 2, 3, 4],
            puzzle_indices: vec![0, 2, 4, 7, 8],
            group_indices: vec![0, 2, 3, 4],
        }
    }

    #[test]
    fn batches_are_full_reproducible_and_keep_puzzles_together() {
        let s = split();
        let a = iteration_batches(&s, 7, 1, 10, 4);
        assert_eq!(a, iteration_batches(&s, 7, 1, 10, 4), "same seed and iteration, same batches");
        assert_ne!(a, iteration_batches(&s, 7, 2, 10, 4), "another iteration, other batches");
        assert!(!a.is_empty());
        let mut group0_puzzles = std::collections::BTreeSet::new();
        for b in &a {
            assert_eq!(b.examples.len(), 4);
            for (&e, &p) in b.examples.iter().zip(&b.puzzles) {
                assert!(e >= s.puzzle_indices[p] as usize && e < s.puzzle_indices[p + 1] as usize);
                if p < 2 {
                    group0_puzzles.insert(p);
                }
            }
        }
        assert_eq!(
            group0_puzzles.len(),
            2,
            "both augmentations of group 0 get drawn over 10 epochs"
        );
        // 10 epochs hold 10 * (2 + 3 + 1) = 60 examples minus overflow, so at most 15 batches.
        assert!(a.len() <= 15 && a.len() >= 10, "{}", a.len());
    }

    #[test]
    fn total_steps_follows_the_official_formula() {
        assert_eq!(total_steps(50_000, 1_000, 1.0, 768), 65_104);
        assert_eq!(total_steps(20_000, 1_000, 1.0, 768), 26_041);
    }
}
