//! One module per subcommand.

pub mod data;
pub mod data_arc;
pub mod data_maze;
pub mod plot;
pub mod render;
