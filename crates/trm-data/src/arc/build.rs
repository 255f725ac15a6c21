//! ARC datasets in the official layout (design 4.4; official `dataset/build_arc_dataset.py`).
//!
//! - Subsets named as test sets send their demonstration pairs to `train` and their test
//!   pairs to `test`; every other subset sends all its pairs to `train`.
//! - Each original task is a group: the task itself, then its accepted augmentations
//!   (dihedral + colour permutation, duplicates rejected), each a puzzle with its own
//!   identifier. The same name has the same identifier in both splits.
//! - Grids sit on the canvas of [`ArcBuildConfig::canvas`] (official 30x30); every grid of
//!   every task must fit it. Training examples are translated at random on the canvas except
//!   one example per puzzle, which stays at the top-left corner; test examples are never
//!   translated.
//! - `identifiers.json` lists the puzzle names (`<blank>` at 0); `test_puzzles.json` holds
//!   the test-set tasks as `{name: task}`, test outputs included (dummy `[[0]]` if unknown).
//!
//! Differences from the official script, none affecting the format: tasks are processed in
//! id order instead of a shuffled order, and each task draws from its own ChaCha8 stream
//! keyed by `(seed, task id)`, so a task's augmentations do not depend on which other tasks
//! are in the build.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::augment::{augmentations, Augmentation};
use super::encode::{Canvas, VOCAB_SIZE};
use super::{Pair, Subset, Task};
use crate::dataset::{write_dir_atomically, Dataset, SplitBuilder, TokenSpec, BLANK_IDENTIFIER};

/// Name of the file holding the evaluated tasks.
pub const TEST_PUZZLES_FILE: &str = "test_puzzles.json";

/// Settings of an ARC build.
#[derive(Clone, Debug, PartialEq)]
pub struct ArcBuildConfig {
    /// Subsets whose test pairs form the test split (usually one, e.g. `evaluation`).
    pub test_sets: Vec<String>,
    /// Augmentations wanted per task (official 1000).
    pub num_aug: usize,
    /// Seed of the per-task ChaCha8 streams (augmentations and translations); default 42.
    pub seed: u64,
    /// The token canvas (official 30x30); the dataset's `seq_len` is its `side * side`.
    pub canvas: Canvas,
}

impl Default for ArcBuildConfig {
    fn default() -> Self {
        ArcBuildConfig {
            test_sets: vec!["evaluation".to_string()],
            num_aug: 1000,
            seed: 42,
            canvas: Canvas::OFFICIAL,
        }
    }
}

/// Which tasks of the subsets a build keeps, and the canvas they go on (`trm data arc
/// --max-grid N --canvas N --max-tasks N`), for CPU-sized datasets. The error messages name
/// those flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskSelection {
    /// Keep only the tasks whose grids (all pairs) are at most N x N.
    pub max_grid: Option<usize>,
    /// Side of the square token canvas (official 30). Without `max_grid`, tasks with a grid
    /// larger than it are skipped; with it, it must be at least `max_grid`.
    pub canvas: Option<usize>,
    /// Keep only the first N tasks (by id) of every subset, after the size limit.
    pub max_tasks: Option<usize>,
}

/// What [`TaskSelection::apply`] kept of one subset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptTasks {
    /// The subset's name.
    pub subset: String,
    /// Tasks kept: all their grids are within the limit.
    pub kept: usize,
    /// Tasks before the limit.
    pub before: usize,
}

impl TaskSelection {
    /// The canvas of the build (the official one without `canvas`), after checking the
    /// settings: positive counts, a canvas of side 2 to 30 and not smaller than `max_grid`.
    pub fn canvas(&self) -> Result<Canvas> {
        ensure!(self.max_grid != Some(0), "--max-grid must be positive");
        ensure!(self.max_tasks != Some(0), "--max-tasks must be positive");
        let Some(side) = self.canvas else { return Ok(Canvas::OFFICIAL) };
        let canvas = Canvas::new(side).context("--canvas")?;
        if let Some(m) = self.max_grid {
            ensure!(
                side >= m,
                "--canvas {side} is smaller than --max-grid {m}: a {m}x{m} grid does not fit a {canvas} canvas; give --canvas {m} or more (or a smaller --max-grid)"
            );
        }
        Ok(canvas)
    }

    /// The largest grid side kept and the flag that sets it: `--max-grid`, else `--canvas`
    /// (a larger grid does not fit it), else none (every ARC grid fits the official canvas).
    pub fn grid_limit(&self) -> Option<(usize, String)> {
        match (self.max_grid, self.canvas) {
            (Some(m), _) => Some((m, format!("--max-grid {m}"))),
            (None, Some(n)) => Some((n, format!("--canvas {n}"))),
            (None, None) => None,
        }
    }

    /// Keeps the tasks of every subset whose grids are within [`Self::grid_limit`], then the
    /// first `max_tasks` of them. Returns per subset what the size limit kept (nothing
    /// without a limit); a subset it leaves empty is an error.
    pub fn apply(&self, subsets: &mut [Subset]) -> Result<Vec<KeptTasks>> {
        let mut kept = Vec::new();
        if let Some((n, flag)) = self.grid_limit() {
            for subset in subsets.iter_mut() {
                let before = subset.tasks.len();
                subset.tasks.retain(|t| t.pairs().all(|p| p.input.within(n) && p.output.within(n)));
                ensure!(
                    !subset.tasks.is_empty(),
                    "subset {:?}: no task has all its grids within {n}x{n} ({flag})",
                    subset.name
                );
                let subset =
                    KeptTasks { subset: subset.name.clone(), kept: subset.tasks.len(), before };
                kept.push(subset);
            }
        }
        if let Some(n) = self.max_tasks {
            for subset in subsets.iter_mut() {
                subset.tasks.truncate(n);
            }
        }
        Ok(kept)
    }

    /// One line per subset of what [`Self::apply`] kept (`subset a: kept 3 of 4 tasks,
    /// skipped 1 with a grid larger than 3x3 (--max-grid 3)`); empty without a size limit.
    pub fn kept_lines(&self, kept: &[KeptTasks]) -> String {
        let Some((n, flag)) = self.grid_limit() else { return String::new() };
        kept.iter()
            .map(|k| {
                let skipped = k.before - k.kept;
                format!(
                    "subset {}: kept {} of {} tasks, skipped {skipped} with a grid larger than {n}x{n} ({flag})\n",
                    k.subset, k.kept, k.before
                )
            })
            .collect()
    }
}

/// An ARC dataset in memory, ready to write or to use directly.
pub struct ArcDataset {
    /// The splits and `identifiers.json` in the official layout.
    pub dataset: Dataset,
    /// `test_puzzles.json`: the test-set tasks by name.
    pub test_puzzles: BTreeMap<String, Task>,
    /// What the build did (subsets, short groups, leaked tasks), for printing.
    pub report: ArcBuildReport,
    /// The settings it was built with.
    pub config: ArcBuildConfig,
}

/// What a build did, for printing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ArcBuildReport {
    /// Per subset: name, tasks, demonstration pairs, test pairs, whether it is a test set.
    pub subsets: Vec<(String, usize, usize, usize, bool)>,
    /// Tasks that got fewer augmentations than asked: (task id, augmentations accepted).
    pub short_groups: Vec<(String, usize)>,
    /// Test-set task ids that also appear in a training subset (their test pairs leak into `train`).
    pub leaked: Vec<String>,
}

/// The token layout of ARC datasets, for `num_ids` puzzle identifiers.
pub fn token_spec(num_ids: u32) -> TokenSpec {
    TokenSpec {
        pad_id: 0,
        ignore_label_id: Some(0),
        blank_identifier_id: 0,
        vocab_size: VOCAB_SIZE,
        num_puzzle_identifiers: num_ids,
    }
}

/// 64-bit FNV-1a: a stable hash for seeding per-task random streams.
fn fnv1a(text: &str) -> u64 {
    text.bytes()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3))
}

/// The random stream of one task for one purpose.
fn task_rng(seed: u64, task_id: &str, purpose: &[u8; 8]) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&fnv1a(task_id).to_le_bytes());
    key[16..24].copy_from_slice(purpose);
    key[24..].copy_from_slice(b"trm-arc!");
    ChaCha8Rng::from_seed(key)
}

/// The group a build gives `task` for `num_aug` and `seed`: the identity, then the accepted
/// augmentations. Lets one task be augmented in memory exactly as `trm data arc` would.
pub fn task_augmentations(task: &Task, num_aug: usize, seed: u64) -> Vec<Augmentation> {
    augmentations(task, num_aug, &mut task_rng(seed, &task.id, b"augment!"))
}

/// The test inputs of `task` under `aug`, encoded on `canvas` as the test split holds them
/// (at the corner, never translated), one canvas per test pair. Panics if one does not fit.
pub fn encode_test_inputs(task: &Task, aug: &Augmentation, canvas: Canvas) -> Vec<Vec<u8>> {
    task.test.iter().map(|p| canvas.encode(&aug.apply(&p.input), 0, 0)).collect()
}

/// Refuses a task with a grid larger than `canvas`, naming the task, the pair and the sizes.
fn check_fits(task: &Task, canvas: Canvas) -> Result<()> {
    for (kind, pairs) in [("train", &task.train), ("test", &task.test)] {
        for (i, pair) in pairs.iter().enumerate() {
            for (what, grid) in [("input", &pair.input), ("output", &pair.output)] {
                ensure!(
                    canvas.fits(grid),
                    "task {}: {kind} pair {}: {what} is {}x{}, larger than the {canvas} canvas",
                    task.id,
                    i + 1,
                    grid.rows(),
                    grid.cols()
                );
            }
        }
    }
    Ok(())
}

/// One original task with its accepted augmentations.
struct Group<'a> {
    task: &'a Task,
    augs: Vec<Augmentation>,
    is_test: bool,
}

/// Builds an ARC dataset from `subsets` (read with [`Subset::read_all`]).
pub fn build_arc_dataset(subsets: &[Subset], config: &ArcBuildConfig) -> Result<ArcDataset> {
    for name in &config.test_sets {
        ensure!(
            subsets.iter().any(|s| &s.name == name),
            "test set {name:?} is none of the subsets given ({}); name a subset with NAME=PATH or use its folder name",
            subsets.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")
        );
    }
    let mut report = ArcBuildReport::default();
    let mut groups = Vec::new();
    let mut test_puzzles = BTreeMap::new();
    for subset in subsets {
        let is_test = config.test_sets.contains(&subset.name);
        let demos = subset.tasks.iter().map(|t| t.train.len()).sum();
        let tests = subset.tasks.iter().map(|t| t.test.len()).sum();
        report.subsets.push((subset.name.clone(), subset.tasks.len(), demos, tests, is_test));
        for task in &subset.tasks {
            check_fits(task, config.canvas)?;
            if is_test {
                ensure!(
                    test_puzzles.insert(task.id.clone(), task.clone()).is_none(),
                    "task {} is in two test sets; test_puzzles.json needs unique names",
                    task.id
                );
            }
            let augs = task_augmentations(task, config.num_aug, config.seed);
            if augs.len() < config.num_aug + 1 {
                report.short_groups.push((task.id.clone(), augs.len() - 1));
            }
            groups.push(Group { task, augs, is_test });
        }
    }
    let train_ids: std::collections::HashSet<&str> =
        groups.iter().filter(|g| !g.is_test).map(|g| g.task.id.as_str()).collect();
    report.leaked =
        test_puzzles.keys().filter(|id| train_ids.contains(id.as_str())).cloned().collect();

    // Identifiers in order of first appearance: train split first, then test (as officially).
    let mut identifiers = vec![BLANK_IDENTIFIER.to_string()];
    let mut identifier_of: HashMap<String, i32> = HashMap::new();
    let order =
        groups.iter().filter(|g| has_train_pairs(g)).chain(groups.iter().filter(|g| g.is_test));
    for group in order {
        for aug in &group.augs {
            let name = aug.name(&group.task.id);
            if !identifier_of.contains_key(&name) {
                identifier_of.insert(name.clone(), identifiers.len() as i32);
                identifiers.push(name);
            }
        }
    }
    ensure!(
        identifiers.len() < i32::MAX as usize,
        "too many puzzle identifiers ({})",
        identifiers.len()
    );
    let spec = token_spec(identifiers.len() as u32);

    let canvas = config.canvas;
    let mut train = SplitBuilder::new(canvas.seq_len());
    for group in groups.iter().filter(|g| has_train_pairs(g)) {
        let mut rng = task_rng(config.seed, &group.task.id, b"translat");
        for aug in &group.augs {
            let pairs: Vec<&Pair> = if group.is_test {
                group.task.train.iter().collect()
            } else {
                group.task.pairs().collect()
            };
            let fixed = rng.random_range(0..pairs.len());
            for (i, pair) in pairs.into_iter().enumerate() {
                let (input, output) = (aug.apply(&pair.input), aug.apply(&pair.output));
                let (max_r, max_c) = canvas.max_offset(&input, &output);
                let (r, c) = if i == fixed {
                    (0, 0)
                } else {
                    (rng.random_range(0..=max_r), rng.random_range(0..=max_c))
                };
                train.push_example(&canvas.encode(&input, r, c), &canvas.encode(&output, r, c))?;
            }
            train.finish_puzzle(identifier_of[&aug.name(&group.task.id)])?;
        }
        train.finish_group()?;
    }
    let mut test = SplitBuilder::new(canvas.seq_len());
    for group in groups.iter().filter(|g| g.is_test) {
        for aug in &group.augs {
            for (pair, input) in
                group.task.test.iter().zip(encode_test_inputs(group.task, aug, canvas))
            {
                test.push_example(&input, &canvas.encode(&aug.apply(&pair.output), 0, 0))?;
            }
            test.finish_puzzle(identifier_of[&aug.name(&group.task.id)])?;
        }
        test.finish_group()?;
    }
    let train = (train.num_groups() > 0).then(|| train.finish(spec)).transpose()?;
    let test = (test.num_groups() > 0).then(|| test.finish(spec)).transpose()?;
    let dataset = Dataset { train, test, identifiers };
    Ok(ArcDataset { dataset, test_puzzles, report, config: config.clone() })
}

/// Whether a group contributes to the train split (a test-set task without demonstrations does not).
fn has_train_pairs(group: &Group) -> bool {
    if group.is_test {
        !group.task.train.is_empty()
    } else {
        group.task.pairs().next().is_some()
    }
}

impl ArcDataset {
    /// Writes the dataset and `test_puzzles.json` to `dir` atomically.
    pub fn write(&self, dir: &Path) -> Result<()> {
        write_dir_atomically(dir, |tmp| {
            self.dataset.write_into(tmp)?;
            let path = tmp.join(TEST_PUZZLES_FILE);
            let text = serde_json::to_string(&self.test_puzzles)?;
            std::fs::write(&path, text).with_context(|| format!("{}: cannot write", path.display()))
        })
    }

    /// What `trm data arc` prints after writing the dataset to `out` in `elapsed`: a
    /// Markdown table of the subsets, one of the splits, the `wrote` line and a note on tasks
    /// with fewer augmentations than asked.
    pub fn summary(&self, out: &Path, elapsed: Duration) -> String {
        let mut text = String::from(
            "| subset | tasks | demo pairs | test pairs | test pairs go to |\n|---|---:|---:|---:|---|\n",
        );
        for (name, tasks, demos, tests, is_test) in &self.report.subsets {
            let goes_to = if *is_test { "test" } else { "train" };
            text += &format!("| {name} | {tasks} | {demos} | {tests} | {goes_to} |\n");
        }
        text += "\n| split | groups | puzzles | examples | mean examples/puzzle |\n|---|---:|---:|---:|---:|\n";
        for (name, split) in self.dataset.splits() {
            text += &format!(
                "| {name} | {} | {} | {} | {:.3} |\n",
                split.num_groups(),
                split.num_puzzles(),
                split.num_examples(),
                split.meta.mean_puzzle_examples
            );
        }
        let canvas = self.config.canvas;
        text += &format!(
            "\nwrote {}: {} puzzle identifiers (with <blank>), {} test puzzles, {canvas} canvas (seq_len {}), seed {}, took {:.1} s\n",
            out.display(),
            self.dataset.identifiers.len(),
            self.test_puzzles.len(),
            canvas.seq_len(),
            self.config.seed,
            elapsed.as_secs_f64()
        );
        let short = &self.report.short_groups;
        if !short.is_empty() {
            let examples: Vec<String> =
                short.iter().take(5).map(|(id, n)| format!("{id} ({n})")).collect();
            text += &format!(
                "note: {} tasks have fewer than {} distinct augmentations, e.g. {}\n",
                short.len(),
                self.config.num_aug,
                examples.join(", ")
            );
        }
        text
    }

    /// The warning for test-set tasks that also appear in a training subset (their test
    /// pairs are in `train`), naming up to 10 of them; `None` when there are none.
    pub fn leak_warning(&self) -> Option<String> {
        let leaked = &self.report.leaked;
        (!leaked.is_empty()).then(|| {
            format!(
                "warning: {} test-set tasks also appear in a training subset, so their test pairs are in train: {}",
                leaked.len(),
                leaked.iter().take(10).cloned().collect::<Vec<_>>().join(", ")
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arc::{Grid, Pair};

    #[test]
    fn in_memory_augmentations_match_the_test_split() {
        let g = |rows: &[&[u8]]| {
            Grid::from_rows(&rows.iter().map(|r| r.to_vec()).collect::<Vec<_>>()).unwrap()
        };
        let pair = |a: &[&[u8]], b: &[&[u8]]| Pair { input: g(a), output: g(b) };
        let task = Task {
            id: "t1".into(),
            train: vec![pair(&[&[1, 2], &[3, 0]], &[&[2, 1], &[0, 3]])],
            test: vec![pair(&[&[4, 5, 0]], &[&[0, 5, 4]]), pair(&[&[6], &[7]], &[&[7], &[6]])],
            solutions_known: true,
        };
        let subsets = [Subset { name: "evaluation".into(), tasks: vec![task.clone()] }];
        let built = build_arc_dataset(
            &subsets,
            &ArcBuildConfig { num_aug: 5, seed: 3, ..Default::default() },
        )
        .unwrap();
        let augs = task_augmentations(&task, 5, 3);
        assert_eq!(augs.len(), 6);
        assert_eq!(augs[0], Augmentation::IDENTITY);
        let test = built.dataset.test.as_ref().unwrap();
        assert_eq!(test.num_puzzles(), augs.len());
        for (p, aug) in augs.iter().enumerate() {
            let name = &built.dataset.identifiers[test.puzzle_identifiers[p] as usize];
            assert_eq!(name, &aug.name("t1"));
            let rows = encode_test_inputs(&task, aug, Canvas::OFFICIAL);
            for (row, e) in rows.iter().zip(test.puzzle_examples(p)) {
                assert_eq!(row.as_slice(), test.example(e).0);
            }
        }
    }

    fn square_task(id: &str, side: usize) -> Task {
        let grid = Grid::new(side, side, vec![1; side * side]).unwrap();
        Task {
            id: id.into(),
            train: vec![Pair { input: grid.clone(), output: grid.clone() }],
            test: vec![Pair { input: grid.clone(), output: grid }],
            solutions_known: true,
        }
    }

    #[test]
    fn a_selection_checks_its_canvas() {
        let sel = |max_grid, canvas, max_tasks| TaskSelection { max_grid, canvas, max_tasks };
        assert_eq!(sel(None, None, None).canvas().unwrap(), Canvas::OFFICIAL);
        assert_eq!(sel(Some(3), Some(4), None).canvas().unwrap(), Canvas::new(4).unwrap());
        let err = |s: TaskSelection| format!("{:#}", s.canvas().unwrap_err());
        assert_eq!(err(sel(Some(0), None, None)), "--max-grid must be positive");
        assert_eq!(err(sel(None, None, Some(0))), "--max-tasks must be positive");
        assert_eq!(
            err(sel(None, Some(31), None)),
            "--canvas: an ARC canvas has a side of 2 to 30, not 31"
        );
        assert!(err(sel(Some(3), Some(2), None)).starts_with(
            "--canvas 2 is smaller than --max-grid 3: a 3x3 grid does not fit a 2x2 canvas"
        ));
        assert_eq!(sel(Some(3), Some(4), None).grid_limit(), Some((3, "--max-grid 3".to_string())));
        assert_eq!(sel(None, Some(4), None).grid_limit(), Some((4, "--canvas 4".to_string())));
        assert_eq!(sel(None, None, Some(2)).grid_limit(), None);
    }

    #[test]
    fn a_selection_keeps_small_tasks_then_the_first_ones() {
        let subset = |name: &str, sides: &[usize]| Subset {
            name: name.into(),
            tasks: sides
                .iter()
                .enumerate()
                .map(|(i, &s)| square_task(&format!("t{i}"), s))
                .collect(),
        };
        let mut subsets = vec![subset("a", &[2, 5, 3, 1]), subset("b", &[4, 3])];
        let sel = TaskSelection { max_grid: Some(3), canvas: None, max_tasks: Some(2) };
        let kept = sel.apply(&mut subsets).unwrap();
        assert_eq!(
            kept,
            [
                KeptTasks { subset: "a".into(), kept: 3, before: 4 },
                KeptTasks { subset: "b".into(), kept: 1, before: 2 }
            ]
        );
        assert_eq!(
            sel.kept_lines(&kept),
            "subset a: kept 3 of 4 tasks, skipped 1 with a grid larger than 3x3 (--max-grid 3)\n\
             subset b: kept 1 of 2 tasks, skipped 1 with a grid larger than 3x3 (--max-grid 3)\n"
        );
        let ids = |s: &Subset| s.tasks.iter().map(|t| t.id.clone()).collect::<Vec<_>>();
        assert_eq!(
            (ids(&subsets[0]), ids(&subsets[1])),
            (vec!["t0".to_string(), "t2".into()], vec!["t1".to_string()])
        );

        // Without a size limit nothing is reported; a subset left empty is an error.
        let mut all = vec![subset("a", &[2, 5, 3])];
        let only_first = TaskSelection { max_tasks: Some(1), ..Default::default() };
        assert!(only_first.apply(&mut all).unwrap().is_empty());
        assert_eq!(only_first.kept_lines(&[]), "");
        assert_eq!(all[0].tasks.len(), 1);
        let mut big = vec![subset("big", &[5])];
        let e =
            TaskSelection { canvas: Some(4), ..Default::default() }.apply(&mut big).unwrap_err();
        assert_eq!(
            e.to_string(),
            "subset \"big\": no task has all its grids within 4x4 (--canvas 4)"
        );
    }

    #[test]
    fn the_summary_has_both_tables_and_names_short_and_leaked_tasks() {
        let subsets = [
            Subset { name: "training".into(), tasks: vec![square_task("t1", 2)] },
            Subset { name: "evaluation".into(), tasks: vec![square_task("t1", 2)] },
        ];
        let config = ArcBuildConfig {
            num_aug: 20,
            seed: 5,
            canvas: Canvas::new(4).unwrap(),
            ..Default::default()
        };
        let built = build_arc_dataset(&subsets, &config).unwrap();
        let text = built.summary(Path::new("out"), Duration::from_millis(1300));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "| subset | tasks | demo pairs | test pairs | test pairs go to |");
        assert_eq!(lines[2], "| training | 1 | 1 | 1 | train |");
        assert_eq!(lines[3], "| evaluation | 1 | 1 | 1 | test |");
        assert_eq!(lines[7], "| train | 2 | 18 | 27 | 1.500 |");
        assert_eq!(lines[8], "| test | 1 | 9 | 9 | 1.000 |");
        assert_eq!(
            lines[10],
            "wrote out: 10 puzzle identifiers (with <blank>), 1 test puzzles, 4x4 canvas (seq_len 16), seed 5, took 1.3 s"
        );
        assert_eq!(
            lines[11],
            "note: 2 tasks have fewer than 20 distinct augmentations, e.g. t1 (8), t1 (8)"
        );
        assert_eq!(
            built.leak_warning().unwrap(),
            "warning: 1 test-set tasks also appear in a training subset, so their test pairs are in train: t1"
        );
    }
}
