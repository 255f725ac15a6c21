//! Sudoku of size 4 (2x2 boxes) and 9 (3x3 boxes).
