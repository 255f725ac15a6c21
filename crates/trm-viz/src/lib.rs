//! Pictures of puzzles, the recursion and learning curves, as PNG or SVG.
//!
//! Every picture is a [`Scene`] (a list of shapes) that [`Scene::save`] writes as PNG or SVG by
//! the file extension. Text uses the embedded DejaVu Sans, so no system font is needed.
//!
//! Grids are plain [`Grid`]s of `u8`; [`Kind`] says how to read them. Sudoku and maze grids
//! hold the official tokens, so model inputs, labels and predictions draw as they are:
//!
//! | kind | values |
//! |---|---|
//! | [`Kind::Sudoku`] | 0 pad, 1 blank, `d + 1` digit `d` |
//! | [`Kind::Maze`] | 0 pad, 1 `#` wall, 2 open, 3 `S`, 4 `G`, 5 `o` path |
//! | [`Kind::Arc`] | colours 0..=9 (task JSON, cropped predictions) |
//! | [`Kind::ArcTokens`] | 0 pad, 1 end of grid, `c + 2` colour `c` (the 30x30 canvas) |
//!
//! Puzzles read by `trm-data` convert with `Grid::from` (Sudoku and maze grids to tokens, ARC
//! grids to colours) and `arc::Task::from`.
//!
//! Pictures: [`sudoku::picture`], [`maze::picture`], [`arc::task_picture`],
//! [`strip::step_strip`], [`curves::learning_curves`], [`curves::accuracy_vs_steps`].
//!
//! Text pictures for the terminal (grids side by side, the answer after every step, dataset
//! examples decoded): [`terminal`].

#![warn(missing_docs)]

pub mod arc;
mod cells;
pub mod chart;
pub mod color;
pub mod curves;
mod data;
pub mod font;
pub mod grid;
pub mod maze;
pub mod metrics;
mod raster;
pub mod scene;
pub mod strip;
pub mod sudoku;
mod svg;
pub mod terminal;

pub use cells::{box_shape, cell_color, Kind};
pub use color::Color;
pub use grid::{Grid, Mark, Marks};
pub use scene::{Anchor, Format, Item, Scene, Stroke};
pub use strip::{step_strip, StripOptions};
