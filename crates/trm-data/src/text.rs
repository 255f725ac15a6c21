//! Text named by a command-line argument: a file, standard input (`-`), or the argument
//! itself.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};

/// The content of a text file; the error names the file.
pub fn read_file(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))
}

/// The text of the file `arg`, or of standard input when `arg` is `-`, with a name for error
/// messages (`<stdin>` or `arg`).
pub fn read_file_or_stdin(arg: &str) -> Result<(String, String)> {
    if arg == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("cannot read standard input")?;
        return Ok((text, "<stdin>".into()));
    }
    Ok((read_file(Path::new(arg))?, arg.to_string()))
}

/// The text `arg` stands for: standard input for `-`, the file's content when `arg` names a
/// file, else `arg` itself. Returns the text and a name for error messages (`<stdin>`, the
/// file, or `arg` in quotes).
pub fn read_text_arg(arg: &str) -> Result<(String, String)> {
    if arg == "-" || Path::new(arg).is_file() {
        return read_file_or_stdin(arg);
    }
    Ok((arg.to_string(), format!("\"{arg}\"")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_argument_is_a_file_or_the_text_itself() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("grid.txt");
        std::fs::write(&file, "1.3.\n").unwrap();
        let name = file.to_str().unwrap();
        assert_eq!(read_text_arg(name).unwrap(), ("1.3.\n".to_string(), name.to_string()));
        assert_eq!(read_text_arg("1.3.").unwrap(), ("1.3.".to_string(), "\"1.3.\"".to_string()));
        let missing = dir.path().join("missing.txt");
        let e = read_file_or_stdin(missing.to_str().unwrap()).unwrap_err().to_string();
        assert_eq!(e, format!("{}: cannot read", missing.display()));
    }
}
