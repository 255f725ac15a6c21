//! The official on-disk dataset layout (design 4.1), read and written.
//!
//! ```text
//! <out>/identifiers.json                  list: puzzle identifier -> name ("<blank>" at 0)
//! <out>/{train,test}/dataset.json         [`Metadata`]
//! <out>/{train,test}/all__inputs.npy      uint8 [N_examples, seq_len]
//! <out>/{train,test}/all__labels.npy      uint8 [N_examples, seq_len]
//! <out>/{train,test}/all__puzzle_identifiers.npy  int32 [N_puzzles]
//! <out>/{train,test}/all__puzzle_indices.npy      int32 [N_puzzles + 1]
//! <out>/{train,test}/all__group_indices.npy       int32 [N_groups + 1]
//! ```
//!
//! Examples are grouped into puzzles (one puzzle-embedding row each) and puzzles into groups
//! (an original puzzle and its augmented copies), both CSR style: puzzle `p` owns examples
//! `puzzle_indices[p]..puzzle_indices[p + 1]`, group `g` owns puzzles
//! `group_indices[g]..group_indices[g + 1]`.
//!
//! Either split may be absent: a dataset built from a test file only has no `train/`
//! (training then takes its train split from another dataset with the same metadata).
//! Writing is atomic: everything goes into a temporary sibling folder that is synced and
//! renamed into place, so a failed build never leaves a partial dataset behind.

use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Read, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use npyz::{TypeChar, WriterBuilder};
use serde::{Deserialize, Serialize};

use crate::atomic::sync_dir;

/// The only set name the official builders write (`{set}__{field}.npy`).
pub const SET_NAME: &str = "all";
/// Name of the metadata file inside a split folder.
pub const METADATA_FILE: &str = "dataset.json";
/// Name of the identifier list at the dataset root.
pub const IDENTIFIERS_FILE: &str = "identifiers.json";
/// Name of identifier 0, the row used for padding (`blank_identifier_id`).
pub const BLANK_IDENTIFIER: &str = "<blank>";

/// `dataset.json`: the official `PuzzleDatasetMetadata`, field names unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// Token used for padding inputs (0 in every official task).
    pub pad_id: u32,
    /// Labels equal to this token are not supervised (the loader maps them to -100).
    pub ignore_label_id: Option<u32>,
    /// Puzzle identifier used for padded evaluation rows.
    pub blank_identifier_id: u32,
    /// Number of token values: every input and label token is below it.
    pub vocab_size: u32,
    /// Tokens per example, inputs and labels alike (e.g. 81 for 9x9 Sudoku).
    pub seq_len: usize,
    /// Rows of the puzzle-embedding table (length of `identifiers.json`).
    pub num_puzzle_identifiers: u32,
    /// Number of groups (an original puzzle with its augmented copies).
    pub total_groups: usize,
    /// Mean number of examples per puzzle (1 for Sudoku and Maze).
    pub mean_puzzle_examples: f64,
    /// Number of puzzles; the official Sudoku and Maze builders store the group count here.
    /// Absent in HRM-era files, read as 0 there.
    #[serde(default)]
    pub total_puzzles: usize,
    /// Set names whose `{set}__*.npy` arrays form the split (`["all"]` when written here).
    pub sets: Vec<String>,
}

impl Metadata {
    /// The metadata of a dataset folder's test split, or of its train split when there is no
    /// test split (the sizes a model trained on it has).
    pub fn of_dataset(dir: &Path) -> Result<Metadata> {
        for split in ["test", "train"] {
            let path = dir.join(split).join(METADATA_FILE);
            if path.exists() {
                let text = fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                return serde_json::from_str(&text)
                    .with_context(|| format!("{}: not a valid dataset.json", path.display()));
            }
        }
        bail!(
            "{}: neither test/{METADATA_FILE} nor train/{METADATA_FILE} exists; is this a dataset folder?",
            dir.display()
        )
    }

    /// The sizes a model depends on, in words: `9x9 grids (seq_len 81), 11 tokens, 1 puzzle
    /// identifier`.
    pub fn describe_sizes(&self) -> String {
        let side = (self.seq_len as f64).sqrt().round() as usize;
        let grid = if side * side == self.seq_len {
            format!("{side}x{side} grids (seq_len {})", self.seq_len)
        } else {
            format!("sequences of {} tokens", self.seq_len)
        };
        let ids = self.num_puzzle_identifiers;
        format!(
            "{grid}, {} token values, {ids} puzzle identifier{}",
            self.vocab_size,
            if ids == 1 { "" } else { "s" }
        )
    }
}

/// The token-level description of a task, from which [`SplitBuilder::finish`] derives the
/// rest of the [`Metadata`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenSpec {
    /// Token used for padding inputs ([`Metadata::pad_id`]).
    pub pad_id: u32,
    /// Label token left unsupervised, if any ([`Metadata::ignore_label_id`]).
    pub ignore_label_id: Option<u32>,
    /// Puzzle identifier of padded rows ([`Metadata::blank_identifier_id`]).
    pub blank_identifier_id: u32,
    /// Number of token values ([`Metadata::vocab_size`]).
    pub vocab_size: u32,
    /// Rows of the puzzle-embedding table ([`Metadata::num_puzzle_identifiers`]).
    pub num_puzzle_identifiers: u32,
}

/// One split (`train/` or `test/`) held in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// The split's `dataset.json`.
    pub meta: Metadata,
    /// `[num_examples * seq_len]`, row-major.
    pub inputs: Vec<u8>,
    /// `[num_examples * seq_len]`, row-major.
    pub labels: Vec<u8>,
    /// `[num_puzzles]`: embedding row of each puzzle.
    pub puzzle_identifiers: Vec<i32>,
    /// `[num_puzzles + 1]`: CSR offsets of puzzles into examples.
    pub puzzle_indices: Vec<i32>,
    /// `[num_groups + 1]`: CSR offsets of groups into puzzles.
    pub group_indices: Vec<i32>,
}

impl Split {
    /// Number of examples (rows of `all__inputs.npy`).
    pub fn num_examples(&self) -> usize {
        self.inputs.len() / self.meta.seq_len.max(1)
    }

    /// Number of puzzles (entries of `all__puzzle_identifiers.npy`).
    pub fn num_puzzles(&self) -> usize {
        self.puzzle_identifiers.len()
    }

    /// Number of groups (entries of `all__group_indices.npy` minus one).
    pub fn num_groups(&self) -> usize {
        self.group_indices.len().saturating_sub(1)
    }

    /// The split's size in one line: `2 groups, 3 puzzles, 4 examples`.
    pub fn counts_line(&self) -> String {
        format!(
            "{} groups, {} puzzles, {} examples",
            self.num_groups(),
            self.num_puzzles(),
            self.num_examples()
        )
    }

    /// Input and label tokens of example `i`.
    pub fn example(&self, i: usize) -> (&[u8], &[u8]) {
        let r = i * self.meta.seq_len..(i + 1) * self.meta.seq_len;
        (&self.inputs[r.clone()], &self.labels[r])
    }

    /// Examples owned by puzzle `p`.
    pub fn puzzle_examples(&self, p: usize) -> Range<usize> {
        self.puzzle_indices[p] as usize..self.puzzle_indices[p + 1] as usize
    }

    /// Puzzles owned by group `g`.
    pub fn group_puzzles(&self, g: usize) -> Range<usize> {
        self.group_indices[g] as usize..self.group_indices[g + 1] as usize
    }

    /// The puzzle that owns example `i`.
    pub fn puzzle_of_example(&self, i: usize) -> usize {
        self.puzzle_indices.partition_point(|&start| start as usize <= i) - 1
    }

    /// The group that owns puzzle `p`.
    pub fn group_of_puzzle(&self, p: usize) -> usize {
        self.group_indices.partition_point(|&start| start as usize <= p) - 1
    }

    /// Up to `count` examples to show: the first example of the first groups, each followed
    /// by the first example of the group's first augmented copy when the group has one.
    pub fn sample_examples(&self, count: usize) -> Vec<usize> {
        let mut out = Vec::new();
        for g in 0..self.num_groups() {
            if out.len() >= count {
                break;
            }
            let puzzles = self.group_puzzles(g);
            out.push(self.puzzle_examples(puzzles.start).start);
            if puzzles.len() > 1 && out.len() < count {
                out.push(self.puzzle_examples(puzzles.start + 1).start);
            }
        }
        out
    }

    /// Reads a split folder (`dataset.json` and the `{set}__*.npy` arrays of every set it
    /// lists; several sets are concatenated in order). Accepts any integer dtype and either
    /// byte order; checks shapes, token ranges and the CSR offsets.
    pub fn load(dir: &Path) -> Result<Split> {
        let meta_path = dir.join(METADATA_FILE);
        let text = fs::read_to_string(&meta_path)
            .with_context(|| format!("{}: cannot read dataset metadata", meta_path.display()))?;
        let mut meta: Metadata = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a valid dataset.json", meta_path.display()))?;
        ensure!(meta.seq_len > 0, "{}: seq_len must be positive", meta_path.display());
        ensure!(!meta.sets.is_empty(), "{}: `sets` is empty", meta_path.display());

        let Split { inputs, labels, puzzle_identifiers, puzzle_indices, group_indices, .. } =
            if meta.sets.len() == 1 {
                load_set(dir, &meta.sets[0], &meta)?
            } else {
                let mut split = SplitBuilder::new(meta.seq_len);
                for set in &meta.sets {
                    split.append_split(&load_set(dir, set, &meta)?);
                }
                split.into_raw()
            };
        let num_groups = group_indices.len() - 1;
        ensure!(
            meta.total_groups == num_groups,
            "{}: total_groups is {} but the arrays hold {} groups",
            meta_path.display(),
            meta.total_groups,
            num_groups
        );
        if meta.total_puzzles == 0 {
            meta.total_puzzles = num_groups;
        }
        Ok(Split { meta, inputs, labels, puzzle_identifiers, puzzle_indices, group_indices })
    }

    /// Writes the split into `dir` (created if missing). Not atomic by itself: use
    /// [`Dataset::write`] or [`write_dir_atomically`].
    pub fn write(&self, dir: &Path) -> Result<()> {
        fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create folder", dir.display()))?;
        let seq = self.meta.seq_len as u64;
        let n = self.num_examples() as u64;
        let file = |field: &str| dir.join(format!("{SET_NAME}__{field}.npy"));
        write_npy(&file("inputs"), &[n, seq], &self.inputs)?;
        write_npy(&file("labels"), &[n, seq], &self.labels)?;
        write_npy(
            &file("puzzle_identifiers"),
            &[self.puzzle_identifiers.len() as u64],
            &self.puzzle_identifiers,
        )?;
        write_npy(
            &file("puzzle_indices"),
            &[self.puzzle_indices.len() as u64],
            &self.puzzle_indices,
        )?;
        write_npy(&file("group_indices"), &[self.group_indices.len() as u64], &self.group_indices)?;
        let mut meta = self.meta.clone();
        meta.sets = vec![SET_NAME.to_string()];
        write_synced(&dir.join(METADATA_FILE), serde_json::to_string_pretty(&meta)?.as_bytes())
    }
}

/// A whole dataset: the two splits and the identifier names.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// The `train/` split, if present.
    pub train: Option<Split>,
    /// The `test/` split, if present.
    pub test: Option<Split>,
    /// `identifiers.json`: name of each puzzle identifier, `"<blank>"` at 0.
    pub identifiers: Vec<String>,
}

impl Dataset {
    /// Reads `identifiers.json` and whichever of `train/` and `test/` exist (at least one).
    pub fn load(dir: &Path) -> Result<Dataset> {
        ensure!(dir.is_dir(), "{}: no such dataset folder", dir.display());
        let id_path = dir.join(IDENTIFIERS_FILE);
        let identifiers: Vec<String> = match fs::read_to_string(&id_path) {
            Ok(text) => serde_json::from_str(&text).with_context(|| {
                format!("{}: expected a JSON list of strings", id_path.display())
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e).with_context(|| format!("{}: cannot read", id_path.display())),
        };
        let load = |name: &str| -> Result<Option<Split>> {
            let sub = dir.join(name);
            if sub.join(METADATA_FILE).exists() {
                Ok(Some(Split::load(&sub)?))
            } else {
                Ok(None)
            }
        };
        let dataset = Dataset { train: load("train")?, test: load("test")?, identifiers };
        ensure!(
            dataset.train.is_some() || dataset.test.is_some(),
            "{}: neither train/{METADATA_FILE} nor test/{METADATA_FILE} exists; is this a dataset folder?",
            dir.display()
        );
        dataset.check().with_context(|| format!("{}: inconsistent dataset", dir.display()))?;
        Ok(dataset)
    }

    /// The splits that are present, with their folder names.
    pub fn splits(&self) -> impl Iterator<Item = (&'static str, &Split)> {
        [("train", self.train.as_ref()), ("test", self.test.as_ref())]
            .into_iter()
            .filter_map(|(name, s)| s.map(|s| (name, s)))
    }

    /// The metadata of the train split, or of the test split when there is no train split.
    pub fn meta(&self) -> Option<&Metadata> {
        self.splits().next().map(|(_, s)| &s.meta)
    }

    /// Checks that the splits agree on the token layout and the identifier table.
    pub fn check(&self) -> Result<()> {
        let mut first: Option<(&str, &Metadata)> = None;
        for (name, split) in self.splits() {
            let m = &split.meta;
            if !self.identifiers.is_empty() {
                ensure!(
                    self.identifiers.len() == m.num_puzzle_identifiers as usize,
                    "{IDENTIFIERS_FILE} lists {} names but {name}/{METADATA_FILE} has num_puzzle_identifiers {}",
                    self.identifiers.len(),
                    m.num_puzzle_identifiers
                );
            }
            if let Some((first_name, f)) = first {
                ensure!(
                    (f.seq_len, f.vocab_size, f.pad_id, f.ignore_label_id, f.num_puzzle_identifiers)
                        == (m.seq_len, m.vocab_size, m.pad_id, m.ignore_label_id, m.num_puzzle_identifiers),
                    "{first_name} and {name} disagree on seq_len/vocab_size/pad_id/ignore_label_id/num_puzzle_identifiers"
                );
            }
            first = Some((name, m));
        }
        Ok(())
    }

    /// Writes the dataset to `dir` atomically. `dir` must not exist, be empty, or hold a
    /// dataset (which is then replaced); anything else is refused rather than deleted.
    pub fn write(&self, dir: &Path) -> Result<()> {
        write_dir_atomically(dir, |tmp| self.write_into(tmp))
    }

    /// Writes the dataset's files into the existing folder `dir` (no atomicity).
    pub fn write_into(&self, dir: &Path) -> Result<()> {
        self.check()?;
        for (name, split) in self.splits() {
            split.write(&dir.join(name))?;
        }
        write_synced(
            &dir.join(IDENTIFIERS_FILE),
            serde_json::to_string(&self.identifiers)?.as_bytes(),
        )
    }
}

/// Accumulates examples, puzzles and groups, then produces a [`Split`].
///
/// ```
/// use trm_data::dataset::{SplitBuilder, TokenSpec};
/// let mut b = SplitBuilder::new(2);
/// b.push_example(&[1, 2], &[3, 2]).unwrap();
/// b.finish_puzzle(0).unwrap();
/// b.finish_group().unwrap();
/// let spec = TokenSpec { pad_id: 0, ignore_label_id: Some(0), blank_identifier_id: 0,
///                        vocab_size: 4, num_puzzle_identifiers: 1 };
/// let split = b.finish(spec).unwrap();
/// assert_eq!((split.num_examples(), split.num_puzzles(), split.num_groups()), (1, 1, 1));
/// ```
#[derive(Debug, Clone)]
pub struct SplitBuilder {
    seq_len: usize,
    inputs: Vec<u8>,
    labels: Vec<u8>,
    puzzle_identifiers: Vec<i32>,
    puzzle_indices: Vec<i32>,
    group_indices: Vec<i32>,
}

impl SplitBuilder {
    /// An empty builder for examples of `seq_len` tokens.
    pub fn new(seq_len: usize) -> SplitBuilder {
        SplitBuilder {
            seq_len,
            inputs: Vec::new(),
            labels: Vec::new(),
            puzzle_identifiers: Vec::new(),
            puzzle_indices: vec![0],
            group_indices: vec![0],
        }
    }

    fn examples_len(&self) -> usize {
        self.inputs.len() / self.seq_len.max(1)
    }

    /// Adds one example to the puzzle being built.
    pub fn push_example(&mut self, input: &[u8], label: &[u8]) -> Result<()> {
        ensure!(
            input.len() == self.seq_len && label.len() == self.seq_len,
            "example of length {}/{} (input/label), expected seq_len {}",
            input.len(),
            label.len(),
            self.seq_len
        );
        ensure!(self.examples_len() < i32::MAX as usize, "more than 2^31 examples");
        self.inputs.extend_from_slice(input);
        self.labels.extend_from_slice(label);
        Ok(())
    }

    /// Closes the puzzle being built (its examples are those pushed since the last puzzle).
    pub fn finish_puzzle(&mut self, identifier: i32) -> Result<()> {
        let end = self.examples_len() as i32;
        ensure!(end > *self.puzzle_indices.last().unwrap(), "a puzzle needs at least one example");
        ensure!(identifier >= 0, "negative puzzle identifier {identifier}");
        self.puzzle_identifiers.push(identifier);
        self.puzzle_indices.push(end);
        Ok(())
    }

    /// Closes the group being built (its puzzles are those finished since the last group).
    pub fn finish_group(&mut self) -> Result<()> {
        ensure!(
            self.examples_len() as i32 == *self.puzzle_indices.last().unwrap(),
            "finish_group with examples not yet closed by finish_puzzle"
        );
        let end = self.puzzle_identifiers.len() as i32;
        ensure!(end > *self.group_indices.last().unwrap(), "a group needs at least one puzzle");
        self.group_indices.push(end);
        Ok(())
    }

    /// Adds a puzzle of single-example puzzles as a group: the official Sudoku/Maze shape.
    pub fn push_group<'a>(
        &mut self,
        identifier: i32,
        examples: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
    ) -> Result<()> {
        for (input, label) in examples {
            self.push_example(input, label)?;
            self.finish_puzzle(identifier)?;
        }
        self.finish_group()
    }

    /// Appends all groups of another split (its identifiers kept as they are).
    fn append_split(&mut self, other: &Split) {
        let (e0, p0) = (self.examples_len() as i32, self.puzzle_identifiers.len() as i32);
        self.inputs.extend_from_slice(&other.inputs);
        self.labels.extend_from_slice(&other.labels);
        self.puzzle_identifiers.extend_from_slice(&other.puzzle_identifiers);
        self.puzzle_indices.extend(other.puzzle_indices[1..].iter().map(|i| i + e0));
        self.group_indices.extend(other.group_indices[1..].iter().map(|i| i + p0));
    }

    fn into_raw(self) -> Split {
        let meta = Metadata {
            pad_id: 0,
            ignore_label_id: None,
            blank_identifier_id: 0,
            vocab_size: 0,
            seq_len: self.seq_len,
            num_puzzle_identifiers: 0,
            total_groups: 0,
            mean_puzzle_examples: 0.0,
            total_puzzles: 0,
            sets: vec![SET_NAME.to_string()],
        };
        Split {
            meta,
            inputs: self.inputs,
            labels: self.labels,
            puzzle_identifiers: self.puzzle_identifiers,
            puzzle_indices: self.puzzle_indices,
            group_indices: self.group_indices,
        }
    }

    /// Number of groups finished so far.
    pub fn num_groups(&self) -> usize {
        self.group_indices.len() - 1
    }

    /// Produces the split. Metadata as the official builders compute it: `total_puzzles` =
    /// number of puzzles and `mean_puzzle_examples` = examples / puzzles. (The Sudoku and
    /// Maze builders then store the group count in `total_puzzles`, as the official ones do.)
    pub fn finish(self, spec: TokenSpec) -> Result<Split> {
        ensure!(
            self.examples_len() as i32 == *self.puzzle_indices.last().unwrap()
                && self.puzzle_identifiers.len() as i32 == *self.group_indices.last().unwrap(),
            "finish with a puzzle or group still open"
        );
        let mut split = self.into_raw();
        let (examples, puzzles) = (split.num_examples(), split.num_puzzles());
        split.meta = Metadata {
            pad_id: spec.pad_id,
            ignore_label_id: spec.ignore_label_id,
            blank_identifier_id: spec.blank_identifier_id,
            vocab_size: spec.vocab_size,
            seq_len: split.meta.seq_len,
            num_puzzle_identifiers: spec.num_puzzle_identifiers,
            total_groups: split.num_groups(),
            mean_puzzle_examples: if puzzles == 0 { 0.0 } else { examples as f64 / puzzles as f64 },
            total_puzzles: puzzles,
            sets: vec![SET_NAME.to_string()],
        };
        check_tokens(&split.inputs, &split.meta, "inputs")?;
        check_tokens(&split.labels, &split.meta, "labels")?;
        check_identifiers(&split.puzzle_identifiers, &split.meta)?;
        Ok(split)
    }
}

fn check_tokens(tokens: &[u8], meta: &Metadata, what: &str) -> Result<()> {
    if let Some(pos) = tokens.iter().position(|&t| t as u32 >= meta.vocab_size) {
        let seq = meta.seq_len;
        bail!(
            "{what}: token {} at example {} position {} is not below vocab_size {}",
            tokens[pos],
            pos / seq,
            pos % seq,
            meta.vocab_size
        );
    }
    Ok(())
}

fn check_identifiers(ids: &[i32], meta: &Metadata) -> Result<()> {
    if let Some(p) = ids.iter().position(|&i| i < 0 || i as u32 >= meta.num_puzzle_identifiers) {
        bail!(
            "puzzle {p} has identifier {} outside 0..{} (num_puzzle_identifiers)",
            ids[p],
            meta.num_puzzle_identifiers
        );
    }
    Ok(())
}

/// Checks CSR offsets: start at 0, never decrease, end at `end`.
fn check_offsets(offsets: &[i32], end: usize, what: &str) -> Result<()> {
    ensure!(offsets.first() == Some(&0), "must start with 0");
    if let Some(i) = offsets.windows(2).position(|w| w[1] < w[0]) {
        bail!("decreases at index {} ({} -> {})", i + 1, offsets[i], offsets[i + 1]);
    }
    ensure!(
        *offsets.last().unwrap() as usize == end,
        "ends at {} but there are {end} {what}",
        offsets.last().unwrap()
    );
    Ok(())
}

fn load_set(dir: &Path, set: &str, meta: &Metadata) -> Result<Split> {
    let path = |field: &str| dir.join(format!("{set}__{field}.npy"));
    let seq = meta.seq_len;

    let (inputs_path, labels_path) = (path("inputs"), path("labels"));
    let (inputs, in_shape) = read_npy::<u8>(&inputs_path)?;
    let (labels, lab_shape) = read_npy::<u8>(&labels_path)?;
    ensure!(
        in_shape.len() == 2 && in_shape[1] as usize == seq,
        "{}: shape {in_shape:?}, expected [N, {seq}] (seq_len of dataset.json)",
        inputs_path.display()
    );
    ensure!(
        lab_shape == in_shape,
        "{}: shape {lab_shape:?} differs from inputs {in_shape:?}",
        labels_path.display()
    );
    let n = in_shape[0] as usize;
    check_tokens(&inputs, meta, "inputs").with_context(|| inputs_path.display().to_string())?;
    check_tokens(&labels, meta, "labels").with_context(|| labels_path.display().to_string())?;

    let vec1 = |field: &str| -> Result<Vec<i32>> {
        let p = path(field);
        let (v, shape) = read_npy::<i32>(&p)?;
        ensure!(shape.len() == 1, "{}: shape {shape:?}, expected one dimension", p.display());
        Ok(v)
    };
    let puzzle_identifiers = vec1("puzzle_identifiers")?;
    let puzzle_indices = vec1("puzzle_indices")?;
    let group_indices = vec1("group_indices")?;
    let num_puzzles = puzzle_identifiers.len();
    ensure!(
        puzzle_indices.len() == num_puzzles + 1,
        "{}: {} entries, expected {} (one more than puzzle_identifiers)",
        path("puzzle_indices").display(),
        puzzle_indices.len(),
        num_puzzles + 1
    );
    check_offsets(&puzzle_indices, n, "examples")
        .with_context(|| path("puzzle_indices").display().to_string())?;
    check_offsets(&group_indices, num_puzzles, "puzzles")
        .with_context(|| path("group_indices").display().to_string())?;
    check_identifiers(&puzzle_identifiers, meta)
        .with_context(|| path("puzzle_identifiers").display().to_string())?;

    let mut split = SplitBuilder::new(seq).into_raw();
    split.inputs = inputs;
    split.labels = labels;
    split.puzzle_identifiers = puzzle_identifiers;
    split.puzzle_indices = puzzle_indices;
    split.group_indices = group_indices;
    Ok(split)
}

/// Element types the reader converts into; any integer dtype of the file is accepted when
/// every value fits.
pub trait NpyElement: Copy + npyz::Serialize + npyz::AutoSerialize {
    /// The value as `Self`, or `None` if it does not fit.
    fn from_i128(v: i128) -> Option<Self>;

    /// Converts raw `uint8` data (no copy when `Self` is `u8`).
    fn from_bytes(bytes: Vec<u8>) -> Vec<Self> {
        bytes
            .into_iter()
            .map(|b| Self::from_i128(b as i128).expect("every element type holds 0..=255"))
            .collect()
    }
}

impl NpyElement for u8 {
    fn from_i128(v: i128) -> Option<Self> {
        u8::try_from(v).ok()
    }

    fn from_bytes(bytes: Vec<u8>) -> Vec<u8> {
        bytes
    }
}

impl NpyElement for i32 {
    fn from_i128(v: i128) -> Option<Self> {
        i32::try_from(v).ok()
    }
}

/// Reads an integer `.npy` array in C order (Fortran-order 2-D arrays are transposed).
/// Returns the values and the shape.
pub fn read_npy<T: NpyElement>(path: &Path) -> Result<(Vec<T>, Vec<u64>)> {
    let ctx = || format!("{}: cannot read npy array", path.display());
    let mut reader = BufReader::new(File::open(path).with_context(ctx)?);
    let header = npyz::NpyHeader::from_reader(&mut reader).with_context(ctx)?;
    let shape = header.shape().to_vec();
    let len = shape.iter().product::<u64>() as usize;
    let npyz::DType::Plain(ty) = header.dtype() else {
        bail!("{}: dtype {} is not an integer type", path.display(), header.dtype().descr());
    };
    let values: Vec<i128> = match (ty.type_char(), ty.size_field()) {
        // Fast path for the official uint8 arrays: the payload is the raw bytes.
        (TypeChar::Uint, 1) => {
            let mut bytes = Vec::with_capacity(len);
            reader.read_to_end(&mut bytes).with_context(ctx)?;
            ensure!(
                bytes.len() == len,
                "{}: {} data bytes for shape {shape:?} (truncated or corrupt file)",
                path.display(),
                bytes.len()
            );
            return Ok((reorder(T::from_bytes(bytes), &shape, header.order()), shape));
        }
        (TypeChar::Uint, 2) => widen::<u16>(header, reader, path)?,
        (TypeChar::Uint, 4) => widen::<u32>(header, reader, path)?,
        (TypeChar::Uint, 8) => widen::<u64>(header, reader, path)?,
        (TypeChar::Int, 1) => widen::<i8>(header, reader, path)?,
        (TypeChar::Int, 2) => widen::<i16>(header, reader, path)?,
        (TypeChar::Int, 4) => widen::<i32>(header, reader, path)?,
        (TypeChar::Int, 8) => widen::<i64>(header, reader, path)?,
        _ => bail!("{}: dtype {} is not an integer type", path.display(), ty),
    };
    let out = values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            T::from_i128(v).with_context(|| {
                format!(
                    "{}: value {v} at flat index {i} does not fit in {}",
                    path.display(),
                    std::any::type_name::<T>()
                )
            })
        })
        .collect::<Result<Vec<T>>>()?;
    let order = npyz::Order::C; // `widen` already returned C order
    Ok((reorder(out, &shape, order), shape))
}

fn widen<S>(header: npyz::NpyHeader, reader: BufReader<File>, path: &Path) -> Result<Vec<i128>>
where
    S: npyz::Deserialize + Into<i128> + Copy,
{
    let shape = header.shape().to_vec();
    let order = header.order();
    let v: Vec<S> = npyz::NpyFile::with_header(header, reader).into_vec().with_context(|| {
        format!("{}: cannot read npy data (truncated or corrupt file)", path.display())
    })?;
    let v: Vec<i128> = v.into_iter().map(Into::into).collect();
    Ok(reorder(v, &shape, order))
}

/// Converts a Fortran-order 2-D array to C order; other arrays are returned unchanged
/// (1-D arrays have the same layout in both orders).
fn reorder<T: Copy>(v: Vec<T>, shape: &[u64], order: npyz::Order) -> Vec<T> {
    if order == npyz::Order::C || shape.len() != 2 {
        return v;
    }
    let (rows, cols) = (shape[0] as usize, shape[1] as usize);
    let mut out = Vec::with_capacity(v.len());
    for r in 0..rows {
        for c in 0..cols {
            out.push(v[c * rows + r]);
        }
    }
    out
}

/// Writes an `.npy` file (NumPy v1 header, C order, the dtype of `T`: `|u1` or `<i4`), synced.
pub fn write_npy<T: npyz::AutoSerialize>(path: &Path, shape: &[u64], data: &[T]) -> Result<()> {
    let ctx = || format!("{}: cannot write npy array", path.display());
    let file = File::create(path).with_context(ctx)?;
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(shape)
        .writer(BufWriter::with_capacity(1 << 20, file))
        .begin_nd()
        .with_context(ctx)?;
    for x in data {
        writer.push(x).with_context(ctx)?;
    }
    writer.finish().with_context(ctx)?;
    File::open(path).and_then(|f| f.sync_all()).with_context(ctx)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let ctx = || format!("{}: cannot write", path.display());
    let mut file = File::create(path).with_context(ctx)?;
    file.write_all(bytes).with_context(ctx)?;
    file.sync_all().with_context(ctx)
}

/// True when `dir` looks like a dataset written before (so it may be replaced).
fn is_dataset_dir(dir: &Path) -> bool {
    dir.join(IDENTIFIERS_FILE).is_file()
        || dir.join("train").join(METADATA_FILE).is_file()
        || dir.join("test").join(METADATA_FILE).is_file()
}

/// Fills `dir` all at once: `fill` writes into a fresh temporary sibling folder, which is
/// synced and renamed to `dir`. On any error the temporary folder is removed and `dir` is
/// left as it was. An existing `dir` is replaced only when it is empty or holds a dataset.
pub fn write_dir_atomically(dir: &Path, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    dir.file_name()
        .with_context(|| format!("{}: output path needs a final folder name", dir.display()))?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let replace_old = if dir.exists() {
        ensure!(dir.is_dir(), "{}: exists and is not a folder", dir.display());
        let empty = fs::read_dir(dir)?.next().is_none();
        ensure!(
            empty || is_dataset_dir(dir),
            "{}: folder exists and does not hold a dataset; refusing to replace it (choose another --out or remove it)",
            dir.display()
        );
        true
    } else {
        false
    };
    let tmp = crate::atomic::temporary_dir_for(dir)?;
    let result = fill(&tmp).and_then(|()| {
        for entry in walk_dirs(&tmp)? {
            sync_dir(&entry)?;
        }
        // The old dataset waits beside the new one under the temporary's name, `.old-` for
        // `.tmp-`, so a stale-temporary cleanup never takes it.
        let tmp_name = tmp.file_name().expect("a temporary folder has a name").to_string_lossy();
        let old = parent.join(tmp_name.replacen(".tmp-", ".old-", 1));
        if replace_old {
            fs::rename(dir, &old)
                .with_context(|| format!("{}: cannot move the old dataset aside", dir.display()))?;
        }
        if let Err(e) = fs::rename(&tmp, dir) {
            if replace_old {
                let _ = fs::rename(&old, dir);
            }
            return Err(e).with_context(|| {
                format!("{}: cannot move the new dataset into place", dir.display())
            });
        }
        sync_dir(&parent)?;
        if replace_old {
            fs::remove_dir_all(&old).with_context(|| {
                format!("{}: cannot remove the replaced dataset", old.display())
            })?;
        }
        Ok(())
    });
    if result.is_err() && tmp.exists() {
        let _ = fs::remove_dir_all(&tmp);
    }
    result
}

/// `dir` and every folder below it, deepest first.
fn walk_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("{}: cannot list", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(walk_dirs(&path)?);
        }
    }
    out.push(dir.to_path_buf());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> TokenSpec {
        TokenSpec {
            pad_id: 0,
            ignore_label_id: Some(0),
            blank_identifier_id: 0,
            vocab_size: 5,
            num_puzzle_identifiers: 3,
        }
    }

    fn sample() -> Split {
        let mut b = SplitBuilder::new(3);
        b.push_example(&[1, 2, 3], &[4, 4, 4]).unwrap();
        b.push_example(&[2, 2, 3], &[4, 1, 4]).unwrap();
        b.finish_puzzle(1).unwrap();
        b.push_example(&[0, 1, 2], &[3, 3, 3]).unwrap();
        b.finish_puzzle(2).unwrap();
        b.finish_group().unwrap();
        b.push_group(2, [(&[1u8, 1, 1][..], &[2u8, 2, 2][..])]).unwrap();
        b.finish(spec()).unwrap()
    }

    #[test]
    fn builder_computes_csr_and_metadata() {
        let s = sample();
        assert_eq!(s.puzzle_indices, vec![0, 2, 3, 4]);
        assert_eq!(s.group_indices, vec![0, 2, 3]);
        assert_eq!(s.puzzle_identifiers, vec![1, 2, 2]);
        assert_eq!((s.num_examples(), s.num_puzzles(), s.num_groups()), (4, 3, 2));
        assert_eq!(s.counts_line(), "2 groups, 3 puzzles, 4 examples");
        assert_eq!(s.meta.total_groups, 2);
        assert_eq!(s.meta.total_puzzles, 3);
        assert!((s.meta.mean_puzzle_examples - 4.0 / 3.0).abs() < 1e-12);
        assert_eq!(s.example(1), (&[2u8, 2, 3][..], &[4u8, 1, 4][..]));
        assert_eq!(s.puzzle_examples(0), 0..2);
        assert_eq!(s.group_puzzles(1), 2..3);
        let owners: Vec<usize> = (0..4).map(|i| s.puzzle_of_example(i)).collect();
        assert_eq!(owners, [0, 0, 1, 2]);
        assert_eq!((s.group_of_puzzle(1), s.group_of_puzzle(2)), (0, 1));
        // The first example of each group, the first augmented copy after it.
        assert_eq!(s.sample_examples(5), [0, 2, 3]);
        assert_eq!(s.sample_examples(1), [0]);
    }

    #[test]
    fn builder_rejects_bad_input() {
        let mut b = SplitBuilder::new(3);
        assert!(b.push_example(&[1, 2], &[1, 2, 3]).is_err());
        assert!(b.finish_puzzle(0).is_err(), "empty puzzle");
        b.push_example(&[1, 2, 3], &[1, 2, 3]).unwrap();
        assert!(b.finish_group().is_err(), "open puzzle");
        b.finish_puzzle(7).unwrap();
        b.finish_group().unwrap();
        assert!(b.finish(spec()).unwrap_err().to_string().contains("identifier 7"));
        let mut b = SplitBuilder::new(1);
        b.push_group(0, [(&[9u8][..], &[1u8][..])]).unwrap();
        assert!(b.finish(spec()).unwrap_err().to_string().contains("vocab_size"));
    }

    #[test]
    fn dataset_round_trips_and_replaces_atomically() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("ds");
        let ds = Dataset {
            train: Some(sample()),
            test: None,
            identifiers: vec!["<blank>".into(), "a".into(), "b".into()],
        };
        ds.write(&dir).unwrap();
        assert!(dir.join("train/all__inputs.npy").is_file());
        assert!(!dir.join("test").exists());
        assert_eq!(Dataset::load(&dir).unwrap(), ds);

        // Rewriting replaces the old dataset; nothing temporary is left beside it.
        let ds2 =
            Dataset { train: None, test: Some(sample()), identifiers: ds.identifiers.clone() };
        ds2.write(&dir).unwrap();
        assert_eq!(Dataset::load(&dir).unwrap(), ds2);
        let names: Vec<_> =
            fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("ds")]);

        // A failing fill leaves the old dataset untouched.
        let err = write_dir_atomically(&dir, |tmp| {
            fs::write(tmp.join("x"), b"partial")?;
            bail!("boom")
        });
        assert!(err.is_err());
        assert_eq!(Dataset::load(&dir).unwrap(), ds2);
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    #[test]
    fn refuses_to_replace_a_foreign_folder() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("notes.txt"), b"keep me").unwrap();
        let ds = Dataset { train: Some(sample()), test: None, identifiers: vec![] };
        let err = ds.write(tmp.path()).unwrap_err().to_string();
        assert!(err.contains("refusing"), "{err}");
        assert!(tmp.path().join("notes.txt").exists());
    }

    #[test]
    fn npy_header_is_numpy_v1_with_official_dtypes() {
        let tmp = tempfile::tempdir().unwrap();
        sample().write(tmp.path()).unwrap();
        let bytes = fs::read(tmp.path().join("all__inputs.npy")).unwrap();
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let header = String::from_utf8_lossy(&bytes[10..]);
        assert!(
            header.starts_with("{'descr': '|u1', 'fortran_order': False, 'shape': (4, 3, ), }"),
            "{header}"
        );
        let bytes = fs::read(tmp.path().join("all__group_indices.npy")).unwrap();
        let header = String::from_utf8_lossy(&bytes[10..]);
        assert!(
            header.starts_with("{'descr': '<i4', 'fortran_order': False, 'shape': (3,"),
            "{header}"
        );
    }

    #[test]
    fn reads_other_integer_dtypes_and_fortran_order() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("a.npy");
        write_npy(&p, &[3], &[0i64, 5, 7]).unwrap();
        assert_eq!(read_npy::<i32>(&p).unwrap(), (vec![0, 5, 7], vec![3]));
        write_npy(&p, &[2], &[1i64 << 40, 0]).unwrap();
        assert!(read_npy::<i32>(&p).unwrap_err().to_string().contains("does not fit"));
        write_npy(&p, &[2], &[1.5f32, 0.0]).unwrap();
        assert!(read_npy::<i32>(&p).unwrap_err().to_string().contains("not an integer"));
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&[2, 3])
            .order(npyz::Order::Fortran)
            .writer(BufWriter::new(File::create(&p).unwrap()))
            .begin_nd()
            .unwrap();
        for x in [1u8, 4, 2, 5, 3, 6] {
            w.push(&x).unwrap();
        }
        w.finish().unwrap();
        assert_eq!(read_npy::<u8>(&p).unwrap(), (vec![1, 2, 3, 4, 5, 6], vec![2, 3]));
    }

    #[test]
    fn load_names_the_bad_file() {
        let tmp = tempfile::tempdir().unwrap();
        let s = sample();
        s.write(tmp.path()).unwrap();
        write_npy(&tmp.path().join("all__puzzle_indices.npy"), &[4], &[0i32, 3, 2, 4]).unwrap();
        let err = format!("{:#}", Split::load(tmp.path()).unwrap_err());
        assert!(err.contains("all__puzzle_indices.npy") && err.contains("decreases"), "{err}");

        s.write(tmp.path()).unwrap();
        write_npy(&tmp.path().join("all__labels.npy"), &[4, 2], &[1u8; 8]).unwrap();
        let err = format!("{:#}", Split::load(tmp.path()).unwrap_err());
        assert!(err.contains("all__labels.npy"), "{err}");

        s.write(tmp.path()).unwrap();
        fs::write(tmp.path().join("all__inputs.npy"), b"\x93NUMPY garbage").unwrap();
        let err = format!("{:#}", Split::load(tmp.path()).unwrap_err());
        assert!(err.contains("all__inputs.npy"), "{err}");

        s.write(tmp.path()).unwrap();
        let meta = tmp.path().join(METADATA_FILE);
        let text = fs::read_to_string(&meta)
            .unwrap()
            .replace("\"total_groups\": 2", "\"total_groups\": 5");
        fs::write(&meta, text).unwrap();
        let err = format!("{:#}", Split::load(tmp.path()).unwrap_err());
        assert!(err.contains("dataset.json") && err.contains("total_groups"), "{err}");
    }

    #[test]
    fn reads_hrm_metadata_without_total_puzzles_and_several_sets() {
        let tmp = tempfile::tempdir().unwrap();
        let s = sample();
        s.write(tmp.path()).unwrap();
        for field in ["inputs", "labels", "puzzle_identifiers", "puzzle_indices", "group_indices"] {
            fs::copy(
                tmp.path().join(format!("all__{field}.npy")),
                tmp.path().join(format!("b__{field}.npy")),
            )
            .unwrap();
        }
        let meta = serde_json::json!({
            "pad_id": 0, "ignore_label_id": 0, "blank_identifier_id": 0, "vocab_size": 5, "seq_len": 3,
            "num_puzzle_identifiers": 3, "total_groups": 4, "mean_puzzle_examples": 1, "sets": ["all", "b"]
        });
        fs::write(tmp.path().join(METADATA_FILE), meta.to_string()).unwrap();
        let both = Split::load(tmp.path()).unwrap();
        assert_eq!(both.num_examples(), 8);
        assert_eq!(both.puzzle_indices, vec![0, 2, 3, 4, 6, 7, 8]);
        assert_eq!(both.group_indices, vec![0, 2, 3, 5, 6]);
        assert_eq!(both.meta.total_puzzles, 4);
    }
}
