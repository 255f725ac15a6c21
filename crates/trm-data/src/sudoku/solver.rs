//! Exact Sudoku solver: bitmask candidates, naked and hidden singles, locked candidates
//! (box/line intersections), then guessing on the cell with the fewest candidates.
//!
//! Hidden singles and locked candidates both read per-segment digit counts (a segment is
//! the 2 or 3 cells a line shares with a box; rows, columns and boxes are unions of them),
//! so one pass over the cells serves both.
//!
//! The number of guesses made before the first solution is found is the difficulty rating
//! (0 = solved by singles alone); it plays the role of tdoku's backtrack count, the `rating`
//! column of Sudoku-Extreme. The search is deterministic (lowest digit first), so the rating
//! of a puzzle is reproducible.

use std::sync::LazyLock;

use rand::seq::SliceRandom;
use rand::Rng;

use super::{box_size, Grid, MAX_CELLS};

/// Cells sharing a row, column or box; units of each size, computed once.
struct Geometry {
    size: usize,
    box_size: usize,
    cells: usize,
    /// Candidate mask with every digit: bit `d - 1` stands for digit `d`.
    full: u16,
    /// Rows, then columns, then boxes; `size` cells each.
    units: Vec<[u8; 9]>,
    /// The other cells in the row, column and box of each cell.
    peers: Vec<[u8; 20]>,
    num_peers: usize,
    /// The row, column and box (indices into `units`) of each cell.
    units_of: Vec<[u8; 3]>,
    /// The peers of each cell as a bit set.
    peer_masks: Vec<u128>,
    /// Row segments: the `box_size` cells a row shares with a box; segment `r * b + k` is
    /// row `r` inside box column `k`. Every row and every box is a union of them.
    row_segs: Vec<[u8; 3]>,
    /// Column segments: segment `c * b + k` is column `c` inside box row `k`.
    col_segs: Vec<[u8; 3]>,
}

impl Geometry {
    fn new(size: usize) -> Geometry {
        let b = box_size(size);
        let mut units = Vec::new();
        for r in 0..size {
            units.push(std::array::from_fn(|i| if i < size { (r * size + i) as u8 } else { 0 }));
        }
        for c in 0..size {
            units.push(std::array::from_fn(|i| if i < size { (i * size + c) as u8 } else { 0 }));
        }
        for bx in 0..size {
            let (r0, c0) = (bx / b * b, bx % b * b);
            units.push(std::array::from_fn(|i| {
                if i < size {
                    ((r0 + i / b) * size + c0 + i % b) as u8
                } else {
                    0
                }
            }));
        }
        let mut peers = Vec::new();
        let mut num_peers = 0;
        for cell in 0..size * size {
            let (r, c) = (cell / size, cell % size);
            let mut list = [0u8; 20];
            let mut k = 0;
            for other in 0..size * size {
                let (r2, c2) = (other / size, other % size);
                let shares = r == r2 || c == c2 || (r / b == r2 / b && c / b == c2 / b);
                if other != cell && shares {
                    list[k] = other as u8;
                    k += 1;
                }
            }
            peers.push(list);
            num_peers = k;
        }
        let units_of = (0..size * size)
            .map(|c| {
                [
                    (c / size) as u8,
                    (size + c % size) as u8,
                    (2 * size + c / size / b * b + c % size / b) as u8,
                ]
            })
            .collect();
        let seg = |f: &dyn Fn(usize) -> usize| -> [u8; 3] {
            std::array::from_fn(|i| if i < b { f(i) as u8 } else { 0 })
        };
        let mut row_segs = Vec::new();
        let mut col_segs = Vec::new();
        for line in 0..size {
            for k in 0..b {
                row_segs.push(seg(&|i| line * size + k * b + i));
                col_segs.push(seg(&|i| (k * b + i) * size + line));
            }
        }
        let peer_masks = peers
            .iter()
            .map(|l| l[..num_peers].iter().fold(0u128, |m, &p| m | (1u128 << p)))
            .collect();
        Geometry {
            size,
            box_size: b,
            cells: size * size,
            full: (1u16 << size) - 1,
            units,
            peers,
            num_peers,
            units_of,
            row_segs,
            col_segs,
            peer_masks,
        }
    }
}

static GEOMETRY_4: LazyLock<Geometry> = LazyLock::new(|| Geometry::new(4));
static GEOMETRY_9: LazyLock<Geometry> = LazyLock::new(|| Geometry::new(9));

fn geometry(size: usize) -> &'static Geometry {
    match size {
        4 => &GEOMETRY_4,
        9 => &GEOMETRY_9,
        _ => panic!("unsupported Sudoku size {size}"),
    }
}

/// Search state: candidates per cell, which cells are placed, the digits placed in each
/// unit, how many cells are left.
#[derive(Clone, Copy)]
struct State {
    cand: [u16; MAX_CELLS],
    placed: u128,
    unit_done: [u16; 27],
    left: usize,
}

/// Cells whose candidates became a single digit and still have to be placed.
struct Pending {
    cells: [u8; MAX_CELLS],
    len: usize,
}

impl Pending {
    fn new() -> Pending {
        Pending { cells: [0; MAX_CELLS], len: 0 }
    }

    fn push(&mut self, cell: usize) {
        self.cells[self.len] = cell as u8;
        self.len += 1;
    }

    fn pop(&mut self) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        self.len -= 1;
        Some(self.cells[self.len] as usize)
    }
}

/// Places the single candidate `bit` in `cell` and removes it from the peers.
/// False on a contradiction (a peer left with no candidate).
#[inline]
fn place(g: &Geometry, s: &mut State, cell: usize, bit: u16, pending: &mut Pending) -> bool {
    s.cand[cell] = bit;
    s.placed |= 1u128 << cell;
    s.left -= 1;
    for &u in &g.units_of[cell] {
        s.unit_done[u as usize] |= bit;
    }
    for &p in &g.peers[cell][..g.num_peers] {
        let p = p as usize;
        let m = s.cand[p];
        if m & bit != 0 {
            let m = m & !bit;
            s.cand[p] = m;
            if m == 0 {
                return false;
            }
            if m & (m - 1) == 0 {
                pending.push(p);
            }
        }
    }
    true
}

/// Digits seen once and at least twice in each segment (at most 27 segments).
struct SegmentCounts {
    once: [u16; 27],
    twice: [u16; 27],
}

fn count_segments(g: &Geometry, s: &State, segs: &[[u8; 3]]) -> SegmentCounts {
    let mut out = SegmentCounts { once: [0; 27], twice: [0; 27] };
    for (i, seg) in segs.iter().enumerate() {
        let (mut once, mut twice) = (0u16, 0u16);
        for &c in &seg[..g.box_size] {
            let m = s.cand[c as usize];
            twice |= once & m;
            once |= m;
        }
        out.once[i] = once;
        out.twice[i] = twice;
    }
    out
}

/// Digits seen once / at least twice over the segments `idx` (a row, column or box).
#[inline]
fn combine(counts: &SegmentCounts, idx: impl Iterator<Item = usize>) -> (u16, u16) {
    let (mut once, mut twice) = (0u16, 0u16);
    for i in idx {
        twice |= counts.twice[i] | (once & counts.once[i]);
        once |= counts.once[i];
    }
    (once, twice)
}

/// Hidden singles: a digit with one possible cell in a unit goes there. Returns `None` on a
/// contradiction (a digit with no place in a unit), else whether any single was found.
fn hidden_singles(
    g: &Geometry,
    s: &mut State,
    rows: &SegmentCounts,
    cols: &SegmentCounts,
    pending: &mut Pending,
) -> Option<bool> {
    let (n, b) = (g.size, g.box_size);
    let mut found = false;
    for u in 0..3 * n {
        let done = s.unit_done[u];
        if done == g.full {
            continue;
        }
        let (once, twice) = match u / n {
            0 => combine(rows, (0..b).map(|k| u * b + k)),
            1 => combine(cols, (0..b).map(|k| (u - n) * b + k)),
            _ => {
                let bx = u - 2 * n;
                let (band, stack) = (bx / b, bx % b);
                combine(rows, (0..b).map(|i| (band * b + i) * b + stack))
            }
        };
        if once != g.full {
            return None;
        }
        let mut hidden = once & !twice & !done;
        while hidden != 0 {
            let bit = hidden & hidden.wrapping_neg();
            hidden &= hidden - 1;
            for &c in &g.units[u][..n] {
                let c = c as usize;
                if s.cand[c] & bit != 0 {
                    if s.cand[c] != bit {
                        s.cand[c] = bit;
                        pending.push(c);
                        found = true;
                    }
                    break;
                }
            }
        }
    }
    Some(found)
}

/// Locked candidates on one orientation of segments: a digit of a box confined to one line
/// leaves the rest of that line (pointing), a digit of a line confined to one box leaves the
/// rest of that box (claiming). Segment `line * b + k` lies in box `k` along the line; the
/// counts may be stale (candidates only shrink since), which keeps every deduction sound.
/// Returns `None` on a contradiction, else whether anything was removed.
fn locked_candidates(
    g: &Geometry,
    s: &mut State,
    segs: &[[u8; 3]],
    counts: &SegmentCounts,
    pending: &mut Pending,
) -> Option<bool> {
    let (n, b) = (g.size, g.box_size);
    let mut changed = false;
    for line in 0..n {
        let first = line / b * b; // first line of the band (or stack) holding this line
        for k in 0..b {
            let shared = counts.once[line * b + k];
            let line_rest =
                (0..b).filter(|&j| j != k).fold(0, |m, j| m | counts.once[line * b + j]);
            let box_rest = (first..first + b)
                .filter(|&l| l != line)
                .fold(0, |m, l| m | counts.once[l * b + k]);
            let pointing = shared & !box_rest & line_rest;
            if pointing != 0 {
                for j in (0..b).filter(|&j| j != k) {
                    changed |= eliminate(s, &segs[line * b + j][..b], pointing, pending)?;
                }
            }
            let claiming = shared & !line_rest & box_rest;
            if claiming != 0 {
                for l in (first..first + b).filter(|&l| l != line) {
                    changed |= eliminate(s, &segs[l * b + k][..b], claiming, pending)?;
                }
            }
        }
    }
    Some(changed)
}

/// Applies naked singles, hidden singles and locked candidates until nothing changes.
/// False on a contradiction.
fn propagate(g: &Geometry, s: &mut State, pending: &mut Pending) -> bool {
    loop {
        while let Some(cell) = pending.pop() {
            if s.placed & (1u128 << cell) != 0 {
                continue;
            }
            let m = s.cand[cell];
            if m == 0 || !place(g, s, cell, m, pending) {
                return false;
            }
        }
        if s.left == 0 {
            return true;
        }
        let rows = count_segments(g, s, &g.row_segs);
        let cols = count_segments(g, s, &g.col_segs);
        match hidden_singles(g, s, &rows, &cols, pending) {
            None => return false,
            Some(true) => continue,
            Some(false) => {}
        }
        let by_rows = locked_candidates(g, s, &g.row_segs, &rows, pending);
        let by_cols = by_rows.and_then(|_| locked_candidates(g, s, &g.col_segs, &cols, pending));
        match (by_rows, by_cols) {
            (Some(r), Some(c)) if r || c => continue,
            (Some(_), Some(_)) => return true,
            _ => return false,
        }
    }
}

/// Removes the digits of `mask` from `cells`. `None` on a contradiction, else whether any
/// candidate was removed.
#[inline]
fn eliminate(s: &mut State, cells: &[u8], mask: u16, pending: &mut Pending) -> Option<bool> {
    let mut changed = false;
    for &c in cells {
        let c = c as usize;
        let m = s.cand[c];
        if m & mask != 0 {
            let m = m & !mask;
            s.cand[c] = m;
            changed = true;
            if m == 0 {
                return None;
            }
            if m & (m - 1) == 0 {
                pending.push(c);
            }
        }
    }
    Some(changed)
}

/// What a search found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    /// Solutions found, capped at the limit asked for (2 for [`analyse`]).
    pub solutions: usize,
    /// The first solution found (lowest digits first).
    pub solution: Option<Grid>,
    /// Guesses made before the first solution (the difficulty rating), or in the whole
    /// search when there is no solution.
    pub guesses: u64,
}

impl Analysis {
    /// Whether exactly one solution was found (a unique solution when the limit was at least 2).
    pub fn is_unique(&self) -> bool {
        self.solutions == 1
    }
}

struct Search<'r, R: Rng> {
    g: &'static Geometry,
    limit: usize,
    solutions: usize,
    first: Option<State>,
    guesses: u64,
    guesses_to_first: u64,
    /// When set, candidates are tried in random order (used to make random full grids).
    rng: Option<&'r mut R>,
}

impl<R: Rng> Search<'_, R> {
    fn run(&mut self, mut s: State, mut pending: Pending) {
        if !propagate(self.g, &mut s, &mut pending) {
            return;
        }
        if s.left == 0 {
            self.solutions += 1;
            if self.first.is_none() {
                self.first = Some(s);
                self.guesses_to_first = self.guesses;
            }
            return;
        }
        // Branch on the open cell with the fewest candidates; among those, the one with the
        // most open peers, whose value constrains the most (this halves the guesses on hard
        // puzzles compared with taking the first).
        let open_cells = !s.placed & ((1u128 << self.g.cells) - 1);
        let mut open = open_cells;
        let (mut best, mut best_score) = (0, u32::MAX);
        while open != 0 {
            let c = open.trailing_zeros() as usize;
            open &= open - 1;
            let score =
                s.cand[c].count_ones() * 64 - (self.g.peer_masks[c] & open_cells).count_ones();
            if score < best_score {
                (best, best_score) = (c, score);
            }
        }
        let mut digits = [0u16; 9];
        let mut n = 0;
        let mut m = s.cand[best];
        while m != 0 {
            digits[n] = m & m.wrapping_neg();
            m &= m - 1;
            n += 1;
        }
        if let Some(rng) = self.rng.as_mut() {
            digits[..n].shuffle(*rng);
        }
        for &bit in &digits[..n] {
            self.guesses += 1;
            let mut child = s;
            child.cand[best] = bit;
            let mut pending = Pending::new();
            pending.push(best);
            self.run(child, pending);
            if self.solutions >= self.limit {
                return;
            }
        }
    }
}

/// Starting state for `puzzle`: givens are pending singles, other cells hold every digit.
fn start(puzzle: &Grid) -> (&'static Geometry, State, Pending) {
    let g = geometry(puzzle.size());
    let mut s = State { cand: [0; MAX_CELLS], placed: 0, unit_done: [0; 27], left: g.cells };
    let mut pending = Pending::new();
    for (i, &v) in puzzle.cells().iter().enumerate() {
        if v == 0 {
            s.cand[i] = g.full;
        } else {
            s.cand[i] = 1 << (v - 1);
            pending.push(i);
        }
    }
    (g, s, pending)
}

fn to_grid(g: &Geometry, s: &State) -> Grid {
    let cells: Vec<u8> = s.cand[..g.cells].iter().map(|m| m.trailing_zeros() as u8 + 1).collect();
    Grid::from_cells(&cells).expect("solver state holds digits of the grid's size")
}

fn search<R: Rng>(puzzle: &Grid, limit: usize, rng: Option<&mut R>) -> Analysis {
    let (g, s, pending) = start(puzzle);
    let mut search =
        Search { g, limit, solutions: 0, first: None, guesses: 0, guesses_to_first: 0, rng };
    search.run(s, pending);
    let guesses = if search.first.is_some() { search.guesses_to_first } else { search.guesses };
    Analysis {
        solutions: search.solutions,
        solution: search.first.map(|s| to_grid(g, &s)),
        guesses,
    }
}

/// Searches for up to `limit` solutions (conflicting givens give none).
pub fn count_solutions(puzzle: &Grid, limit: usize) -> Analysis {
    search::<rand_chacha::ChaCha8Rng>(puzzle, limit.max(1), None)
}

/// The first solution and the guesses it took; `None` when the puzzle has no solution.
pub fn solve(puzzle: &Grid) -> Option<(Grid, u64)> {
    let a = count_solutions(puzzle, 1);
    a.solution.map(|grid| (grid, a.guesses))
}

/// Counts solutions up to 2 (so `solutions == 1` means unique) and rates the difficulty.
pub fn analyse(puzzle: &Grid) -> Analysis {
    count_solutions(puzzle, 2)
}

/// Whether `puzzle` has exactly one solution.
pub fn has_unique_solution(puzzle: &Grid) -> bool {
    count_solutions(puzzle, 2).solutions == 1
}

/// A complete grid drawn by solving the empty grid with candidates tried in random order.
pub fn random_solution(size: usize, rng: &mut impl Rng) -> Grid {
    search(&Grid::empty(size), 1, Some(rng)).solution.expect("the empty grid has solutions")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    // Arto Inkala's "hardest" puzzle and its solution.
    const HARD: &str =
        "8..........36......7..9.2...5...7.......457.....1...3...1....68..85...1..9....4..";
    const HARD_SOLUTION: &str =
        "812753649943682175675491283154237896369845721287169534521974368438526917796318452";

    #[test]
    fn solves_a_hard_puzzle() {
        let p = Grid::parse(HARD).unwrap();
        let a = analyse(&p);
        assert_eq!(a.solutions, 1);
        assert_eq!(a.solution.unwrap().to_string(), HARD_SOLUTION);
        assert!(a.guesses > 0);
        assert!(p.is_solved_by(&a.solution.unwrap()));
    }

    #[test]
    fn singles_only_puzzle_needs_no_guess() {
        let p = Grid::parse(
            "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3..",
        )
        .unwrap();
        let (sol, guesses) = solve(&p).unwrap();
        assert_eq!(guesses, 0);
        assert!(p.is_solved_by(&sol));
    }

    #[test]
    fn counts_multiple_and_zero_solutions() {
        let mut p = Grid::parse(HARD).unwrap();
        p.set(0, 0, 0);
        assert_eq!(analyse(&p).solutions, 2);
        assert_eq!(analyse(&Grid::empty(4)).solutions, 2);
        let mut bad = Grid::parse(HARD).unwrap();
        bad.set(0, 1, 8); // two 8s in row 1
        let a = analyse(&bad);
        assert_eq!((a.solutions, a.solution), (0, None));
        // Consistent givens but no completion: row 1 column 3 needs 3 or 4, both in column 3.
        let dead = Grid::parse("12........3...4.").unwrap();
        assert_eq!(dead.conflict(), None);
        assert_eq!(analyse(&dead).solutions, 0);
        assert_eq!(solve(&dead), None);
    }

    #[test]
    fn solves_4x4() {
        let full = Grid::parse("1234341221434321").unwrap();
        let mut q = full;
        for (r, c) in [(0, 0), (1, 1), (2, 2), (3, 3), (0, 3)] {
            q.set(r, c, 0);
        }
        let a = analyse(&q);
        assert_eq!(a.solution, Some(full));
    }

    #[test]
    fn random_solutions_are_valid_and_seeded() {
        for size in [4, 9] {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
            let a = random_solution(size, &mut rng);
            assert!(a.is_complete() && a.conflict().is_none());
            let b = random_solution(size, &mut rng);
            let mut rng2 = rand_chacha::ChaCha8Rng::seed_from_u64(7);
            assert_eq!(random_solution(size, &mut rng2), a);
            assert_ne!(a, b);
        }
    }
}
