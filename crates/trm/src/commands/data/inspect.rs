//! `trm data inspect`: a dataset's metadata, counts and a few decoded examples.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Result;
use trm_data::dataset::Dataset;
use trm_viz::terminal;

#[derive(clap::Args)]
pub struct InspectArgs {
    /// Dataset folder (holding train/ and/or test/).
    dir: PathBuf,
    /// Examples shown per split (the first puzzle of the first groups, then an augmented copy).
    #[arg(long, default_value_t = 2)]
    examples: usize,
}

pub fn inspect(a: InspectArgs) -> Result<()> {
    let dataset = Dataset::load(&a.dir)?;
    let colour = std::io::stdout().is_terminal();
    print!("{}", terminal::describe_dataset(&dataset, &a.dir, a.examples, colour));
    Ok(())
}
