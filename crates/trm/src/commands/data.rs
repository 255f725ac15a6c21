//! `trm data ...`: build and inspect datasets.

use clap::Subcommand;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: DataCommand,
}

#[derive(Subcommand)]
enum DataCommand {
    /// Print a dataset's metadata, counts and a few decoded examples.
    Inspect { dir: std::path::PathBuf },
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        DataCommand::Inspect { dir } => anyhow::bail!("inspect {}: not implemented yet", dir.display()),
    }
}
