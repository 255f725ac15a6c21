//! `trm data custom`: a dataset from the user's own task file and data files
//! (`trm_data::custom`, format in docs/custom-tasks.md).

use std::path::PathBuf;

use anyhow::{bail, Result};
use trm_data::custom::build_from_files;

/// Shown after the options of the command's `--help`.
const CUSTOM_HELP: &str = "\
The task file (TOML) declares the alphabet (token = 1 + its index; 0 is PAD), the shape
(`rows` and `cols`, or `length`), the blank symbols (inputs only) and the valid
augmentations ([augment] dihedral = true for square grids, interchangeable = \"...\" for
symbols that may be relabelled). Data files are CSV with a header naming `input` and
`output`, or JSONL lines {\"input\": \"...\", \"output\": \"...\"}; a grid is one string of
rows*cols characters, row by row. Each pair becomes a group: the pair and --aug distinct
augmented copies (train only), each its own puzzle. The output is written atomically, with
a copy of the task as task.toml. Format: docs/custom-tasks.md.

Example: trm data custom --task examples/tasks/latin/task.toml --train examples/tasks/latin/train.csv --test examples/tasks/latin/test.csv --out data/latin --aug 8";

#[derive(clap::Args)]
#[command(after_help = CUSTOM_HELP)]
pub struct CustomArgs {
    /// The task file (TOML: alphabet, blanks, rows/cols or length, [augment]).
    #[arg(long, value_name = "TASK.toml")]
    task: PathBuf,
    /// Training pairs: CSV (`input,output` header) or JSONL.
    #[arg(long, value_name = "FILE")]
    train: Option<PathBuf>,
    /// Test pairs: CSV (`input,output` header) or JSONL; never augmented.
    #[arg(long, value_name = "FILE")]
    test: Option<PathBuf>,
    /// Output folder (replaced if it holds a dataset; other non-empty folders are refused).
    #[arg(long)]
    out: PathBuf,
    /// Distinct augmented copies added to each training pair (needs an [augment] section).
    #[arg(long, value_name = "N", default_value_t = 0)]
    aug: usize,
    /// Seed of the augmentation draws: same seed, same bytes.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn custom(args: CustomArgs) -> Result<()> {
    if args.train.is_none() && args.test.is_none() {
        bail!("nothing to build: give --train FILE and/or --test FILE");
    }
    let built = build_from_files(
        &args.task,
        args.train.as_deref(),
        args.test.as_deref(),
        args.aug,
        args.seed,
        &args.out,
    )?;
    print!("{}", built.summary());
    Ok(())
}
