//! Conversions from the puzzle types of `trm-data` to the grids drawn here. Sudoku and maze
//! grids become official tokens ([`Kind::Sudoku`](crate::Kind), [`Kind::Maze`](crate::Kind)),
//! ARC grids stay colours ([`Kind::Arc`](crate::Kind)).

use trm_data::{arc as data_arc, maze::Maze, sudoku};

use crate::arc::{Pair, Task};
use crate::grid::Grid;

impl From<&sudoku::Grid> for Grid {
    fn from(g: &sudoku::Grid) -> Grid {
        Grid::new(g.size(), g.size(), g.to_tokens()).expect("a Sudoku grid is size x size")
    }
}

impl From<&Maze> for Grid {
    fn from(m: &Maze) -> Grid {
        Grid::new(m.rows(), m.cols(), m.tokens()).expect("a maze has rows x cols cells")
    }
}

impl From<&data_arc::Grid> for Grid {
    fn from(g: &data_arc::Grid) -> Grid {
        Grid::new(g.rows(), g.cols(), g.cells().to_vec())
            .expect("an ARC grid has rows x cols cells")
    }
}

impl From<&data_arc::Task> for Task {
    /// Test outputs become `None` when the task's solutions are unknown (hidden test set).
    fn from(t: &data_arc::Task) -> Task {
        let pair = |p: &data_arc::Pair, known: bool| Pair {
            input: Grid::from(&p.input),
            output: known.then(|| Grid::from(&p.output)),
        };
        Task {
            train: t.train.iter().map(|p| pair(p, true)).collect(),
            test: t.test.iter().map(|p| pair(p, t.solutions_known)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_to_tokens_and_colours() {
        let s = sudoku::Grid::parse("1.3...1..1..4.2.").unwrap();
        let g = Grid::from(&s);
        assert_eq!((g.rows(), g.get(0, 0), g.get(0, 1)), (4, 2, 1));
        let m = Maze::parse_lines("###\n#SG\n").unwrap();
        assert_eq!(Grid::from(&m).row(1), &[1, 3, 4]);
        let a = data_arc::Grid::from_rows(&[vec![0, 9]]).unwrap();
        assert_eq!(Grid::from(&a).cells(), &[0, 9]);
    }
}
