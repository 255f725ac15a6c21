//! The official Sudoku shuffle (`shuffle_sudoku` of the Sudoku-Extreme builder, reference
//! section 4.2), generalised from 9x9 (3 bands of 3 rows) to any box size.
//!
//! One draw: a digit relabelling (blank stays blank), a transpose with probability 0.5
//! (applied first), a permutation of the bands and of the rows inside each band, the same for
//! stacks and columns. New cell (r, c) takes old cell (`row_perm[r]`, `col_perm[c]`) of the
//! (possibly transposed) grid; the digit map is applied last. Puzzle and solution get the same
//! draw, so the pair stays consistent.

use rand::seq::SliceRandom;
use rand::Rng;

use super::{box_size, Grid};

/// One random draw of the shuffle, applicable to any number of grids of its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shuffle {
    size: usize,
    /// `digit_map[d]` is the new digit for old digit `d`; `digit_map[0] = 0`.
    pub digit_map: Vec<u8>,
    /// Whether the grid is transposed first.
    pub transpose: bool,
    /// `row_perm[r]` is the old row that becomes row `r` (bands permuted, then rows in a band).
    pub row_perm: Vec<usize>,
    /// `col_perm[c]` is the old column that becomes column `c` (stacks, then columns in a stack).
    pub col_perm: Vec<usize>,
}

impl Shuffle {
    /// Draws digit map, transpose flag, row and column permutations, in the official order.
    pub fn random(size: usize, rng: &mut impl Rng) -> Shuffle {
        let b = box_size(size);
        let mut digits: Vec<u8> = (1..=size as u8).collect();
        digits.shuffle(rng);
        let digit_map = std::iter::once(0).chain(digits).collect();
        let transpose = rng.random::<f64>() < 0.5;
        let line_perm = |rng: &mut _| {
            let mut bands: Vec<usize> = (0..b).collect();
            bands.shuffle(rng);
            let mut perm = Vec::with_capacity(size);
            for band in bands {
                let mut inner: Vec<usize> = (0..b).collect();
                inner.shuffle(rng);
                perm.extend(inner.into_iter().map(|i| band * b + i));
            }
            perm
        };
        let row_perm = line_perm(rng);
        let col_perm = line_perm(rng);
        Shuffle { size, digit_map, transpose, row_perm, col_perm }
    }

    /// The shuffled grid.
    pub fn apply(&self, grid: &Grid) -> Grid {
        assert_eq!(grid.size(), self.size, "shuffle drawn for another grid size");
        let mut out = Grid::empty(self.size);
        for r in 0..self.size {
            for c in 0..self.size {
                let (sr, sc) = (self.row_perm[r], self.col_perm[c]);
                let v = if self.transpose { grid.get(sc, sr) } else { grid.get(sr, sc) };
                out.set(r, c, self.digit_map[v as usize]);
            }
        }
        out
    }
}

/// Shuffles a puzzle and its solution with one draw.
pub fn shuffle_pair(puzzle: &Grid, solution: &Grid, rng: &mut impl Rng) -> (Grid, Grid) {
    let s = Shuffle::random(puzzle.size(), rng);
    (s.apply(puzzle), s.apply(solution))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sudoku::solver;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn keeps_pairs_valid_for_both_sizes() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for size in [4, 9] {
            for _ in 0..50 {
                let solution = solver::random_solution(size, &mut rng);
                let mut puzzle = solution;
                for i in 0..size {
                    puzzle.set(i, (i * 2) % size, 0);
                }
                let (p, s) = shuffle_pair(&puzzle, &solution, &mut rng);
                assert!(p.is_solved_by(&s));
                assert_eq!(p.givens(), puzzle.givens());
            }
        }
    }

    #[test]
    fn permutations_respect_bands() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for _ in 0..100 {
            let s = Shuffle::random(9, &mut rng);
            for perm in [&s.row_perm, &s.col_perm] {
                let mut sorted = perm.clone();
                sorted.sort();
                assert_eq!(sorted, (0..9).collect::<Vec<_>>());
                for band in perm.chunks(3) {
                    assert!(band.iter().all(|&i| i / 3 == band[0] / 3), "{perm:?}");
                }
            }
            assert_eq!(s.digit_map[0], 0);
        }
    }

    #[test]
    fn maps_cells_as_the_official_builder() {
        // new (r, c) = old (row_perm[r], col_perm[c]) of the transposed grid, then digit map.
        let g = Grid::parse("1234341221434321").unwrap();
        let s = Shuffle {
            size: 4,
            digit_map: vec![0, 2, 1, 4, 3],
            transpose: true,
            row_perm: vec![2, 3, 0, 1],
            col_perm: vec![1, 0, 3, 2],
        };
        let out = s.apply(&g);
        for r in 0..4 {
            for c in 0..4 {
                let old = g.get(s.col_perm[c], s.row_perm[r]);
                assert_eq!(out.get(r, c), s.digit_map[old as usize]);
            }
        }
        assert_eq!(out.get(0, 0), s.digit_map[g.get(1, 2) as usize]);
    }

    #[test]
    fn transposes_about_half_the_time() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let n = (0..2000).filter(|_| Shuffle::random(4, &mut rng).transpose).count();
        assert!((800..1200).contains(&n), "{n}");
    }
}
