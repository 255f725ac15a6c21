//! Reading ARC task JSON in its two layouts, with errors that name the file, the task and
//! the pair:
//!
//! - one task per file, `{"train": [pair...], "test": [pair...]}`, the task id being the
//!   file stem (ARC-AGI-1/2 `data/{training,evaluation}/`, ConceptARC `corpus/<Concept>/`);
//!   a directory is searched recursively for `*.json` files;
//! - the Kaggle/ARC Prize pair `<prefix>_challenges.json` (`{task_id: task}`, test pairs
//!   without outputs) and its sibling `<prefix>_solutions.json` (`{task_id: [grid...]}`).
//!   Without a solutions file, test outputs become the official dummy `[[0]]`.
//!
//! Extra keys of a task (some tasks carry `"name"`) are ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;

use super::{dummy_output, Grid, Pair, Task};

/// A named set of tasks (`training`, `evaluation`, `concept`, ...), the unit that
/// `--test-set` refers to.
#[derive(Clone, Debug)]
pub struct Subset {
    /// Subset name: the `NAME` of `NAME=PATH`, else [`default_subset_name`] of the path.
    pub name: String,
    /// Sorted by task id.
    pub tasks: Vec<Task>,
}

impl Subset {
    /// Reads `NAME=PATH`, or `PATH` alone, named by [`default_subset_name`].
    pub fn read(spec: &str) -> Result<Subset> {
        let (name, path) = split_subset_spec(spec);
        let tasks = read_tasks(&path)?;
        ensure!(!tasks.is_empty(), "{}: no ARC tasks found", path.display());
        Ok(Subset { name, tasks })
    }

    /// Reads several specs, merging those with the same name (in order of first mention).
    /// Task ids must be unique within a subset.
    pub fn read_all<S: AsRef<str>>(specs: &[S]) -> Result<Vec<Subset>> {
        let mut subsets: Vec<Subset> = Vec::new();
        for spec in specs {
            let subset = Subset::read(spec.as_ref())?;
            match subsets.iter_mut().find(|s| s.name == subset.name) {
                Some(existing) => {
                    existing.tasks.extend(subset.tasks);
                    existing.tasks.sort_by(|a, b| a.id.cmp(&b.id));
                    if let Some(w) = existing.tasks.windows(2).find(|w| w[0].id == w[1].id) {
                        bail!(
                            "subset {:?}: task {} appears twice; give the paths different names (NAME=PATH)",
                            existing.name,
                            w[0].id
                        );
                    }
                }
                None => subsets.push(subset),
            }
        }
        Ok(subsets)
    }
}

/// Splits `NAME=PATH` (a name without `/`) from a plain `PATH`. An existing path is always
/// taken as a path.
pub fn split_subset_spec(spec: &str) -> (String, PathBuf) {
    if !Path::new(spec).exists() {
        if let Some((name, path)) = spec.split_once('=') {
            if !name.is_empty() && !name.contains(['/', '\\']) {
                return (name.to_string(), PathBuf::from(path));
            }
        }
    }
    let path = PathBuf::from(spec);
    (default_subset_name(&path), path)
}

/// The subset name of a path: a directory's name (`.../arc-agi-1/evaluation` ->
/// `evaluation`), a Kaggle file's middle part (`arc-agi_evaluation_challenges.json` ->
/// `evaluation`), or a single task file's stem.
pub fn default_subset_name(path: &Path) -> String {
    let stem = path
        .file_stem()
        .or_else(|| path.file_name())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if path.is_dir() {
        return path
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or(stem);
    }
    let middle = stem.strip_suffix("_challenges").unwrap_or(&stem);
    middle.strip_prefix("arc-agi_").unwrap_or(middle).to_string()
}

/// Reads every task under `path`: a directory (recursively, `*.json`), a single task file,
/// or a Kaggle challenges file (its `_solutions` sibling is used when present). Sorted by id.
pub fn read_tasks(path: &Path) -> Result<Vec<Task>> {
    let mut tasks = if path.is_dir() {
        let mut files = Vec::new();
        collect_json_files(path, &mut files)?;
        files.sort();
        let mut tasks = Vec::with_capacity(files.len());
        for file in &files {
            let value = read_json(file)?;
            if !is_single_task(&value) {
                bail!(
                    "{}: not a single ARC task ({{\"train\": [...], \"test\": [...]}}); pass Kaggle challenges files by file name, not inside a directory",
                    file.display()
                );
            }
            tasks.push(task_from_file(file, &value)?);
        }
        tasks
    } else {
        let value = read_json(path)?;
        if is_single_task(&value) {
            vec![task_from_file(path, &value)?]
        } else {
            read_kaggle(path, &value)?
        }
    };
    tasks.sort_by(|a, b| a.id.cmp(&b.id));
    if let Some(w) = tasks.windows(2).find(|w| w[0].id == w[1].id) {
        bail!("{}: task id {} appears twice (ids are file stems)", path.display(), w[0].id);
    }
    Ok(tasks)
}

/// One task of the file at `path` ([`read_tasks`]): the task `id` of a file holding several
/// (a Kaggle challenges file), or the file's only task when no id is given.
pub fn read_task(path: &Path, id: Option<&str>) -> Result<Task> {
    let mut tasks = read_tasks(path)?;
    let found = match id {
        Some(id) => tasks.iter().position(|t| t.id == id),
        None if tasks.len() == 1 => Some(0),
        None => bail!("{}: holds {} tasks; pick one with --task-id", path.display(), tasks.len()),
    };
    let Some(found) = found else {
        bail!(
            "{}: no task \"{}\" among its {} tasks",
            path.display(),
            id.unwrap_or_default(),
            tasks.len()
        )
    };
    Ok(tasks.swap_remove(found))
}

fn collect_json_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in
        std::fs::read_dir(dir).with_context(|| format!("{}: cannot list", dir.display()))?
    {
        let path = entry?.path();
        if path.is_dir() {
            collect_json_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: not valid JSON", path.display()))
}

fn is_single_task(value: &Value) -> bool {
    value.get("train").is_some() || value.get("test").is_some()
}

fn task_from_file(path: &Path, value: &Value) -> Result<Task> {
    let id = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    parse_task(&id, value, None).with_context(|| format!("{}: task {id}", path.display()))
}

/// Reads a Kaggle challenges file and, when it exists, its solutions sibling.
fn read_kaggle(path: &Path, value: &Value) -> Result<Vec<Task>> {
    let Some(map) = value.as_object() else {
        bail!(
            "{}: expected an ARC task or a Kaggle challenges object {{task_id: task}}",
            path.display()
        );
    };
    let name = path.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let solutions_path = name
        .contains("challenges")
        .then(|| path.with_file_name(name.replacen("challenges", "solutions", 1)));
    let solutions = match &solutions_path {
        Some(p) if p.is_file() => Some(read_json(p)?),
        _ => None,
    };
    let mut tasks = Vec::with_capacity(map.len());
    for (id, task_value) in map {
        let outputs = match &solutions {
            Some(sol) => {
                let sol_path = solutions_path.as_ref().unwrap();
                let grids = sol.get(id).with_context(|| {
                    format!("{}: no solutions for task {id}", sol_path.display())
                })?;
                let grids = grids.as_array().with_context(|| {
                    format!("{}: task {id}: expected a list of grids", sol_path.display())
                })?;
                let parsed = grids
                    .iter()
                    .enumerate()
                    .map(|(i, g)| {
                        parse_grid(g).with_context(|| {
                            format!("{}: task {id}: test pair {} output", sol_path.display(), i + 1)
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                Some(parsed)
            }
            None => None,
        };
        let task = parse_task(id, task_value, outputs.as_deref())
            .with_context(|| format!("{}: task {id}", path.display()))?;
        tasks.push(task);
    }
    Ok(tasks)
}

/// Parses one task. `test_outputs`, when given, supplies the test outputs (Kaggle solutions).
fn parse_task(id: &str, value: &Value, test_outputs: Option<&[Grid]>) -> Result<Task> {
    ensure!(value.is_object(), "expected an object {{\"train\": [...], \"test\": [...]}}");
    let pairs = |key: &str| -> Result<&Vec<Value>> {
        value
            .get(key)
            .with_context(|| {
                format!(
                    "missing \"{key}\"; an ARC task needs {{\"train\": [...], \"test\": [...]}}"
                )
            })?
            .as_array()
            .with_context(|| format!("\"{key}\" must be a list of pairs"))
    };
    let train = pairs("train")?
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (|| -> Result<Pair> {
                let (input, output) = parse_pair(p)?;
                Ok(Pair { input, output: output.context("missing \"output\"")? })
            })()
            .with_context(|| format!("train pair {}", i + 1))
        })
        .collect::<Result<Vec<_>>>()?;
    let test_values = pairs("test")?;
    ensure!(!test_values.is_empty(), "\"test\" is empty; a task needs at least one test input");
    if let Some(outputs) = test_outputs {
        ensure!(
            outputs.len() == test_values.len(),
            "the solutions file has {} outputs but the task has {} test inputs",
            outputs.len(),
            test_values.len()
        );
    }
    let mut solutions_known = true;
    let mut test = Vec::with_capacity(test_values.len());
    for (i, p) in test_values.iter().enumerate() {
        let (input, output) = parse_pair(p).with_context(|| format!("test pair {}", i + 1))?;
        let output = match (test_outputs, output) {
            (Some(outputs), _) => outputs[i].clone(),
            (None, Some(output)) => output,
            (None, None) => {
                solutions_known = false;
                dummy_output()
            }
        };
        test.push(Pair { input, output });
    }
    Ok(Task { id: id.to_string(), train, test, solutions_known })
}

/// Parses a pair's input and, when present, its output.
fn parse_pair(value: &Value) -> Result<(Grid, Option<Grid>)> {
    let input = value.get("input").context("missing \"input\"")?;
    let input = parse_grid(input).context("input")?;
    let output = value.get("output").map(|o| parse_grid(o).context("output")).transpose()?;
    Ok((input, output))
}

/// Parses and checks a grid: a non-empty list of equally long rows of integers 0-9, at most
/// 30x30.
pub fn parse_grid(value: &Value) -> Result<Grid> {
    let rows = value.as_array().context("a grid must be a list of rows")?;
    let mut cells_rows = Vec::with_capacity(rows.len());
    for (r, row) in rows.iter().enumerate() {
        let row = row.as_array().with_context(|| format!("row {} is not a list", r + 1))?;
        let cells = row
            .iter()
            .enumerate()
            .map(|(c, v)| match v.as_u64() {
                Some(x) if x < 10 => Ok(x as u8),
                _ => bail!("row {}, column {}: {v} is not a colour 0-9", r + 1, c + 1),
            })
            .collect::<Result<Vec<u8>>>()?;
        cells_rows.push(cells);
    }
    let grid = Grid::from_rows(&cells_rows)?;
    grid.check_task_size()?;
    Ok(grid)
}

/// Reads a `test_puzzles.json` (`{name: task}`) as written by the ARC builder.
pub fn read_test_puzzles(path: &Path) -> Result<BTreeMap<String, Task>> {
    let value = read_json(path)?;
    let map = value
        .as_object()
        .with_context(|| format!("{}: expected an object {{name: task}}", path.display()))?;
    map.iter()
        .map(|(id, v)| {
            let task = parse_task(id, v, None)
                .with_context(|| format!("{}: task {id}", path.display()))?;
            Ok((id.clone(), task))
        })
        .collect()
}
