//! Sudoku puzzle files and official-layout datasets (design 4.1 and 4.2).
//!
//! Files accepted by [`read_records`]:
//! - the Sudoku-Extreme CSV: a header naming at least `question` (usually
//!   `source,question,answer,rating`), one puzzle per row; `answer` may be missing or empty;
//! - bare puzzles, one 16- or 81-character line each (`.` or `0` blank), as the tdoku
//!   collections; `#` lines are comments; tdoku's `puzzle:count[:solution]` lines are read too.
//!
//! Dataset builder, as the official `build_sudoku_dataset.py`: each puzzle becomes a group made
//! of the original and `aug` shuffled copies (train split only), each copy its own puzzle with
//! one example; tokens 0 pad, 1 blank, `d + 1` digit; one puzzle identifier (`"<blank>"`);
//! `total_puzzles` holds the group count and `mean_puzzle_examples` is 1.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use rand::seq::index;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::generate::{self, Filter};
use super::{augment, check_size, solver, tokens, Grid};
use crate::dataset::{Dataset, Split, SplitBuilder, TokenSpec, BLANK_IDENTIFIER};

/// A puzzle with its (unique, unless told otherwise) solution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Example {
    /// The puzzle: givens and blanks.
    pub puzzle: Grid,
    /// Its complete solution, the label.
    pub solution: Grid,
}

/// One puzzle as read from a file, before it is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// 1-based line number in the file.
    pub line: usize,
    /// The puzzle (the `question` column, or the line).
    pub puzzle: Grid,
    /// The solution the file gives (`answer` column or tdoku's solution), if any.
    pub answer: Option<Grid>,
}

/// A puzzle with the name reports and errors give it (file and line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedPuzzle {
    /// E.g. `puzzle 2 of 3 (puzzles.txt line 5)`.
    pub name: String,
    /// The puzzle, its givens consistent.
    pub puzzle: Grid,
}

/// The puzzles of `records` read from `source`, named after it and their line, each checked
/// for conflicting givens.
pub fn named_puzzles(records: Vec<Record>, source: &str) -> Result<Vec<NamedPuzzle>> {
    for r in &records {
        r.puzzle.check_consistent().with_context(|| {
            format!(
                "{source} line {}: puzzle {} has conflicting givens",
                r.line,
                r.puzzle.to_line('.')
            )
        })?;
    }
    let n = records.len();
    Ok(records
        .into_iter()
        .enumerate()
        .map(|(i, r)| NamedPuzzle {
            name: format!("puzzle {} of {n} ({source} line {})", i + 1, r.line),
            puzzle: r.puzzle,
        })
        .collect())
}

/// Reads the puzzles of a CSV or bare-line file, checking only their syntax.
pub fn read_records(path: &Path) -> Result<Vec<Record>> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read puzzle file", path.display()))?;
    parse_records(&text).with_context(|| path.display().to_string())
}

/// [`read_records`] on text already in memory. Errors start with `line N:`.
pub fn parse_records(text: &str) -> Result<Vec<Record>> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    let Some((first_no, first)) = lines.next() else {
        bail!("no puzzles (the file is empty or only has comments)");
    };
    let mut out = Vec::new();
    if first.contains(',') {
        let header: Vec<String> =
            first.split(',').map(|f| unquote(f).to_ascii_lowercase()).collect();
        let Some(q_col) = header.iter().position(|h| h == "question") else {
            bail!("line {first_no}: a CSV file needs a header with a `question` column (Sudoku-Extreme: source,question,answer,rating); found {first:?}");
        };
        let a_col = header.iter().position(|h| h == "answer");
        for (no, line) in lines {
            let fields: Vec<&str> = line.split(',').map(unquote).collect();
            ensure!(
                fields.len() == header.len(),
                "line {no}: {} comma-separated fields, the header has {}",
                fields.len(),
                header.len()
            );
            let puzzle =
                Grid::parse(fields[q_col]).with_context(|| format!("line {no}: question"))?;
            let answer = match a_col.map(|c| fields[c]) {
                Some(a) if !a.is_empty() => {
                    Some(Grid::parse(a).with_context(|| format!("line {no}: answer"))?)
                }
                _ => None,
            };
            out.push(Record { line: no, puzzle, answer });
        }
    } else {
        for (no, line) in std::iter::once((first_no, first)).chain(lines) {
            let mut parts = line.split(':');
            let puzzle = Grid::parse(parts.next().unwrap_or(""))
                .with_context(|| format!("line {no}: puzzle"))?;
            // tdoku's `puzzle:count:solution`: the third field is a grid only for unique puzzles.
            let answer = parts.nth(1).and_then(|s| Grid::parse(s).ok());
            out.push(Record { line: no, puzzle, answer });
        }
    }
    ensure!(!out.is_empty(), "no puzzles after the CSV header");
    Ok(out)
}

fn unquote(field: &str) -> &str {
    let f = field.trim();
    f.strip_prefix('"').and_then(|f| f.strip_suffix('"')).unwrap_or(f)
}

/// Checks one record and returns it with its solution: consistent givens, the expected size,
/// a valid answer that keeps the givens, and (when `require_unique`) exactly one solution.
/// Without an answer the solver provides the label.
pub fn check_record(record: &Record, size: usize, require_unique: bool) -> Result<Example> {
    let line = record.line;
    let puzzle = record.puzzle;
    ensure!(
        puzzle.size() == size,
        "line {line}: a {0}x{0} puzzle among {1}x{1} ones (pass --size to choose)",
        puzzle.size(),
        size
    );
    puzzle
        .check_consistent()
        .with_context(|| format!("line {line}: conflicting givens in the question"))?;
    if let Some(answer) = record.answer {
        ensure!(
            answer.size() == size,
            "line {line}: answer is {0}x{0}, question is {1}x{1}",
            answer.size(),
            size
        );
        ensure!(
            answer.is_complete(),
            "line {line}: answer has {} blank cells",
            answer.num_cells() - answer.givens()
        );
        answer
            .check_consistent()
            .with_context(|| format!("line {line}: answer is not a valid solution"))?;
        if let Some(i) =
            puzzle.cells().iter().zip(answer.cells()).position(|(&p, &a)| p != 0 && p != a)
        {
            bail!(
                "line {line}: answer is inconsistent with the question: row {}, column {} is given as {} but the answer has {}",
                i / size + 1,
                i % size + 1,
                puzzle.cells()[i],
                answer.cells()[i]
            );
        }
        if !require_unique {
            return Ok(Example { puzzle, solution: answer });
        }
    }
    let analysis =
        if require_unique { solver::analyse(&puzzle) } else { solver::count_solutions(&puzzle, 1) };
    match (analysis.solutions, analysis.solution) {
        (0, _) | (_, None) => bail!("line {line}: the puzzle has no solution"),
        (1, Some(solution)) => Ok(Example { puzzle, solution: record.answer.unwrap_or(solution) }),
        (_, Some(solution)) if !require_unique => Ok(Example { puzzle, solution }),
        _ => bail!(
            "line {line}: the puzzle has more than one solution (pass --allow-non-unique to accept it{})",
            if record.answer.is_some() { " with the given answer as label" } else { "" }
        ),
    }
}

/// Checks every record (in parallel; the first error by line is reported).
pub fn check_records(
    records: &[Record],
    size: usize,
    require_unique: bool,
) -> Result<Vec<Example>> {
    check_size(size)?;
    let threads =
        std::thread::available_parallelism().map_or(1, |n| n.get()).min(records.len().max(1));
    let chunk = records.len().div_ceil(threads).max(1);
    let parts: Vec<Result<Vec<Example>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = records
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter().map(|r| check_record(r, size, require_unique)).collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("checker thread panicked")).collect()
    });
    let mut out = Vec::with_capacity(records.len());
    for part in parts {
        out.extend(part?);
    }
    Ok(out)
}

/// Reads and checks a puzzle file; `size` defaults to the size of its first puzzle.
pub fn read_examples(
    path: &Path,
    size: Option<usize>,
    require_unique: bool,
) -> Result<Vec<Example>> {
    let records = read_records(path)?;
    let size = size.unwrap_or(records[0].puzzle.size());
    check_records(&records, size, require_unique).with_context(|| path.display().to_string())
}

/// The official Sudoku token layout for a side of `size`.
pub fn token_spec(size: usize) -> TokenSpec {
    TokenSpec {
        pad_id: tokens::PAD as u32,
        ignore_label_id: Some(tokens::PAD as u32),
        blank_identifier_id: 0,
        vocab_size: tokens::vocab_size(size),
        num_puzzle_identifiers: 1,
    }
}

/// A split of groups: each example followed by `aug` shuffled copies, one example per puzzle.
pub fn build_split(
    examples: &[Example],
    size: usize,
    aug: usize,
    rng: &mut ChaCha8Rng,
) -> Result<Split> {
    check_size(size)?;
    let mut b = SplitBuilder::new(size * size);
    for ex in examples {
        ensure!(
            ex.puzzle.size() == size && ex.solution.size() == size,
            "a {0}x{0} example in a {size}x{size} split",
            ex.puzzle.size()
        );
        let mut group = vec![(ex.puzzle.to_tokens(), ex.solution.to_tokens())];
        for _ in 0..aug {
            let (p, s) = augment::shuffle_pair(&ex.puzzle, &ex.solution, rng);
            group.push((p.to_tokens(), s.to_tokens()));
        }
        b.push_group(0, group.iter().map(|(p, s)| (p.as_slice(), s.as_slice())))?;
    }
    let mut split = b.finish(token_spec(size))?;
    // Official Sudoku builder: total_puzzles = number of groups.
    split.meta.total_puzzles = split.num_groups();
    Ok(split)
}

/// Where the puzzles of a split come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A CSV or bare-line file, read with [`read_examples`].
    File(PathBuf),
    /// `n` puzzles drawn by [`generate::generate`] with [`BuildConfig::filter`].
    Generate(usize),
    /// Puzzles already in memory.
    Examples(Vec<Example>),
}

/// Everything `trm data sudoku` needs; usable without the CLI.
#[derive(Debug, Clone)]
pub struct BuildConfig {
    /// Where the train split's puzzles come from; `None`: no `train/`.
    pub train: Option<Source>,
    /// Where the test split's puzzles come from; `None`: no `test/`.
    pub test: Option<Source>,
    /// 4 or 9; `None`: the size of the first file's puzzles, or 9 when only generating.
    pub size: Option<usize>,
    /// Shuffled copies per training puzzle (the test split is never augmented, as official).
    pub aug: usize,
    /// Keep this many training puzzles drawn uniformly without replacement (official
    /// `--subsample-size`); `None` keeps all. Only puzzles read or given: generated ones are
    /// as many as asked for.
    pub subsample: Option<usize>,
    /// Seed of the random streams (subsampling, generation, shuffles), one stream each.
    pub seed: u64,
    /// Difficulty filters of generated puzzles (its `size` is replaced by the dataset's).
    pub filter: Filter,
    /// Reject puzzles with several solutions (files only; generated puzzles are always unique).
    pub require_unique: bool,
}

impl BuildConfig {
    /// Generated train and test puzzles of `size`, no augmentation, seed 0.
    pub fn generated(size: usize, train: usize, test: usize) -> BuildConfig {
        BuildConfig {
            train: (train > 0).then_some(Source::Generate(train)),
            test: (test > 0).then_some(Source::Generate(test)),
            size: Some(size),
            aug: 0,
            subsample: None,
            seed: 0,
            filter: Filter::new(size),
            require_unique: true,
        }
    }
}

/// Independent random streams per purpose, so that e.g. adding a test split does not change
/// the train split built from the same seed.
fn stream(seed: u64, purpose: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(purpose);
    rng
}

/// Builds the dataset described by `cfg`. Files are read first; generated test puzzles avoid
/// the training puzzles and generated training puzzles avoid the test puzzles (exact match).
pub fn build_dataset(cfg: &BuildConfig) -> Result<Dataset> {
    ensure!(
        cfg.train.is_some() || cfg.test.is_some(),
        "nothing to build: give a train and/or a test source"
    );
    ensure!(
        cfg.subsample.is_none() || matches!(cfg.train, Some(Source::File(_) | Source::Examples(_))),
        "--subsample applies to --train-csv puzzles; for generated puzzles set --generate-train N instead"
    );
    let read = |source: &Option<Source>| -> Result<Option<(PathBuf, Vec<Record>)>> {
        match source {
            Some(Source::File(path)) => Ok(Some((path.clone(), read_records(path)?))),
            _ => Ok(None),
        }
    };
    let (train_records, test_records) = (read(&cfg.train)?, read(&cfg.test)?);
    // Size: as asked, else that of the first puzzle read, else 9.
    let first_in_memory = [&cfg.train, &cfg.test].into_iter().find_map(|s| match s {
        Some(Source::Examples(e)) => e.first().map(|e| e.puzzle.size()),
        _ => None,
    });
    let first_in_file = [&train_records, &test_records]
        .into_iter()
        .flatten()
        .map(|(_, r)| r[0].puzzle.size())
        .next();
    let size = cfg.size.or(first_in_file).or(first_in_memory).unwrap_or(9);
    check_size(size)?;
    let load = |source: &Option<Source>,
                records: Option<(PathBuf, Vec<Record>)>|
     -> Result<Option<Vec<Example>>> {
        Ok(match (source, records) {
            (_, Some((path, records))) => Some(
                check_records(&records, size, cfg.require_unique)
                    .with_context(|| path.display().to_string())?,
            ),
            (Some(Source::Examples(e)), _) => Some(e.clone()),
            _ => None,
        })
    };
    let mut train = load(&cfg.train, train_records)?;
    let mut test = load(&cfg.test, test_records)?;
    if let (Some(n), Some(t)) = (cfg.subsample, train.as_mut()) {
        ensure!(
            n <= t.len(),
            "--subsample {n} asks for more than the {} training puzzles",
            t.len()
        );
        let mut keep = index::sample(&mut stream(cfg.seed, 4), t.len(), n).into_vec();
        keep.sort_unstable();
        *t = keep.into_iter().map(|i| t[i]).collect();
    }
    let filter = Filter { size, ..cfg.filter.clone() };
    let puzzles = |e: &Option<Vec<Example>>| -> HashSet<Grid> {
        e.iter().flatten().map(|e| e.puzzle).collect()
    };
    if let Some(Source::Generate(n)) = cfg.test {
        let made = generate::generate(n, &filter, &puzzles(&train), &mut stream(cfg.seed, 2))
            .context("generating the test split")?;
        test = Some(
            made.into_iter().map(|g| Example { puzzle: g.puzzle, solution: g.solution }).collect(),
        );
    }
    if let Some(Source::Generate(n)) = cfg.train {
        let made = generate::generate(n, &filter, &puzzles(&test), &mut stream(cfg.seed, 1))
            .context("generating the train split")?;
        train = Some(
            made.into_iter().map(|g| Example { puzzle: g.puzzle, solution: g.solution }).collect(),
        );
    }
    let mut aug_rng = stream(cfg.seed, 3);
    let train = train
        .map(|t| build_split(&t, size, cfg.aug, &mut aug_rng))
        .transpose()
        .context("train split")?;
    let test =
        test.map(|t| build_split(&t, size, 0, &mut aug_rng)).transpose().context("test split")?;
    Ok(Dataset { train, test, identifiers: vec![BLANK_IDENTIFIER.to_string()] })
}

#[cfg(test)]
mod tests {
    use super::*;

    const P4: &str = "1.3..4......2..1";

    fn solved(p: &str) -> String {
        solver::solve(&Grid::parse(p).unwrap()).unwrap().0.to_string()
    }

    #[test]
    fn reads_csv_and_bare_lines() {
        let csv = format!("source,question,answer,rating\nx,{P4},{},0\n\ny,{P4},,3\n", solved(P4));
        let r = parse_records(&csv).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].line, r[1].line), (2, 4));
        assert!(r[0].answer.is_some() && r[1].answer.is_none());
        let bare = format!("# comment\r\n{P4}\r\n{}\r\n", P4.replace('.', "0"));
        let r = parse_records(&bare).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].puzzle, r[1].puzzle);
        let tdoku = format!("{P4}:1:{}\n{P4}:2:57\n", solved(P4));
        let r = parse_records(&tdoku).unwrap();
        assert!(r[0].answer.is_some() && r[1].answer.is_none());
    }

    #[test]
    fn csv_errors_name_the_line() {
        let err =
            format!("{:#}", parse_records(&format!("question,answer\n{P4},\nabc,\n")).unwrap_err());
        assert!(err.starts_with("line 3: question"), "{err}");
        let err = format!("{:#}", parse_records(&format!("question,answer\n{P4}\n")).unwrap_err());
        assert!(err.contains("line 2") && err.contains("fields"), "{err}");
        let err = format!("{:#}", parse_records("a,b\n1,2\n").unwrap_err());
        assert!(err.contains("question"), "{err}");
        let err = format!("{:#}", parse_records("source,question,answer,rating\n").unwrap_err());
        assert!(err.contains("no puzzles"), "{err}");
        assert!(parse_records("# only a comment\n").is_err());
    }

    #[test]
    fn checks_records() {
        let rec = |line, p: &str, a: Option<&str>| Record {
            line,
            puzzle: Grid::parse(p).unwrap(),
            answer: a.map(|a| Grid::parse(a).unwrap()),
        };
        let good = check_record(&rec(1, P4, None), 4, true).unwrap();
        assert!(good.puzzle.is_solved_by(&good.solution));
        let err = |r: Record| format!("{:#}", check_record(&r, 4, true).unwrap_err());
        let e = err(rec(5, "11..............", None));
        assert!(e.contains("line 5") && e.contains("conflicting"), "{e}");
        let e = err(rec(6, "................", None));
        assert!(e.contains("line 6") && e.contains("more than one"), "{e}");
        let e = err(rec(7, "12........3...4.", None));
        assert!(e.contains("no solution"), "{e}");
        // A valid grid (digits 1 and 2 swapped) that contradicts the given 1.
        let swapped: Vec<u8> =
            good.solution.cells().iter().map(|&v| [0, 2, 1, 3, 4][v as usize]).collect();
        let wrong = Grid::from_cells(&swapped).unwrap();
        let e = err(rec(8, P4, Some(&wrong.to_string())));
        assert!(e.contains("line 8") && e.contains("inconsistent"), "{e}");
        let e = err(rec(9, P4, Some(&"1234".repeat(4))));
        assert!(e.contains("answer is not a valid solution"), "{e}");
        let e = format!("{:#}", check_record(&rec(2, P4, None), 9, true).unwrap_err());
        assert!(e.contains("4x4 puzzle among 9x9"), "{e}");
        // Several solutions are accepted on request, with the given answer as label.
        let open = "1...............";
        let full = solved(open);
        let ex = check_record(&rec(3, open, Some(&full)), 4, false).unwrap();
        assert_eq!(ex.solution.to_string(), full);
    }

    #[test]
    fn builds_official_groups_and_metadata() {
        let ex = check_record(
            &Record { line: 1, puzzle: Grid::parse(P4).unwrap(), answer: None },
            4,
            true,
        )
        .unwrap();
        let split = build_split(&[ex, ex], 4, 3, &mut ChaCha8Rng::seed_from_u64(0)).unwrap();
        assert_eq!((split.num_groups(), split.num_puzzles(), split.num_examples()), (2, 8, 8));
        assert_eq!(split.group_indices, vec![0, 4, 8]);
        assert_eq!(split.puzzle_indices, (0..=8).collect::<Vec<i32>>());
        assert_eq!(split.meta.total_puzzles, 2);
        assert_eq!(split.meta.mean_puzzle_examples, 1.0);
        assert_eq!(
            (split.meta.vocab_size, split.meta.seq_len, split.meta.ignore_label_id),
            (6, 16, Some(0))
        );
        assert_eq!(split.example(0).0, ex.puzzle.to_tokens().as_slice());
        for i in 0..8 {
            let (inp, lab) = split.example(i);
            let (p, s) = (Grid::from_tokens(inp).unwrap(), Grid::from_tokens(lab).unwrap());
            assert!(p.is_solved_by(&s));
        }
    }

    #[test]
    fn generated_dataset_is_seeded_and_splits_are_disjoint() {
        let cfg = BuildConfig { aug: 2, ..BuildConfig::generated(4, 30, 20) };
        let a = build_dataset(&cfg).unwrap();
        assert_eq!(a, build_dataset(&cfg).unwrap());
        let (train, test) = (a.train.as_ref().unwrap(), a.test.as_ref().unwrap());
        assert_eq!((train.num_groups(), train.num_examples(), test.num_examples()), (30, 90, 20));
        let test_puzzles: HashSet<&[u8]> = (0..20).map(|i| test.example(i).0).collect();
        for g in 0..30 {
            let first = train.group_puzzles(g).start;
            assert!(!test_puzzles.contains(train.example(first).0));
        }
        let other = build_dataset(&BuildConfig { seed: 1, ..cfg }).unwrap();
        assert_ne!(other.test, a.test);
        // Puzzles in memory, size taken from them.
        let examples: Vec<Example> = (0..3)
            .map(|i| {
                let (inp, lab) = test.example(i);
                Example {
                    puzzle: Grid::from_tokens(inp).unwrap(),
                    solution: Grid::from_tokens(lab).unwrap(),
                }
            })
            .collect();
        let cfg = BuildConfig {
            test: Some(Source::Examples(examples)),
            train: None,
            size: None,
            ..BuildConfig::generated(9, 0, 0)
        };
        let ds = build_dataset(&cfg).unwrap();
        assert_eq!(ds.test.as_ref().unwrap().meta.seq_len, 16);
        assert!(ds.train.is_none());
    }

    #[test]
    fn generated_puzzles_are_not_subsampled() {
        let cfg = BuildConfig { subsample: Some(5), ..BuildConfig::generated(4, 10, 0) };
        let e = build_dataset(&cfg).unwrap_err().to_string();
        assert!(e.starts_with("--subsample applies to --train-csv puzzles"), "{e}");
    }
}
