//! Puzzles with a unique solution, drawn from a seed, filtered by difficulty.
//!
//! One attempt: draw a random complete grid, then visit the cells in random order and blank
//! each one whose removal keeps the solution unique, stopping at a target number of givens.
//! A full pass leaves a *minimal* puzzle: no given can be removed without losing uniqueness
//! (removing more givens only adds solutions, so a cell that could not be blanked earlier
//! cannot be blanked later). Attempts that miss the filters are discarded.

use std::collections::HashSet;

use anyhow::{anyhow, bail, Result};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{check_size, solver, Grid};

/// What a generated puzzle must satisfy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// 4 or 9.
    pub size: usize,
    /// Least difficulty rating (solver guesses before the first solution).
    pub min_guesses: u64,
    /// Greatest difficulty rating accepted; `None`: no limit.
    pub max_guesses: Option<u64>,
    /// Givens range. Removal stops at a target drawn uniformly from
    /// `min_givens..=max_givens` (`max_givens` defaults to `min_givens`; with neither, the
    /// pass runs to the end and the puzzle is minimal).
    pub min_givens: Option<usize>,
    /// Most givens; see `min_givens`.
    pub max_givens: Option<usize>,
    /// Blank every removable given (overrides the givens target; the range still filters).
    pub minimal: bool,
    /// Attempts allowed per accepted puzzle before giving up with an error.
    pub max_attempts: usize,
}

impl Filter {
    /// Unique-solution puzzles of `size` with no other constraint (these come out minimal).
    pub fn new(size: usize) -> Filter {
        Filter {
            size,
            min_guesses: 0,
            max_guesses: None,
            min_givens: None,
            max_givens: None,
            minimal: false,
            max_attempts: 100_000,
        }
    }

    fn check(&self) -> Result<()> {
        check_size(self.size)?;
        let cells = self.size * self.size;
        let (lo, hi) = self.givens_range();
        if lo > hi || hi > cells {
            bail!(
                "givens range {lo}..={hi} is empty or above the {cells} cells of a {0}x{0} grid",
                self.size
            );
        }
        if let Some(max) = self.max_guesses {
            if max < self.min_guesses {
                bail!("max guesses {max} is below min guesses {}", self.min_guesses);
            }
        }
        Ok(())
    }

    /// Givens a puzzle may have to be accepted.
    fn givens_range(&self) -> (usize, usize) {
        let lo = self.min_givens.unwrap_or(0);
        (lo, self.max_givens.unwrap_or(self.size * self.size))
    }

    /// Range the removal target is drawn from (`0` = remove all that can go).
    fn target_range(&self) -> (usize, usize) {
        let lo = self.min_givens.unwrap_or(0);
        (lo, self.max_givens.unwrap_or(lo).max(lo))
    }

    fn describe(&self) -> String {
        let (lo, hi) = self.givens_range();
        let guesses = match self.max_guesses {
            Some(m) => format!("{}..={m}", self.min_guesses),
            None => format!(">= {}", self.min_guesses),
        };
        format!(
            "{0}x{0}, guesses {guesses}, givens {lo}..={hi}{1}",
            self.size,
            if self.minimal { ", minimal" } else { "" }
        )
    }
}

/// A generated puzzle with its solution and rating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The puzzle, with a unique solution.
    pub puzzle: Grid,
    /// Its unique solution.
    pub solution: Grid,
    /// Its difficulty rating: solver guesses before the first solution.
    pub guesses: u64,
}

/// Blanks cells of `solution` in random order while the solution stays unique, down to
/// `target` givens (0 = as far as possible, which makes the puzzle minimal).
pub fn carve(solution: &Grid, target: usize, rng: &mut impl Rng) -> Grid {
    let mut order: Vec<usize> = (0..solution.num_cells()).collect();
    order.shuffle(rng);
    let n = solution.size();
    let mut puzzle = *solution;
    let mut givens = puzzle.num_cells();
    for cell in order {
        if givens <= target {
            break;
        }
        let (r, c) = (cell / n, cell % n);
        let value = puzzle.get(r, c);
        puzzle.set(r, c, 0);
        if solver::has_unique_solution(&puzzle) {
            givens -= 1;
        } else {
            puzzle.set(r, c, value);
        }
    }
    puzzle
}

/// True when no given can be blanked without losing the unique solution.
pub fn is_minimal(puzzle: &Grid) -> bool {
    let n = puzzle.size();
    let mut p = *puzzle;
    (0..p.num_cells()).all(|cell| {
        let (r, c) = (cell / n, cell % n);
        let v = p.get(r, c);
        if v == 0 {
            return true;
        }
        p.set(r, c, 0);
        let unique = solver::has_unique_solution(&p);
        p.set(r, c, v);
        !unique
    })
}

/// One attempt; `None` when the result misses the filter.
fn attempt(filter: &Filter, rng: &mut impl Rng) -> Option<Generated> {
    let target = if filter.minimal {
        0
    } else {
        let (lo, hi) = filter.target_range();
        rng.random_range(lo..=hi)
    };
    let (lo, hi) = filter.givens_range();
    let solution = solver::random_solution(filter.size, rng);
    let puzzle = carve(&solution, target, rng);
    let givens = puzzle.givens();
    if givens < lo || givens > hi {
        return None;
    }
    let guesses = solver::analyse(&puzzle).guesses;
    if guesses < filter.min_guesses || filter.max_guesses.is_some_and(|m| guesses > m) {
        return None;
    }
    Some(Generated { puzzle, solution, guesses })
}

/// Draws from `rng` until a puzzle meets the filter and `accept` agrees; `Err(attempts)`
/// after `max_attempts` misses.
fn draw(
    filter: &Filter,
    rng: &mut ChaCha8Rng,
    accept: impl Fn(&Grid) -> bool,
) -> Result<Generated, usize> {
    for _ in 0..filter.max_attempts {
        if let Some(g) = attempt(filter, rng) {
            if accept(&g.puzzle) {
                return Ok(g);
            }
        }
    }
    Err(filter.max_attempts)
}

/// Generates `count` distinct puzzles meeting `filter`, none of them in `exclude` (e.g. the
/// puzzles of the other split). Same rng state, same puzzles, whatever the number of threads:
/// puzzle `i` is drawn from its own generator seeded from `rng`, all cores drawing at once;
/// a puzzle that repeats an earlier one (or an excluded one) is then redrawn, in order, from
/// the same generator.
pub fn generate(
    count: usize,
    filter: &Filter,
    exclude: &HashSet<Grid>,
    rng: &mut impl Rng,
) -> Result<Vec<Generated>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    generate_on(threads, count, filter, exclude, rng)
}

fn generate_on(
    threads: usize,
    count: usize,
    filter: &Filter,
    exclude: &HashSet<Grid>,
    rng: &mut impl Rng,
) -> Result<Vec<Generated>> {
    filter.check()?;
    let mut rngs: Vec<ChaCha8Rng> =
        (0..count).map(|_| ChaCha8Rng::seed_from_u64(rng.random())).collect();
    let give_up = |done: usize, attempts: usize| {
        anyhow!(
            "generated {done} of {count} puzzles ({}), then {attempts} attempts in a row gave no new puzzle \
             meeting the filters; relax --min-guesses / --min-givens / --max-givens or ask for fewer puzzles \
             (small grids have few distinct puzzles)",
            filter.describe(),
        )
    };
    // Draw in parallel (puzzles dealt round-robin to the threads), ignoring repeats.
    let threads = threads.clamp(1, count.max(1));
    let mut hands: Vec<Vec<(usize, &mut ChaCha8Rng)>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, r) in rngs.iter_mut().enumerate() {
        hands[i % threads].push((i, r));
    }
    let mut drawn: Vec<Option<Result<Generated, usize>>> = vec![None; count];
    std::thread::scope(|scope| {
        let handles: Vec<_> = hands
            .into_iter()
            .map(|hand| {
                scope.spawn(move || {
                    hand.into_iter()
                        .map(|(i, r)| (i, draw(filter, r, |p| !exclude.contains(p))))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            for (i, found) in h.join().expect("generator thread panicked") {
                drawn[i] = Some(found);
            }
        }
    });
    // Resolve repeats in order.
    let mut seen: HashSet<Grid> = HashSet::with_capacity(count);
    let mut out = Vec::with_capacity(count);
    for (i, first) in drawn.into_iter().enumerate() {
        let g = match first.expect("every puzzle was drawn") {
            Ok(g) if !seen.contains(&g.puzzle) => g,
            Ok(_) => draw(filter, &mut rngs[i], |p| !seen.contains(p) && !exclude.contains(p))
                .map_err(|attempts| give_up(out.len(), attempts))?,
            Err(attempts) => return Err(give_up(out.len(), attempts)),
        };
        seen.insert(g.puzzle);
        out.push(g);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn minimal_puzzles_are_unique_and_minimal() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for size in [4, 9] {
            let filter = Filter { minimal: true, ..Filter::new(size) };
            for g in generate(5, &filter, &HashSet::new(), &mut rng).unwrap() {
                assert!(g.puzzle.is_solved_by(&g.solution));
                assert!(solver::has_unique_solution(&g.puzzle));
                assert!(is_minimal(&g.puzzle), "{}", g.puzzle);
            }
        }
    }

    #[test]
    fn respects_givens_and_difficulty() {
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let filter = Filter { min_givens: Some(30), max_givens: Some(34), ..Filter::new(9) };
        for g in generate(5, &filter, &HashSet::new(), &mut rng).unwrap() {
            assert!((30..=34).contains(&g.puzzle.givens()), "{}", g.puzzle.givens());
            assert!(solver::has_unique_solution(&g.puzzle));
        }
        let filter = Filter { min_guesses: 1, ..Filter::new(9) };
        for g in generate(3, &filter, &HashSet::new(), &mut rng).unwrap() {
            assert!(g.guesses >= 1);
            assert_eq!(solver::analyse(&g.puzzle).guesses, g.guesses);
        }
    }

    #[test]
    fn same_seed_same_puzzles_and_exclusion_works() {
        let filter = Filter::new(4);
        let a = generate(20, &filter, &HashSet::new(), &mut ChaCha8Rng::seed_from_u64(9)).unwrap();
        let b = generate(20, &filter, &HashSet::new(), &mut ChaCha8Rng::seed_from_u64(9)).unwrap();
        assert_eq!(a, b);
        let distinct: HashSet<Grid> = a.iter().map(|g| g.puzzle).collect();
        assert_eq!(distinct.len(), 20);
        for threads in [1, 3] {
            assert_eq!(
                generate_on(
                    threads,
                    20,
                    &filter,
                    &HashSet::new(),
                    &mut ChaCha8Rng::seed_from_u64(9)
                )
                .unwrap(),
                a
            );
        }
        let c = generate(20, &filter, &distinct, &mut ChaCha8Rng::seed_from_u64(9)).unwrap();
        assert!(c.iter().all(|g| !distinct.contains(&g.puzzle)));
    }

    #[test]
    fn impossible_filters_fail_with_advice() {
        let filter = Filter { min_guesses: 50, max_attempts: 20, ..Filter::new(4) };
        let err = generate(1, &filter, &HashSet::new(), &mut ChaCha8Rng::seed_from_u64(1))
            .unwrap_err()
            .to_string();
        assert!(err.contains("relax"), "{err}");
        let bad = Filter { min_givens: Some(20), ..Filter::new(4) };
        assert!(generate(1, &bad, &HashSet::new(), &mut ChaCha8Rng::seed_from_u64(1)).is_err());
    }
}
