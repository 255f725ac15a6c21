//! Maze pictures: walls, open cells, start, goal and the path.

use anyhow::Result;

use crate::cells::{self, Kind, Overlay};
use crate::grid::{Grid, Marks};
use crate::scene::Scene;

const MARGIN: f32 = 10.0;

/// A maze of official tokens; `marks` frames changed cells and crosses wrong ones.
pub fn picture(grid: &Grid, marks: Option<&Marks>) -> Result<Scene> {
    let cell = cells::fit_cell(grid.rows(), grid.cols(), 600.0, 4.0, 32.0);
    let lay = cells::layout(Kind::Maze, grid.rows(), grid.cols(), cell);
    let mut scene = Scene::new(lay.width + 2.0 * MARGIN, lay.height + 2.0 * MARGIN);
    cells::draw(
        &mut scene,
        MARGIN,
        MARGIN,
        Kind::Maze,
        grid,
        &lay,
        Overlay { givens: None, marks },
    );
    Ok(scene)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_size_fits_the_maze() {
        let maze = trm_data::maze::Maze::parse_lines("####\n#SoG\n####\n").unwrap();
        let s = picture(&Grid::from(&maze), None).unwrap();
        assert_eq!((s.width, s.height), (20 + 4 + 4 * 32, 20 + 4 + 3 * 32));
        let big = Grid::filled(30, 30, 1).unwrap();
        assert_eq!(picture(&big, None).unwrap().width, 20 + 4 + 30 * 20);
    }
}
