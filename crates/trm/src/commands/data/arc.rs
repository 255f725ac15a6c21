//! `trm data arc`: build an ARC-AGI dataset in the official layout.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use trm_data::arc::build::{build_arc_dataset, ArcBuildConfig, TaskSelection};
use trm_data::arc::Subset;

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
    let selection =
        TaskSelection { max_grid: args.max_grid, canvas: args.canvas, max_tasks: args.max_tasks };
    let canvas = selection.canvas()?;
    let mut subsets = Subset::read_all(&args.tasks)?;
    let kept = selection.apply(&mut subsets)?;
    print!("{}", selection.kept_lines(&kept));
    let config =
        ArcBuildConfig { test_sets: args.test_set, num_aug: args.aug, seed: args.seed, canvas };
    let built = build_arc_dataset(&subsets, &config)?;
    built
        .write(&args.out)
        .with_context(|| format!("{}: cannot write the ARC dataset", args.out.display()))?;
    print!("{}", built.summary(&args.out, start.elapsed()));
    if let Some(warning) = built.leak_warning() {
        eprintln!("{warning}");
    }
    Ok(())
}
