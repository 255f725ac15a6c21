//! The official maze CSV files (`train.csv`, `test.csv` of `sapientinc/maze-30x30-hard-1k`):
//! header `source,question,answer,rating`, `question` and `answer` being the maze read row
//! by row in `# SGo`. Open cells are spaces, so fields are never trimmed. The side is
//! inferred from the question length, which must be a square (as the official builder does).

use std::path::Path;

use anyhow::{bail, ensure, Context, Result};

use super::{Maze, MazePair};

/// Reads and checks an official maze CSV file. Every question must have exactly one `S` and
/// one `G` and a path between them; every answer must be its question with one shortest
/// path drawn in `o`. Errors name the file and the line.
pub fn read_csv(path: &Path) -> Result<Vec<MazePair>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read maze CSV", path.display()))?;
    parse_csv(&text).with_context(|| format!("{}: not a valid maze CSV", path.display()))
}

/// Parses the text of an official maze CSV file; see [`read_csv`].
pub fn parse_csv(text: &str) -> Result<Vec<MazePair>> {
    let records = parse_records(text)?;
    let Some((header_line, header)) = records.first() else {
        bail!("empty file: expected the header `source,question,answer,rating`");
    };
    let column = |name: &str| {
        header.iter().position(|h| h.trim() == name).with_context(|| {
            format!("line {header_line}: header {header:?} has no `{name}` column (expected `source,question,answer,rating`)")
        })
    };
    let (q_col, a_col) = (column("question")?, column("answer")?);
    let mut side = None;
    let mut pairs = Vec::with_capacity(records.len() - 1);
    for (line, fields) in &records[1..] {
        let pair = (|| {
            ensure!(fields.len() == header.len(), "{} fields but the header has {}", fields.len(), header.len());
            let (q, a) = (&fields[q_col], &fields[a_col]);
            let len = q.chars().count();
            let n = *side.get_or_insert_with(|| (len as f64).sqrt().round() as usize);
            ensure!(
                n * n == len,
                "question has {len} characters; expected {} (a {n}x{n} maze, the size of the first row){}",
                n * n,
                if q.trim_end() != q.as_str() || len < n * n { "; were trailing spaces stripped?" } else { "" }
            );
            let question = Maze::parse_flat(q, n, n).context("question")?;
            let answer = Maze::parse_flat(a, n, n).context("answer")?;
            question.check_answer(&answer)?;
            Ok(MazePair { question, answer })
        })()
        .with_context(|| format!("line {line}"))?;
        pairs.push(pair);
    }
    Ok(pairs)
}

/// Writes mazes in the official CSV format. `rating` is the shortest-path length in cells.
pub fn write_csv(path: &Path, pairs: &[MazePair], source: &str) -> Result<()> {
    let mut text = String::from("source,question,answer,rating\n");
    for pair in pairs {
        text.push_str(&quote(source));
        text.push(',');
        text.push_str(&pair.question.to_flat_string());
        text.push(',');
        text.push_str(&pair.answer.to_flat_string());
        text.push(',');
        text.push_str(&pair.path_len().to_string());
        text.push('\n');
    }
    std::fs::write(path, text).with_context(|| format!("{}: cannot write maze CSV", path.display()))
}

fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// Splits CSV text into records (RFC 4180: quoted fields may hold commas, doubled quotes and
/// newlines). Returns each record with the 1-based line it starts on. Blank lines are skipped;
/// fields are not trimmed.
fn parse_records(text: &str) -> Result<Vec<(usize, Vec<String>)>> {
    let mut records = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let (mut line, mut start_line) = (1, 1);
    let mut in_quotes = false;
    let mut chars = text.chars().peekable();
    let mut record_has_content = false;
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => {
                in_quotes = true;
                record_has_content = true;
            }
            ',' => {
                fields.push(std::mem::take(&mut field));
                record_has_content = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                if record_has_content || !field.is_empty() {
                    fields.push(std::mem::take(&mut field));
                    records.push((start_line, std::mem::take(&mut fields)));
                }
                record_has_content = false;
                line += 1;
                start_line = line;
            }
            _ => {
                field.push(c);
                record_has_content = true;
            }
        }
    }
    ensure!(!in_quotes, "line {start_line}: quoted field is never closed");
    if record_has_content || !field.is_empty() {
        fields.push(field);
        records.push((start_line, fields));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_keep_spaces_and_handle_quotes() {
        let text = "a,b\r\n\"x, \"\"y\"\"\",  \n\n  ,#\n";
        let records = parse_records(text).unwrap();
        assert_eq!(
            records,
            vec![
                (1, vec!["a".to_string(), "b".to_string()]),
                (2, vec!["x, \"y\"".to_string(), "  ".to_string()]),
                (4, vec!["  ".to_string(), "#".to_string()]),
            ]
        );
    }

    #[test]
    fn errors_name_the_line() {
        let good = "source,question,answer,rating\nsrc,S  G,Soo G,4\n";
        // 2x2 would need 4 characters; the row above is 5, so build a real 2x2 instead.
        assert!(parse_csv(good).is_err());
        let ok = "source,question,answer,rating\nsrc,S #G,So#G,3\n";
        assert_eq!(parse_csv(ok).unwrap().len(), 1);
        let two_goals = "source,question,answer,rating\nsrc,S #G,So#G,3\nsrc,G #G,G #G,3\n";
        let err = format!("{:#}", parse_csv(two_goals).unwrap_err());
        assert!(err.contains("line 3") && err.contains("found 0 'S' and 2 'G'"), "{err}");
        let no_path = "source,question,answer,rating\nsrc,S##G,S##G,0\n";
        let err = format!("{:#}", parse_csv(no_path).unwrap_err());
        assert!(err.contains("line 2") && err.contains("no path"), "{err}");
        let stripped = "source,question,answer,rating\nsrc,S #G,So#G,3\nsrc,S #,So#,3\n";
        let err = format!("{:#}", parse_csv(stripped).unwrap_err());
        assert!(err.contains("line 3") && err.contains("expected 4"), "{err}");
    }
}
