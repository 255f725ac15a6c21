//! Pictures of puzzles, the recursion and learning curves.
