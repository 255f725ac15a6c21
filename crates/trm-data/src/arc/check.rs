//! Checking an attempt at an ARC test output against the truth.

use super::Grid;

/// Whether an attempt equals the truth, and if not how it differs.
pub fn verdict(attempt: &Grid, truth: &Grid) -> String {
    if attempt == truth {
        "correct".to_string()
    } else if attempt.rows() == 0 {
        "wrong (empty: no colour cell at the canvas corner)".to_string()
    } else if (attempt.rows(), attempt.cols()) == (truth.rows(), truth.cols()) {
        let wrong = attempt.cells().iter().zip(truth.cells()).filter(|(a, b)| a != b).count();
        format!("wrong ({wrong} of {} cells differ)", truth.cells().len())
    } else {
        format!("wrong (size {}, truth {})", dims(attempt), dims(truth))
    }
}

fn dims(g: &Grid) -> String {
    format!("{}x{}", g.rows(), g.cols())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_name_the_difference() {
        let a = Grid::from_rows(&[vec![1, 2], vec![3, 4]]).unwrap();
        let b = Grid::from_rows(&[vec![1, 2], vec![3, 5]]).unwrap();
        assert_eq!(verdict(&a, &a), "correct");
        assert_eq!(verdict(&a, &b), "wrong (1 of 4 cells differ)");
        assert_eq!(
            verdict(&Grid::from_rows(&[vec![1]]).unwrap(), &b),
            "wrong (size 1x1, truth 2x2)"
        );
        assert!(verdict(&Grid::empty(), &b).starts_with("wrong (empty"));
    }
}
