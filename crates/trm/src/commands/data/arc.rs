//! `trm data arc`: build an ARC-AGI dataset in the official layout.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use trm_data::arc::build::{build_arc_dataset, ArcBuildConfig};
use trm_data::arc::encode::{Canvas, COLOR_OFFSET, PAD, VOCAB_SIZE};
use trm_data::arc::{Grid, Subset, NUM_COLORS};
use trm_data::dataset::Metadata;

use crate::commands::terminal::render_grids;

/// Shown after the options of `trm data arc --help` (the variant's doc line is the summary).
const ARC_HELP: &str = "\
Builds the official ARC layout (design 4.4): demonstration pairs of every subset and
test pairs of non-test subsets go to train; test pairs of the --test-set subsets go to
test. Each task becomes a group of itself plus up to --aug augmentations (dihedral
transform and colour permutation keeping black, duplicates rejected), each its own
puzzle identifier named `<task>|||t<t>|||<colour map>`. Grids sit on a 30x30 canvas
(--canvas N: NxN, seq_len N*N) with an EOS row and column, colours +2; training examples
are translated at random (one per puzzle stays at the corner). Writes identifiers.json and
test_puzzles.json as officially, atomically.

Task sources (--tasks, repeatable), each `NAME=PATH` or `PATH`:
  a directory of task files (searched recursively; id = file stem), one task file, or a
  Kaggle `<prefix>_challenges.json` (its `<prefix>_solutions.json` sibling supplies test
  outputs; without it they are the dummy [[0]]). Without NAME the subset is named after
  the directory (`.../evaluation` -> evaluation), the Kaggle file
  (`arc-agi_evaluation_challenges.json` -> evaluation) or the task file's stem. Sources
  with the same NAME are merged into one subset.

Example (ARC-AGI-1 + ConceptARC, as the official arc1concept-aug-1000):
  trm data arc --out data/arc1concept-aug-1000 --test-set evaluation \\
    --tasks training=ARC-AGI/data/training evaluation=ARC-AGI/data/evaluation \\
            concept=ConceptARC/corpus

Example (the ARC-AGI-1 training tasks whose grids are all at most 3x3, on a 4x4 canvas:
16 tokens per example instead of 900, every grid keeping its EOS border):
  trm data arc --out data/arc-cpu --tasks small=ARC-AGI/data/training --test-set small \\
    --max-grid 3 --canvas 4 --aug 7";

#[derive(clap::Args)]
#[command(after_help = ARC_HELP)]
pub struct ArcArgs {
    /// Output folder (replaced if it holds a dataset; other non-empty folders are refused).
    #[arg(long)]
    out: PathBuf,
    /// Task sources: NAME=PATH or PATH (see above).
    #[arg(long, required = true, num_args = 1.., value_name = "[NAME=]PATH")]
    tasks: Vec<String>,
    /// Subset whose test pairs form the test split (repeatable).
    #[arg(long, required = true, value_name = "NAME")]
    test_set: Vec<String>,
    /// Augmentations per task (official 1000; 0 = none).
    #[arg(long, default_value_t = 1000)]
    aug: usize,
    /// Seed of augmentation and translation: same seed, same bytes.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Keep only the tasks whose grids (all pairs) are at most N x N, for CPU-sized datasets
    /// (the number skipped is printed).
    #[arg(long, value_name = "N")]
    max_grid: Option<usize>,
    /// Side N (2 to 30) of the square token canvas [default: 30, the official 900 tokens]:
    /// seq_len N*N. A grid of side N fills the canvas without an EOS border beyond it, as 30x30
    /// grids do officially; N = M + 1 gives every grid of --max-grid M its EOS border.
    /// Without --max-grid, tasks with a grid larger than NxN are skipped (as --max-grid N
    /// skips them); with it, N must be at least --max-grid.
    #[arg(long, value_name = "N")]
    canvas: Option<usize>,
    /// Keep only the first N tasks (by id) of every subset (after --max-grid/--canvas), for small
    /// CPU-sized datasets.
    #[arg(long, value_name = "N")]
    max_tasks: Option<usize>,
}

pub fn arc(args: ArcArgs) -> Result<()> {
    let start = Instant::now();
    ensure!(args.max_grid != Some(0), "--max-grid must be positive");
    let canvas = canvas_of(&args)?;
    let mut subsets = Subset::read_all(&args.tasks)?;
    if let Some((n, flag)) = grid_limit(&args) {
        keep_within(&mut subsets, n, &flag)?;
    }
    if let Some(n) = args.max_tasks {
        ensure!(n > 0, "--max-tasks must be positive");
        for subset in &mut subsets {
            subset.tasks.truncate(n);
        }
    }
    let config = ArcBuildConfig {
        test_sets: args.test_set.clone(),
        num_aug: args.aug,
        seed: args.seed,
        canvas,
    };
    let built = build_arc_dataset(&subsets, &config)?;
    built
        .write(&args.out)
        .with_context(|| format!("{}: cannot write the ARC dataset", args.out.display()))?;

    let report = &built.report;
    println!("| subset | tasks | demo pairs | test pairs | test pairs go to |");
    println!("|---|---:|---:|---:|---|");
    for (name, tasks, demos, tests, is_test) in &report.subsets {
        println!(
            "| {name} | {tasks} | {demos} | {tests} | {} |",
            if *is_test { "test" } else { "train" }
        );
    }
    println!();
    println!("| split | groups | puzzles | examples | mean examples/puzzle |");
    println!("|---|---:|---:|---:|---:|");
    for (name, split) in built.dataset.splits() {
        println!(
            "| {name} | {} | {} | {} | {:.3} |",
            split.num_groups(),
            split.num_puzzles(),
            split.num_examples(),
            split.meta.mean_puzzle_examples
        );
    }
    println!();
    println!(
        "wrote {}: {} puzzle identifiers (with <blank>), {} test puzzles, {canvas} canvas (seq_len {}), seed {}, took {:.1} s",
        args.out.display(),
        built.dataset.identifiers.len(),
        built.test_puzzles.len(),
        canvas.seq_len(),
        args.seed,
        start.elapsed().as_secs_f64()
    );
    if !report.short_groups.is_empty() {
        let examples: Vec<String> =
            report.short_groups.iter().take(5).map(|(id, n)| format!("{id} ({n})")).collect();
        println!(
            "note: {} tasks have fewer than {} distinct augmentations, e.g. {}",
            report.short_groups.len(),
            args.aug,
            examples.join(", ")
        );
    }
    if !report.leaked.is_empty() {
        eprintln!(
            "warning: {} test-set tasks also appear in a training subset, so their test pairs are in train: {}",
            report.leaked.len(),
            report.leaked.iter().take(10).cloned().collect::<Vec<_>>().join(", ")
        );
    }
    Ok(())
}

/// The canvas of `--canvas` (the official one without it); one smaller than `--max-grid`
/// is refused.
fn canvas_of(args: &ArcArgs) -> Result<Canvas> {
    let Some(side) = args.canvas else { return Ok(Canvas::OFFICIAL) };
    let canvas = Canvas::new(side).context("--canvas")?;
    if let Some(m) = args.max_grid {
        ensure!(
            side >= m,
            "--canvas {side} is smaller than --max-grid {m}: a {m}x{m} grid does not fit a {canvas} canvas; give --canvas {m} or more (or a smaller --max-grid)"
        );
    }
    Ok(canvas)
}

/// The largest grid side kept and the flag that sets it: --max-grid, else --canvas (a larger
/// grid does not fit it), else none (every ARC grid fits the official canvas).
fn grid_limit(args: &ArcArgs) -> Option<(usize, String)> {
    match (args.max_grid, args.canvas) {
        (Some(m), _) => Some((m, format!("--max-grid {m}"))),
        (None, Some(n)) => Some((n, format!("--canvas {n}"))),
        (None, None) => None,
    }
}

/// Keeps the tasks whose grids (all pairs) are at most `n` x `n`, printing per subset how
/// many were skipped; a subset left empty is an error.
fn keep_within(subsets: &mut [Subset], n: usize, flag: &str) -> Result<()> {
    for subset in subsets {
        let before = subset.tasks.len();
        subset.tasks.retain(|t| t.pairs().all(|p| p.input.within(n) && p.output.within(n)));
        ensure!(
            !subset.tasks.is_empty(),
            "subset {:?}: no task has all its grids within {n}x{n} ({flag})",
            subset.name
        );
        let kept = subset.tasks.len();
        println!("subset {}: kept {kept} of {before} tasks, skipped {} with a grid larger than {n}x{n} ({flag})", subset.name, before - kept);
    }
    Ok(())
}

/// `trm data inspect` on an ARC dataset (a square canvas, 12 tokens): the example's input and
/// label located on the canvas (training examples are translated), cropped at their EOS
/// border and drawn side by side. `None` for other datasets or undecodable rows.
pub fn render_arc_example(m: &Metadata, input: &[u8], label: &[u8]) -> Option<String> {
    if m.vocab_size != VOCAB_SIZE {
        return None;
    }
    let canvas = Canvas::from_seq_len(m.seq_len).ok()?;
    let (in_at, in_grid) = locate_grid(input, canvas)?;
    let (out_at, out_grid) = locate_grid(label, canvas)?;
    let place = |(r, c): (usize, usize)| {
        if (r, c) == (0, 0) {
            String::new()
        } else {
            format!(" at ({r},{c})")
        }
    };
    let panels = [
        (format!("input {}x{}{}", in_grid.rows(), in_grid.cols(), place(in_at)), &in_grid),
        (format!("label {}x{}{}", out_grid.rows(), out_grid.cols(), place(out_at)), &out_grid),
    ];
    Some(render_grids(&panels, std::io::stdout().is_terminal()))
}

/// The grid on `canvas` wherever it sits: the offset of its top-left colour cell, and the
/// official crop taken from there. `None` when the tokens hold no colour at all or are not
/// one canvas.
pub fn locate_grid(tokens: &[u8], canvas: Canvas) -> Option<((usize, usize), Grid)> {
    let (n, seq_len) = (canvas.side(), canvas.seq_len());
    if tokens.len() != seq_len {
        return None;
    }
    let is_colour = |t: u8| (COLOR_OFFSET..COLOR_OFFSET + NUM_COLORS).contains(&t);
    let cells: Vec<usize> = (0..seq_len).filter(|&i| is_colour(tokens[i])).collect();
    let row = cells.iter().map(|i| i / n).min()?;
    let col = cells.iter().map(|i| i % n).min()?;
    let mut shifted = vec![PAD; seq_len];
    for r in row..n {
        let src = &tokens[r * n + col..(r + 1) * n];
        shifted[(r - row) * n..(r - row) * n + src.len()].copy_from_slice(src);
    }
    Some(((row, col), canvas.crop(&shifted)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translated_grids_are_located_and_drawn() {
        let official = Canvas::OFFICIAL;
        let g = Grid::from_rows(&[vec![1, 2, 3], vec![0, 5, 6]]).unwrap();
        let tokens = official.encode(&g, 4, 7);
        assert_eq!(locate_grid(&tokens, official), Some(((4, 7), g.clone())));
        assert_eq!(locate_grid(&official.encode(&g, 0, 0), official), Some(((0, 0), g.clone())));
        assert_eq!(locate_grid(&[PAD; 900], official), None);
        let small = Canvas::new(4).unwrap();
        assert_eq!(locate_grid(&small.encode(&g, 1, 1), small), Some(((1, 1), g.clone())));
        assert_eq!(locate_grid(&tokens, small), None, "900 tokens are not a 4x4 canvas");
        let m = trm_data::dataset::Metadata {
            pad_id: 0,
            ignore_label_id: Some(0),
            blank_identifier_id: 0,
            vocab_size: VOCAB_SIZE,
            seq_len: 900,
            num_puzzle_identifiers: 2,
            total_groups: 1,
            mean_puzzle_examples: 1.0,
            total_puzzles: 1,
            sets: vec!["all".into()],
        };
        let text = render_arc_example(&m, &tokens, &official.encode(&g, 0, 0)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "input 2x3 at (4,7)   label 2x3");
        assert_eq!(lines[1], "1 2 3                1 2 3");
        assert_eq!(lines[2], "0 5 6                0 5 6");
        let coloured = render_grids(&[("x".into(), &g)], true);
        assert!(
            coloured.contains("\x1b[48;2;0;116;217m"),
            "colour 1 on the ARC blue: {coloured:?}"
        );
        assert!(render_arc_example(&Metadata { vocab_size: 6, ..m }, &tokens, &tokens).is_none());
    }
}
