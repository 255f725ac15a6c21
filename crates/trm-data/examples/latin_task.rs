//! Writes the example custom task's data, `examples/tasks/latin/{train,test}.csv`: Latin-square
//! completion. A Latin square of side n holds each symbol 1..n once in every row and column;
//! the input is a square with blanks (`.`) whose completion is unique, the output the square.
//!
//! ```sh
//! cargo run --release -p trm-data --example latin_task -- out=examples/tasks/latin size=5 train=1000 test=500 blanks=8-14 seed=0
//! ```
//!
//! Same arguments, same bytes (ChaCha8 from `seed`). Train and test inputs are all distinct.

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::{bail, ensure, Context, Result};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

struct Options {
    out: PathBuf,
    size: usize,
    train: usize,
    test: usize,
    blanks: (usize, usize),
    seed: u64,
}

fn parse_args() -> Result<Options> {
    let mut o = Options {
        out: PathBuf::from("examples/tasks/latin"),
        size: 5,
        train: 1000,
        test: 500,
        blanks: (8, 14),
        seed: 0,
    };
    for arg in std::env::args().skip(1) {
        let (key, value) = arg.split_once('=').with_context(|| {
            format!("{arg:?}: expected key=value (out, size, train, test, blanks=MIN-MAX, seed)")
        })?;
        let num =
            |v: &str| v.parse::<usize>().with_context(|| format!("{key}={v}: expected a number"));
        match key {
            "out" => o.out = PathBuf::from(value),
            "size" => o.size = num(value)?,
            "train" => o.train = num(value)?,
            "test" => o.test = num(value)?,
            "seed" => o.seed = num(value)? as u64,
            "blanks" => {
                let (a, b) = value.split_once('-').unwrap_or((value, value));
                o.blanks = (num(a)?, num(b)?);
            }
            _ => bail!("unknown argument {key:?}; the arguments are out, size, train, test, blanks=MIN-MAX, seed"),
        }
    }
    ensure!((2..=9).contains(&o.size), "size must be 2..=9 (symbols are the digits 1..size)");
    ensure!(
        o.blanks.0 <= o.blanks.1 && o.blanks.1 <= o.size * o.size,
        "blanks=MIN-MAX must satisfy MIN <= MAX <= size*size"
    );
    Ok(o)
}

/// A uniformly shuffled backtracking fill: a random Latin square (0-based symbols).
fn random_square(n: usize, rng: &mut ChaCha8Rng) -> Vec<u8> {
    fn fill(cells: &mut [u8], i: usize, n: usize, rng: &mut ChaCha8Rng) -> bool {
        if i == cells.len() {
            return true;
        }
        let (r, c) = (i / n, i % n);
        let mut symbols: Vec<u8> = (0..n as u8).collect();
        symbols.shuffle(rng);
        for s in symbols {
            let clash =
                (0..c).any(|k| cells[r * n + k] == s) || (0..r).any(|k| cells[k * n + c] == s);
            if !clash {
                cells[i] = s;
                if fill(cells, i + 1, n, rng) {
                    return true;
                }
            }
        }
        false
    }
    let mut cells = vec![0u8; n * n];
    assert!(fill(&mut cells, 0, n, rng), "a Latin square always exists");
    cells
}

/// Number of completions of `cells` (`None` = blank), counted up to `limit`.
fn count_completions(cells: &mut [Option<u8>], n: usize, limit: usize) -> usize {
    // The blank with the fewest candidates first.
    let mut best: Option<(usize, u32)> = None;
    for i in 0..cells.len() {
        if cells[i].is_some() {
            continue;
        }
        let (r, c) = (i / n, i % n);
        let mut used = 0u32;
        for k in 0..n {
            for v in [cells[r * n + k], cells[k * n + c]].into_iter().flatten() {
                used |= 1 << v;
            }
        }
        let free = !used & ((1u32 << n) - 1);
        if best.is_none_or(|(_, f)| free.count_ones() < f.count_ones()) {
            best = Some((i, free));
        }
    }
    let Some((i, free)) = best else { return 1 };
    let mut total = 0;
    for s in 0..n as u8 {
        if free & (1 << s) != 0 {
            cells[i] = Some(s);
            total += count_completions(cells, n, limit - total);
            cells[i] = None;
            if total >= limit {
                break;
            }
        }
    }
    total
}

/// A puzzle of `target` blanks (fewer if no more cell can go) with a unique completion.
fn make_puzzle(square: &[u8], n: usize, target: usize, rng: &mut ChaCha8Rng) -> Vec<Option<u8>> {
    let mut cells: Vec<Option<u8>> = square.iter().map(|&s| Some(s)).collect();
    let mut order: Vec<usize> = (0..cells.len()).collect();
    order.shuffle(rng);
    let mut blanks = 0;
    for i in order {
        if blanks == target {
            break;
        }
        let kept = cells[i].take();
        if count_completions(&mut cells, n, 2) == 1 {
            blanks += 1;
        } else {
            cells[i] = kept;
        }
    }
    cells
}

fn main() -> Result<()> {
    let o = parse_args()?;
    let n = o.size;
    let mut rng = ChaCha8Rng::seed_from_u64(o.seed);
    let mut seen = HashSet::new();
    let mut rows = Vec::new();
    while rows.len() < o.train + o.test {
        let square = random_square(n, &mut rng);
        let target = rng.random_range(o.blanks.0..=o.blanks.1);
        let puzzle = make_puzzle(&square, n, target, &mut rng);
        let input: String = puzzle.iter().map(|c| c.map_or('.', |s| (b'1' + s) as char)).collect();
        let output: String = square.iter().map(|&s| (b'1' + s) as char).collect();
        if seen.insert(input.clone()) {
            rows.push(format!("{input},{output}\n"));
        }
    }
    std::fs::create_dir_all(&o.out)
        .with_context(|| format!("{}: cannot create folder", o.out.display()))?;
    for (name, part) in [("train.csv", &rows[..o.train]), ("test.csv", &rows[o.train..])] {
        let path = o.out.join(name);
        let text = format!("input,output\n{}", part.concat());
        std::fs::write(&path, text).with_context(|| format!("{}: cannot write", path.display()))?;
        println!("wrote {} ({} pairs)", path.display(), part.len());
    }
    Ok(())
}
