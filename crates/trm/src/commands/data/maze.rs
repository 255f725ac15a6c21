//! `trm data maze` (build a maze dataset) and `trm data bench-maze` (BFS and generator speed).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use trm_data::maze::bench::bench_generator;
use trm_data::maze::build::{write_maze_dataset, MazeSources};
use trm_data::maze::generate::GeneratorConfig;
use trm_data::maze::parse_size;

/// Shown after the options of the command's `--help`.
const MAZE_HELP: &str = "\
Each split comes from an official CSV file (`source,question,answer,rating`, 900-character
mazes in `# SGo`; spaces are open cells and are never stripped) or is generated with the
Maze-Hard recipe: 30-50% random walls, up to 100 start/goal draws per wall layout, keep the
first pair whose shortest path has at least --min-path cells, no wall layout in both splits.
A split with no source is not written. Tokens: 0 PAD, 1 '#', 2 ' ', 3 'S', 4 'G', 5 'o'
(vocab 6). The output is written atomically.

Example: trm data maze --out data/maze-30x30 --generate-train 1000 --generate-test 1000";

#[derive(clap::Args)]
#[command(after_help = MAZE_HELP)]
pub struct MazeArgs {
    /// Output folder (replaced if it holds a dataset; other non-empty folders are refused).
    #[arg(long)]
    out: PathBuf,
    /// Training mazes: official CSV file.
    #[arg(long, value_name = "FILE", conflicts_with = "generate_train")]
    train_csv: Option<PathBuf>,
    /// Test mazes: official CSV file.
    #[arg(long, value_name = "FILE", conflicts_with = "generate_test")]
    test_csv: Option<PathBuf>,
    /// Generate N training mazes.
    #[arg(long, value_name = "N")]
    generate_train: Option<usize>,
    /// Generate N test mazes (wall layouts distinct from every training maze).
    #[arg(long, value_name = "N")]
    generate_test: Option<usize>,
    /// Size of generated mazes: N (N x N) or RxC [default: the CSV mazes' size, else 30].
    #[arg(long, value_name = "N|RxC")]
    size: Option<String>,
    /// Generated mazes: least shortest-path length in cells, start and goal included
    /// [default: 111 for 30x30 (Maze-Hard: longer than 110); other sizes the length that about
    /// 0.1% of wall layouts reach, as for Maze-Hard, e.g. 30 for 9x9, 42 for 12x12].
    #[arg(long, value_name = "CELLS")]
    min_path: Option<usize>,
    /// Add the 8 dihedral transforms of every training maze (official --aug; test never).
    /// Labels that are the solver's own answers (generated mazes, --save-csv files) are
    /// solved again for each copy, so one tie-break rule holds among equal shortest paths;
    /// other labels are transformed with their mazes.
    #[arg(long)]
    aug: bool,
    /// Seed of the generator: same seed, same bytes (whatever --threads).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Generator threads [default: all cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Also write the mazes as official CSV files DIR/train.csv and DIR/test.csv.
    #[arg(long, value_name = "DIR")]
    save_csv: Option<PathBuf>,
}

/// Shown after the options of the command's `--help`.
const BENCH_MAZE_HELP: &str = "\
Prints a Markdown table of BFS speed (one core, path backtracking included) and of the
Maze-Hard generator's speed (one core and all threads) on freshly generated mazes.

Example: trm data bench-maze --size 30 --count 1000";

#[derive(clap::Args)]
#[command(after_help = BENCH_MAZE_HELP)]
pub struct BenchMazeArgs {
    /// Maze size: N or RxC.
    #[arg(long, default_value = "30")]
    size: String,
    /// Mazes to generate (and then solve).
    #[arg(long, default_value_t = 1000)]
    count: usize,
    /// Path-length filter [default: as `trm data maze`].
    #[arg(long, value_name = "CELLS")]
    min_path: Option<usize>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Threads of the parallel generator run [default: all cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Least seconds of BFS timing.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
}

fn default_threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

pub fn maze(args: MazeArgs) -> Result<()> {
    let start = Instant::now();
    let sources = MazeSources {
        train_csv: args.train_csv,
        test_csv: args.test_csv,
        generate_train: args.generate_train,
        generate_test: args.generate_test,
        size: args.size,
        min_path: args.min_path,
        seed: args.seed,
        threads: args.threads.unwrap_or_else(default_threads),
    };
    let mazes = sources.collect()?;
    if let Some(line) = mazes.generation_line(args.seed) {
        println!("{line}");
    }
    if let Some(dir) = &args.save_csv {
        mazes.save_csv(dir, &format!("trm data maze --seed {}", args.seed))?;
    }
    let (train, test) = (mazes.train.as_deref(), mazes.test.as_deref());
    let dataset = write_maze_dataset(&args.out, train, test, args.aug)
        .with_context(|| format!("{}: cannot build the maze dataset", args.out.display()))?;
    print!("{}", mazes.dataset_summary(&args.out, &dataset));
    println!("took {:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}

pub fn bench_maze(args: BenchMazeArgs) -> Result<()> {
    let size = parse_size(&args.size).with_context(|| format!("--size {:?}", args.size))?;
    let config = GeneratorConfig::new(size.0, size.1).with_min_path(args.min_path);
    let threads = args.threads.unwrap_or_else(default_threads);
    ensure!(args.count > 0, "--count must be positive");
    print!("{}", bench_generator(&config, args.count, args.seed, threads, args.seconds)?.table());
    Ok(())
}
