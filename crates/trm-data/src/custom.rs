//! The user's own fixed-size grid or sequence tasks (format: `docs/custom-tasks.md`).
//!
//! A task file (TOML) declares the alphabet, the shape, the blank symbols and the valid
//! augmentations; data files hold `input,output` pairs as CSV or JSONL, each grid one string
//! of `rows * cols` characters read row by row. The dataset follows the official Sudoku and
//! Maze conventions (design 4.1): token 0 is PAD, the alphabet's `i`-th character is token
//! `i + 1` (so `".123456789"` gives the Sudoku tokens and `"# SGo"` the maze tokens),
//! `ignore_label_id = 0` (every cell is supervised), one puzzle identifier (`"<blank>"`),
//! each example its own puzzle, augmented copies in the original's group, the test split
//! never augmented, `total_puzzles` = number of groups.
//!
//! ```toml
//! name = "latin5"
//! alphabet = ".12345"     # token 1 = '.', 2 = '1', ...
//! blanks = "."            # allowed in inputs only
//! rows = 5                # or `length = N` for a sequence
//! cols = 5
//! [augment]
//! dihedral = true         # the 8 rotations/reflections keep answers valid (square grids)
//! interchangeable = "12345"  # relabelling these symbols keeps answers valid
//! ```

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::dataset::{
    write_dir_atomically, Dataset, Split, SplitBuilder, TokenSpec, BLANK_IDENTIFIER,
};
use crate::dihedral::Dihedral;

/// Name of the copy of the task written next to the dataset, so that its tokens can be
/// decoded later.
pub const TASK_FILE: &str = "task.toml";

/// The task file as written (`deny_unknown_fields`, so a misspelt key is an error).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskFile {
    /// Informational.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Every character that may appear, in token order (token = index + 1).
    pub alphabet: String,
    /// Characters of the alphabet that may appear in inputs only (cells to fill in).
    #[serde(default)]
    pub blanks: String,
    /// Grid tasks: number of rows (with `cols`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<usize>,
    /// Grid tasks: number of columns (with `rows`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cols: Option<usize>,
    /// Sequence tasks: the length, instead of `rows` and `cols`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<usize>,
    /// The `[augment]` table: the augmentations that keep pairs valid.
    #[serde(default)]
    pub augment: AugmentFile,
}

/// `[augment]` of the task file: transformations under which a correct pair stays correct.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AugmentFile {
    /// The 8 rotations and reflections (square grids only).
    #[serde(default)]
    pub dihedral: bool,
    /// Symbols that may be relabelled among themselves (like Sudoku digits).
    #[serde(default)]
    pub interchangeable: String,
}

/// Shape of every input and output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A grid read row by row (`rows` and `cols` in the task file).
    Grid {
        /// Height in cells.
        rows: usize,
        /// Width in cells.
        cols: usize,
    },
    /// A sequence of symbols (`length` in the task file).
    Sequence {
        /// Number of symbols.
        length: usize,
    },
}

impl Shape {
    /// Tokens per input or output: `rows * cols`, or `length`.
    pub fn len(self) -> usize {
        match self {
            Shape::Grid { rows, cols } => rows * cols,
            Shape::Sequence { length } => length,
        }
    }

    /// Whether the shape holds no cell (never the case for a checked [`Task`]).
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    fn describe(self) -> String {
        match self {
            Shape::Grid { rows, cols } => format!("{rows} rows x {cols} columns"),
            Shape::Sequence { length } => format!("a sequence of {length}"),
        }
    }

    /// Where character `i` of a string lies, for error messages.
    fn place(self, i: usize) -> String {
        match self {
            Shape::Grid { cols, .. } => {
                format!("position {} (row {}, column {})", i + 1, i / cols + 1, i % cols + 1)
            }
            Shape::Sequence { .. } => format!("position {}", i + 1),
        }
    }
}

/// A checked task.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// The task file as read.
    pub file: TaskFile,
    /// Shape of every input and output.
    pub shape: Shape,
    alphabet: Vec<char>,
    /// `blank[token]`: the token is a blank symbol.
    blank: Vec<bool>,
    /// Tokens of the interchangeable symbols.
    interchangeable: Vec<u8>,
    /// The task file's path or "the task", named in errors.
    origin: String,
}

/// One input/output pair in tokens, with the line of the data file it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// 1-based line of the data file the pair came from (kept by augmented copies).
    pub line: usize,
    /// Input tokens, `seq_len` of them (blanks allowed).
    pub input: Vec<u8>,
    /// Output tokens, `seq_len` of them (no blanks).
    pub output: Vec<u8>,
}

impl Task {
    /// Reads and checks a task file; errors name the file and the key.
    pub fn from_file(path: &Path) -> Result<Task> {
        let text = fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read the task file", path.display()))?;
        Task::parse(&text, &path.display().to_string()).with_context(|| {
            format!("{}: not a valid task file (see docs/custom-tasks.md)", path.display())
        })
    }

    /// [`Task::from_file`] on text; `origin` names the task in later error messages.
    pub fn parse(text: &str, origin: &str) -> Result<Task> {
        let file: TaskFile = toml::from_str(text)?;
        Task::new(file, origin)
    }

    /// Checks a task description.
    pub fn new(file: TaskFile, origin: &str) -> Result<Task> {
        let alphabet: Vec<char> = file.alphabet.chars().collect();
        ensure!(
            !alphabet.is_empty(),
            "`alphabet` is empty: list every character the grids use, e.g. alphabet = \".12345\""
        );
        ensure!(
            alphabet.len() <= 255,
            "`alphabet` has {} characters; at most 255 fit the uint8 tokens (token 0 is PAD)",
            alphabet.len()
        );
        let mut seen = HashSet::new();
        for &c in &alphabet {
            ensure!(!c.is_control(), "`alphabet` holds the control character {c:?}; data files are one pair per line, so use printable characters");
            ensure!(seen.insert(c), "`alphabet` lists {c:?} twice; each character once");
        }
        let token_of = |key: &str, c: char| -> Result<u8> {
            match alphabet.iter().position(|&a| a == c) {
                Some(i) => Ok(i as u8 + 1),
                None => bail!("`{key}` holds {c:?}, which is not in `alphabet` {:?}; add it there or remove it here", file.alphabet),
            }
        };
        let mut blank = vec![false; alphabet.len() + 1];
        for c in file.blanks.chars() {
            blank[token_of("blanks", c)? as usize] = true;
        }
        let shape = match (file.rows, file.cols, file.length) {
            (Some(rows), Some(cols), None) => {
                ensure!(rows > 0 && cols > 0, "`rows` and `cols` must be at least 1");
                Shape::Grid { rows, cols }
            }
            (None, None, Some(length)) => {
                ensure!(length > 0, "`length` must be at least 1");
                Shape::Sequence { length }
            }
            (None, None, None) => {
                bail!("no shape: give `rows` and `cols` for a grid, or `length` for a sequence")
            }
            (_, _, Some(_)) => {
                bail!("give either `length` (a sequence) or `rows` and `cols` (a grid), not both")
            }
            _ => bail!("a grid needs both `rows` and `cols` (or give `length` for a sequence)"),
        };
        if file.augment.dihedral {
            match shape {
                Shape::Grid { rows, cols } if rows == cols => {}
                Shape::Grid { rows, cols } => bail!(
                    "[augment] dihedral = true needs a square grid, this one is {rows}x{cols} (rotations by 90 degrees and transposes swap rows and columns); set dihedral = false"
                ),
                Shape::Sequence { .. } => bail!("[augment] dihedral = true applies to grids, not to a sequence (`length`); set dihedral = false"),
            }
        }
        let mut interchangeable = Vec::new();
        for c in file.augment.interchangeable.chars() {
            let t = token_of("augment.interchangeable", c)?;
            ensure!(!interchangeable.contains(&t), "`augment.interchangeable` lists {c:?} twice");
            ensure!(!blank[t as usize], "`augment.interchangeable` holds the blank {c:?}; relabelling a blank as a symbol would put blanks in outputs, remove it from one of the two");
            interchangeable.push(t);
        }
        ensure!(interchangeable.len() != 1, "`augment.interchangeable` names one symbol; relabelling needs at least two (or leave it empty)");
        ensure!(shape.len() <= u32::MAX as usize, "the shape is too large");
        Ok(Task { file, shape, alphabet, blank, interchangeable, origin: origin.to_string() })
    }

    /// Tokens per example: the number of cells of the shape.
    pub fn seq_len(&self) -> usize {
        self.shape.len()
    }

    /// PAD plus the alphabet.
    pub fn vocab_size(&self) -> u32 {
        self.alphabet.len() as u32 + 1
    }

    /// The token layout of the task's datasets (the official Sudoku/Maze one).
    pub fn token_spec(&self) -> TokenSpec {
        TokenSpec {
            pad_id: 0,
            ignore_label_id: Some(0),
            blank_identifier_id: 0,
            vocab_size: self.vocab_size(),
            num_puzzle_identifiers: 1,
        }
    }

    /// Whether augmented copies can be drawn at all.
    pub fn can_augment(&self) -> bool {
        self.file.augment.dihedral || !self.interchangeable.is_empty()
    }

    /// Token of character `c` (its alphabet index + 1), or `None` outside the alphabet.
    pub fn token(&self, c: char) -> Option<u8> {
        self.alphabet.iter().position(|&a| a == c).map(|i| i as u8 + 1)
    }

    /// Tokens back to text (`?` for PAD or anything outside the vocabulary).
    pub fn decode(&self, tokens: &[u8]) -> String {
        tokens
            .iter()
            .map(|&t| {
                if t == 0 {
                    '?'
                } else {
                    self.alphabet.get(t as usize - 1).copied().unwrap_or('?')
                }
            })
            .collect()
    }

    /// Encodes one grid; `what` is "input" or "output" (outputs may not hold blanks).
    pub fn encode(&self, text: &str, what: &str) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.seq_len());
        for (i, c) in text.chars().enumerate() {
            let Some(t) = self.token(c) else {
                bail!(
                    "{what}: character {c:?} at {} is not in the alphabet {:?} of {}; correct the {what} or add the character to `alphabet`",
                    self.shape.place(i),
                    self.file.alphabet,
                    self.origin
                );
            };
            ensure!(
                what == "input" || !self.blank[t as usize],
                "{what}: the blank {c:?} at {}; blanks (`blanks` of {}) may appear in inputs only, so write the complete answer",
                self.shape.place(i),
                self.origin
            );
            out.push(t);
        }
        ensure!(
            out.len() == self.seq_len(),
            "{what} has {} characters, expected {} ({} as declared in {}){}",
            out.len(),
            self.seq_len(),
            self.shape.describe(),
            self.origin,
            if out.len() < self.seq_len() {
                "; a character is missing (or trailing spaces were stripped)"
            } else {
                "; a character is extra"
            }
        );
        Ok(out)
    }

    /// Reads a data file: CSV (`.csv`; a header naming `input` and `output`) or JSONL
    /// (`.jsonl`/`.json`, or any file whose first character is `{`). Errors name the file and
    /// the line.
    pub fn read_pairs(&self, path: &Path) -> Result<Vec<Pair>> {
        let text = fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read the data file", path.display()))?;
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        let jsonl = match ext.as_str() {
            "jsonl" | "json" | "ndjson" => true,
            "csv" => false,
            _ => text.trim_start().starts_with('{'),
        };
        let pairs = if jsonl { self.parse_jsonl(&text) } else { self.parse_csv(&text) };
        pairs.with_context(|| format!("{}: bad data file", path.display()))
    }

    /// CSV text: header first, fields not trimmed (spaces may be symbols), `"..."` quoting
    /// with `""` for a quote; one pair per line. Extra columns are ignored.
    pub fn parse_csv(&self, text: &str) -> Result<Vec<Pair>> {
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
            .filter(|(_, l)| !l.is_empty());
        let Some((header_no, header)) = lines.next() else {
            bail!("the file is empty; expected a header line `input,output` and one pair per line");
        };
        let header = split_csv_line(header).with_context(|| format!("line {header_no}"))?;
        let column = |name: &str| {
            header.iter().position(|h| h.trim().eq_ignore_ascii_case(name)).with_context(|| {
                format!("line {header_no}: the header {header:?} has no `{name}` column; the first line must be `input,output`")
            })
        };
        let (ic, oc) = (column("input")?, column("output")?);
        let mut pairs = Vec::new();
        for (no, line) in lines {
            let fields = split_csv_line(line).with_context(|| format!("line {no}"))?;
            ensure!(
                fields.len() == header.len(),
                "line {no}: {} comma-separated fields, the header has {}; quote a field holding a comma (\"...\")",
                fields.len(),
                header.len()
            );
            pairs.push(self.pair(no, &fields[ic], &fields[oc])?);
        }
        ensure!(!pairs.is_empty(), "no pairs after the header line");
        Ok(pairs)
    }

    /// JSONL text: one object `{"input": "...", "output": "..."}` per line (other keys are
    /// ignored; blank lines skipped).
    pub fn parse_jsonl(&self, text: &str) -> Result<Vec<Pair>> {
        ensure!(
            !text.trim_start().starts_with('['),
            "the file is a JSON array; write one object {{\"input\": \"...\", \"output\": \"...\"}} per line instead (JSONL)"
        );
        let mut pairs = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let no = i + 1;
            if line.trim().is_empty() {
                continue;
            }
            let value: serde_json::Value = serde_json::from_str(line).with_context(|| format!("line {no}: not valid JSON; expected {{\"input\": \"...\", \"output\": \"...\"}}"))?;
            let field = |key: &str| -> Result<&str> {
                value.get(key).and_then(|v| v.as_str()).with_context(|| format!("line {no}: no string field \"{key}\"; expected {{\"input\": \"...\", \"output\": \"...\"}}"))
            };
            pairs.push(self.pair(no, field("input")?, field("output")?)?);
        }
        ensure!(!pairs.is_empty(), "no pairs: the file is empty; expected one {{\"input\": \"...\", \"output\": \"...\"}} per line");
        Ok(pairs)
    }

    fn pair(&self, line: usize, input: &str, output: &str) -> Result<Pair> {
        let input = self.encode(input, "input").with_context(|| format!("line {line}"))?;
        let output = self.encode(output, "output").with_context(|| format!("line {line}"))?;
        Ok(Pair { line, input, output })
    }

    /// One random augmentation: a dihedral transform (when declared) and a relabelling of
    /// the interchangeable symbols (when declared), the same for input and output.
    pub fn augment(&self, pair: &Pair, rng: &mut impl Rng) -> Pair {
        let mut map: Vec<u8> = (0..=self.alphabet.len() as u8).collect();
        let transform = if self.file.augment.dihedral {
            Dihedral::new(rng.random_range(0..8)).expect("id below 8")
        } else {
            Dihedral::IDENTITY
        };
        if !self.interchangeable.is_empty() {
            let mut shuffled = self.interchangeable.clone();
            shuffled.shuffle(rng);
            for (&from, &to) in self.interchangeable.iter().zip(&shuffled) {
                map[from as usize] = to;
            }
        }
        let apply = |tokens: &[u8]| -> Vec<u8> {
            let relabelled: Vec<u8> = tokens.iter().map(|&t| map[t as usize]).collect();
            match self.shape {
                Shape::Grid { rows, cols } => transform.apply(&relabelled, rows, cols),
                Shape::Sequence { .. } => relabelled,
            }
        };
        Pair { line: pair.line, input: apply(&pair.input), output: apply(&pair.output) }
    }

    /// A split: every pair a group holding the pair and up to `aug` distinct augmented copies,
    /// each copy its own one-example puzzle (identifier 0). Copies equal to one already in
    /// the group are redrawn, up to `10 * aug` draws, so a task with few distinct
    /// augmentations (dihedral only: at most 7) gets fewer copies instead of repeats.
    pub fn build_split(&self, pairs: &[Pair], aug: usize, rng: &mut ChaCha8Rng) -> Result<Split> {
        ensure!(aug == 0 || self.can_augment(), "{} declares no augmentation ([augment] dihedral or interchangeable), so --aug must be 0", self.origin);
        let mut b = SplitBuilder::new(self.seq_len());
        for pair in pairs {
            let mut group = vec![(pair.input.clone(), pair.output.clone())];
            let mut seen: HashSet<(Vec<u8>, Vec<u8>)> = group.iter().cloned().collect();
            let mut draws = 0;
            while group.len() <= aug && draws < 10 * aug {
                draws += 1;
                let copy = self.augment(pair, rng);
                if seen.insert((copy.input.clone(), copy.output.clone())) {
                    group.push((copy.input, copy.output));
                }
            }
            b.push_group(0, group.iter().map(|(i, o)| (i.as_slice(), o.as_slice())))?;
        }
        let mut split = b.finish(self.token_spec())?;
        // Official Sudoku and Maze builders: total_puzzles = number of groups.
        split.meta.total_puzzles = split.num_groups();
        split.meta.mean_puzzle_examples = 1.0;
        Ok(split)
    }

    /// The dataset of the given splits (at least one); `aug` copies per training pair, drawn
    /// from `seed` (the test split is never augmented, as official).
    pub fn build_dataset(
        &self,
        train: Option<&[Pair]>,
        test: Option<&[Pair]>,
        aug: usize,
        seed: u64,
    ) -> Result<Dataset> {
        ensure!(
            train.is_some() || test.is_some(),
            "nothing to build: give a train and/or a test file"
        );
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Ok(Dataset {
            train: train.map(|p| self.build_split(p, aug, &mut rng)).transpose()?,
            test: test.map(|p| self.build_split(p, 0, &mut rng)).transpose()?,
            identifiers: vec![BLANK_IDENTIFIER.to_string()],
        })
    }

    /// Writes `dataset` to `dir` atomically, with a copy of the task ([`TASK_FILE`]) beside it.
    pub fn write_dataset(&self, dataset: &Dataset, dir: &Path) -> Result<()> {
        let text = toml::to_string_pretty(&self.file).context("serialising the task")?;
        write_dir_atomically(dir, |tmp| {
            dataset.write_into(tmp)?;
            fs::write(tmp.join(TASK_FILE), text.as_bytes())
                .with_context(|| format!("{}: cannot write", tmp.join(TASK_FILE).display()))
        })
    }
}

/// How many test inputs also appear among the training inputs (a leak worth reporting).
pub fn shared_inputs(train: &[Pair], test: &[Pair]) -> usize {
    let seen: HashSet<&[u8]> = train.iter().map(|p| p.input.as_slice()).collect();
    test.iter().filter(|p| seen.contains(p.input.as_slice())).count()
}

/// The augmented copies of each pair in a split that [`Task::build_split`] made (a group is
/// a pair and its copies): the fewest, the mean and the most; zeros for an empty split.
pub fn copies_per_pair(split: &Split) -> (usize, f64, usize) {
    let copies: Vec<usize> =
        (0..split.num_groups()).map(|g| split.group_puzzles(g).len() - 1).collect();
    let (min, max) =
        (copies.iter().min().copied().unwrap_or(0), copies.iter().max().copied().unwrap_or(0));
    let mean = copies.iter().sum::<usize>() as f64 / copies.len().max(1) as f64;
    (min, mean, max)
}

/// Everything `trm data custom` does, usable without the CLI: read and check the task and
/// the files, build, write to `out`. Returns the dataset and the pairs read.
pub fn build_from_files(
    task: &Path,
    train: Option<&Path>,
    test: Option<&Path>,
    aug: usize,
    seed: u64,
    out: &Path,
) -> Result<Built> {
    let task = Task::from_file(task)?;
    let read = |p: Option<&Path>| p.map(|p| task.read_pairs(p)).transpose();
    let (train_pairs, test_pairs) = (read(train)?, read(test)?);
    let dataset = task.build_dataset(train_pairs.as_deref(), test_pairs.as_deref(), aug, seed)?;
    task.write_dataset(&dataset, out)?;
    let (train, test) = (train_pairs, test_pairs);
    Ok(Built { task, dataset, train, test, out: out.to_path_buf(), aug })
}

/// What [`build_from_files`] made.
#[derive(Debug, Clone)]
pub struct Built {
    /// The checked task.
    pub task: Task,
    /// The dataset built and written.
    pub dataset: Dataset,
    /// The training pairs read, if a train file was given.
    pub train: Option<Vec<Pair>>,
    /// The test pairs read, if a test file was given.
    pub test: Option<Vec<Pair>>,
    /// Folder the dataset was written to.
    pub out: PathBuf,
    /// Augmented copies asked for per training pair.
    pub aug: usize,
}

impl Built {
    /// What `trm data custom` prints: the `wrote` line (task name, shape, vocab, seq_len),
    /// a Markdown table of the splits with their augmented copies per pair, and notes on
    /// pairs with fewer copies than asked and on test inputs that are also training inputs.
    pub fn summary(&self) -> String {
        let task = &self.task;
        let shape = match task.shape {
            Shape::Grid { rows, cols } => format!("{rows}x{cols} grid"),
            Shape::Sequence { length } => format!("sequence of {length}"),
        };
        let name =
            if task.file.name.is_empty() { String::new() } else { format!("{}: ", task.file.name) };
        let mut text = format!(
            "wrote {} ({name}{shape}, vocab {}, seq_len {})\n",
            self.out.display(),
            task.vocab_size(),
            task.seq_len()
        );
        text += "| split | pairs | puzzles | examples | copies per pair min / mean / max |\n|---|---:|---:|---:|---|\n";
        for (split_name, split) in self.dataset.splits() {
            let (min, mean, max) = copies_per_pair(split);
            text += &format!(
                "| {split_name} | {} | {} | {} | {min} / {mean:.2} / {max} |\n",
                split.num_groups(),
                split.num_puzzles(),
                split.num_examples()
            );
            if split_name == "train" && self.aug > 0 && min < self.aug {
                text += &format!("note: some training pairs have fewer than {} distinct augmented copies (the task's augmentations give no more)\n", self.aug);
            }
        }
        if let (Some(train), Some(test)) = (&self.train, &self.test) {
            let shared = shared_inputs(train, test);
            if shared > 0 {
                text += &format!(
                    "note: {shared} of {} test inputs also appear in the training file\n",
                    test.len()
                );
            }
        }
        text
    }
}

/// Splits one CSV line into fields (RFC 4180 quoting within the line; no trimming).
fn split_csv_line(line: &str) -> Result<Vec<String>> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut in_quotes = false;
    while let Some(c) = chars.next() {
        match (in_quotes, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => in_quotes = false,
            (false, '"') if field.is_empty() => in_quotes = true,
            (false, ',') => fields.push(std::mem::take(&mut field)),
            (_, c) => field.push(c),
        }
    }
    ensure!(!in_quotes, "a quoted field is never closed (a pair must fit on one line)");
    fields.push(field);
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maze::Maze;
    use crate::sudoku::{self, Grid};

    const LATIN: &str = "name = \"latin3\"\nalphabet = \".123\"\nblanks = \".\"\nrows = 3\ncols = 3\n[augment]\ndihedral = true\ninterchangeable = \"123\"\n";

    fn latin() -> Task {
        Task::parse(LATIN, "task.toml").unwrap()
    }

    fn err(r: Result<impl std::fmt::Debug>) -> String {
        format!("{:#}", r.unwrap_err())
    }

    #[test]
    fn tokens_follow_the_official_sudoku_and_maze_maps() {
        // Sudoku: 0 PAD, 1 blank, d + 1 for digit d.
        let task =
            Task::parse("alphabet = \".1234\"\nblanks = \".\"\nrows = 4\ncols = 4\n", "s").unwrap();
        let p = "1...2...3...4...";
        let puzzle = Grid::parse(p).unwrap();
        let solution = sudoku::solver::count_solutions(&puzzle, 1).solution.unwrap();
        assert_eq!(task.encode(p, "input").unwrap(), puzzle.to_tokens());
        assert_eq!(task.encode(&solution.to_line('.'), "output").unwrap(), solution.to_tokens());
        assert_eq!(task.vocab_size(), sudoku::tokens::vocab_size(4));
        // Maze: "# SGo" in order.
        let task = Task::parse("alphabet = \"# SGo\"\nrows = 2\ncols = 2\n", "m").unwrap();
        let maze = Maze::parse_flat("S #G", 2, 2).unwrap();
        assert_eq!(task.encode("S #G", "input").unwrap(), maze.tokens());
        assert_eq!(task.vocab_size() as usize, crate::maze::VOCAB_SIZE);
        assert_eq!(task.decode(&maze.tokens()), "S #G");
    }

    #[test]
    fn bad_task_files_name_the_key_and_the_fix() {
        let cases = [
            ("alphabet = \"\"\nlength = 3", "`alphabet` is empty"),
            ("alphabet = \"aba\"\nlength = 3", "twice"),
            ("alphabet = \"ab\"\nblanks = \".\"\nlength = 3", "`blanks` holds '.'"),
            ("alphabet = \"ab\"", "no shape"),
            ("alphabet = \"ab\"\nrows = 2", "both `rows` and `cols`"),
            ("alphabet = \"ab\"\nrows = 2\ncols = 2\nlength = 4", "not both"),
            ("alphabet = \"ab\"\nrows = 2\ncols = 3\n[augment]\ndihedral = true", "square grid"),
            ("alphabet = \"ab\"\nlength = 3\n[augment]\ndihedral = true", "not to a sequence"),
            ("alphabet = \".ab\"\nblanks = \".\"\nlength = 3\n[augment]\ninterchangeable = \".a\"", "blank"),
            ("alphabet = \"ab\"\nlength = 3\n[augment]\ninterchangeable = \"a\"", "at least two"),
            ("alphabet = \"ab\"\nlength = 3\nshape = 4", "unknown field `shape`"),
        ];
        for (text, want) in cases {
            let e = err(Task::parse(text, "t.toml"));
            assert!(e.contains(want), "{text:?}: {e}");
        }
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("task.toml");
        fs::write(&path, "alphabet = 3\nlength = 2\n").unwrap();
        let e = err(Task::from_file(&path));
        assert!(e.contains("task.toml") && e.contains("alphabet"), "{e}");
    }

    #[test]
    fn csv_and_jsonl_are_checked_with_file_and_line() {
        let task = latin();
        let tmp = tempfile::tempdir().unwrap();
        let csv = tmp.path().join("train.csv");
        fs::write(
            &csv,
            "source,input,output\nx,12.2.1.12,123231312\n\ny,\"1..\"\"......\",123231312\n",
        )
        .unwrap();
        let e = err(task.read_pairs(&csv));
        assert!(
            e.contains("train.csv")
                && e.contains("line 4")
                && e.contains("'\"'")
                && e.contains("row 2, column 1")
                && e.contains("add the character"),
            "{e}"
        );

        fs::write(&csv, "input,output\n12.2.1.12,123231312\n12.2.1.1,123231312\n").unwrap();
        let e = err(task.read_pairs(&csv));
        assert!(
            e.contains("line 3")
                && e.contains("input has 8 characters, expected 9")
                && e.contains("3 rows x 3 columns"),
            "{e}"
        );

        fs::write(&csv, "input,output\n12.2.1.12,12323131.\n").unwrap();
        let e = err(task.read_pairs(&csv));
        assert!(
            e.contains("line 2")
                && e.contains("output: the blank '.'")
                && e.contains("inputs only"),
            "{e}"
        );

        fs::write(&csv, "question,answer\n12.2.1.12,123231312\n").unwrap();
        assert!(err(task.read_pairs(&csv)).contains("no `input` column"));

        fs::write(&csv, "input,output\n12.2.1.12,123231312,7\n").unwrap();
        assert!(err(task.read_pairs(&csv)).contains("line 2: 3 comma-separated fields"));

        let jsonl = tmp.path().join("test.jsonl");
        fs::write(
            &jsonl,
            "{\"input\": \"12.2.1.12\", \"output\": \"123231312\"}\n\n{\"input\": \"12.2.1.12\"}\n",
        )
        .unwrap();
        let e = err(task.read_pairs(&jsonl));
        assert!(
            e.contains("test.jsonl") && e.contains("line 3") && e.contains("\"output\""),
            "{e}"
        );
        fs::write(&jsonl, "{\"input\": \"12.2.1.12\", \"output\": \"123231312\", \"id\": 4}\n")
            .unwrap();
        let pairs = task.read_pairs(&jsonl).unwrap();
        assert_eq!(
            pairs,
            vec![Pair {
                line: 1,
                input: vec![2, 3, 1, 3, 1, 2, 1, 2, 3],
                output: vec![2, 3, 4, 3, 4, 2, 4, 2, 3]
            }]
        );
        // Quoted CSV fields and sequences.
        let seq = Task::parse("alphabet = \"a,b \"\nlength = 3\n", "s").unwrap();
        let pairs = seq.parse_csv("input,output\r\n\"a,b\",\" b \"\r\n").unwrap();
        assert_eq!(pairs[0].input, vec![1, 2, 3]);
        assert_eq!(pairs[0].output, vec![4, 3, 4]);
    }

    #[test]
    fn augmented_copies_stay_latin_squares_and_share_a_group() {
        let task = latin();
        let pairs =
            task.parse_csv("input,output\n12.......,123231312\n.........,132213321\n").unwrap();
        let ds = task.build_dataset(Some(&pairs[..]), Some(&pairs[..1]), 20, 3).unwrap();
        let train = ds.train.as_ref().unwrap();
        assert_eq!(train.num_groups(), 2);
        assert_eq!(train.num_puzzles(), train.num_examples());
        assert!(train.puzzle_identifiers.iter().all(|&id| id == 0));
        assert_eq!(train.meta.total_puzzles, 2);
        assert_eq!(
            (train.meta.vocab_size, train.meta.seq_len, train.meta.ignore_label_id),
            (5, 9, Some(0))
        );
        for g in 0..2 {
            let puzzles = train.group_puzzles(g);
            // Group 0: 8 transforms x 6 relabellings give 48 distinct pairs, so 20 distinct
            // copies are found. Group 1 (no givens) can only become the 12 Latin squares
            // of order 3.
            assert_eq!(puzzles.len(), [21, 12][g], "group {g}");
            assert_eq!(
                train.example(puzzles.start),
                (pairs[g].input.as_slice(), pairs[g].output.as_slice())
            );
            let mut distinct = HashSet::new();
            for p in puzzles {
                let (inp, out) = train.example(p);
                assert!(distinct.insert((inp.to_vec(), out.to_vec())));
                let o = task.decode(out);
                let i = task.decode(inp);
                for k in 0..3 {
                    let row: HashSet<char> = o.chars().skip(3 * k).take(3).collect();
                    let col: HashSet<char> = o.chars().skip(k).step_by(3).collect();
                    assert_eq!((row.len(), col.len()), (3, 3), "{o}");
                }
                assert!(i.chars().zip(o.chars()).all(|(a, b)| a == '.' || a == b), "{i} -> {o}");
            }
        }
        let test = ds.test.as_ref().unwrap();
        assert_eq!((test.num_groups(), test.num_examples()), (1, 1));
        assert_eq!(
            ds,
            task.build_dataset(Some(&pairs[..]), Some(&pairs[..1]), 20, 3).unwrap(),
            "same seed, same dataset"
        );
        assert_ne!(ds, task.build_dataset(Some(&pairs[..]), Some(&pairs[..1]), 20, 4).unwrap());

        // Dihedral only: at most 8 distinct copies of an asymmetric grid, never repeats.
        let dihedral = Task::parse(
            "alphabet = \".123\"\nblanks = \".\"\nrows = 3\ncols = 3\n[augment]\ndihedral = true\n",
            "d",
        )
        .unwrap();
        let split =
            dihedral.build_split(&pairs[..1], 50, &mut ChaCha8Rng::seed_from_u64(0)).unwrap();
        assert_eq!(split.num_examples(), 8);
        assert_eq!(copies_per_pair(&split), (7, 7.0, 7));
        assert_eq!(copies_per_pair(train), (11, 15.5, 20));
        assert_eq!(copies_per_pair(test), (0, 0.0, 0));
        // No augmentation declared: --aug is refused.
        let plain = Task::parse("alphabet = \".123\"\nrows = 3\ncols = 3\n", "plain.toml").unwrap();
        let e = err(plain.build_split(&pairs, 2, &mut ChaCha8Rng::seed_from_u64(0)));
        assert!(e.contains("plain.toml") && e.contains("--aug must be 0"), "{e}");
    }

    #[test]
    fn writes_the_dataset_with_its_task() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("task.toml"), LATIN).unwrap();
        fs::write(tmp.path().join("train.csv"), "input,output\n12.2.1.12,123231312\n").unwrap();
        fs::write(
            tmp.path().join("test.jsonl"),
            "{\"input\":\"12.2.1.12\",\"output\":\"123231312\"}\n",
        )
        .unwrap();
        let out = tmp.path().join("ds");
        let p = |n: &str| tmp.path().join(n);
        let built = build_from_files(
            &p("task.toml"),
            Some(&p("train.csv")),
            Some(&p("test.jsonl")),
            4,
            0,
            &out,
        )
        .unwrap();
        assert_eq!(Dataset::load(&out).unwrap(), built.dataset);
        assert_eq!(Task::from_file(&out.join(TASK_FILE)).unwrap().file, built.task.file);
        assert_eq!(shared_inputs(built.train.as_ref().unwrap(), built.test.as_ref().unwrap()), 1);
        assert_eq!(
            built.summary(),
            format!(
                "wrote {} (latin3: 3x3 grid, vocab 5, seq_len 9)\n\
                 | split | pairs | puzzles | examples | copies per pair min / mean / max |\n\
                 |---|---:|---:|---:|---|\n\
                 | train | 1 | 5 | 5 | 4 / 4.00 / 4 |\n\
                 | test | 1 | 1 | 1 | 0 / 0.00 / 0 |\n\
                 note: 1 of 1 test inputs also appear in the training file\n",
                out.display()
            )
        );
        let many =
            build_from_files(&p("task.toml"), Some(&p("train.csv")), None, 100, 0, &p("ds3"));
        let text = many.unwrap().summary();
        let note = "note: some training pairs have fewer than 100 distinct augmented copies (the task's augmentations give no more)\n";
        assert!(text.ends_with(note), "{text}");
        // A bad file leaves nothing behind.
        fs::write(p("bad.csv"), "input,output\n12.2.1.1x,123231312\n").unwrap();
        let e = err(build_from_files(&p("task.toml"), Some(&p("bad.csv")), None, 0, 0, &p("ds2")));
        assert!(e.contains("bad.csv") && e.contains("line 2") && e.contains("'x'"), "{e}");
        assert!(!p("ds2").exists());
    }
}
