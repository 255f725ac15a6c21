//! Breadth-first search on a 4-connected grid: the exact shortest-path baseline for mazes.
//!
//! [`MazeSolver`] keeps its buffers between calls so that solving many mazes allocates
//! nothing but the returned path.

/// Marker for "not reached" in distance maps.
pub const UNREACHED: u32 = u32::MAX;

/// Reusable BFS buffers.
#[derive(Default)]
pub struct MazeSolver {
    dist: Vec<u32>,
    queue: Vec<u32>,
}

impl MazeSolver {
    /// A solver with empty buffers.
    pub fn new() -> MazeSolver {
        MazeSolver::default()
    }

    /// BFS from `start` over `passable` cells of a `rows x cols` grid, stopping once `goal`
    /// is reached (pass `None` to reach everything). Returns the distance map (steps;
    /// [`UNREACHED`] where not reached). Neighbours are visited up, down, left, right.
    pub fn distances(
        &mut self,
        passable: &[bool],
        rows: usize,
        cols: usize,
        start: usize,
        goal: Option<usize>,
    ) -> &[u32] {
        let n = rows * cols;
        assert_eq!(passable.len(), n, "passability map must have rows * cols cells");
        self.dist.clear();
        self.dist.resize(n, UNREACHED);
        self.queue.clear();
        if !passable[start] {
            return &self.dist;
        }
        self.dist[start] = 0;
        self.queue.push(start as u32);
        let mut head = 0;
        while head < self.queue.len() {
            let cell = self.queue[head] as usize;
            head += 1;
            if Some(cell) == goal {
                break;
            }
            let next = self.dist[cell] + 1;
            let (r, c) = (cell / cols, cell % cols);
            let mut visit = |i: usize| {
                if passable[i] && self.dist[i] == UNREACHED {
                    self.dist[i] = next;
                    self.queue.push(i as u32);
                }
            };
            if r > 0 {
                visit(cell - cols);
            }
            if r + 1 < rows {
                visit(cell + cols);
            }
            if c > 0 {
                visit(cell - 1);
            }
            if c + 1 < cols {
                visit(cell + 1);
            }
        }
        &self.dist
    }

    /// A shortest path from `start` to `goal` as cell indices, both ends included, or
    /// `None` if `goal` cannot be reached. Among equally short paths the result is fixed:
    /// walking back from the goal, the first neighbour (up, down, left, right) one step
    /// closer to the start is taken.
    pub fn shortest_path(
        &mut self,
        passable: &[bool],
        rows: usize,
        cols: usize,
        start: usize,
        goal: usize,
    ) -> Option<Vec<usize>> {
        self.distances(passable, rows, cols, start, Some(goal));
        let length = self.dist[goal];
        if length == UNREACHED {
            return None;
        }
        let mut path = vec![goal];
        let mut cell = goal;
        for d in (0..length).rev() {
            cell = neighbours(cell, rows, cols)
                .find(|&i| self.dist[i] == d)
                .expect("BFS distances are consistent");
            path.push(cell);
        }
        path.reverse();
        Some(path)
    }

    /// Of all shortest paths from `start` to `goal`, the one whose cells cost least in sum
    /// (`cost` per cell; the ends count too), as cell indices with both ends included, or
    /// `None` if `goal` cannot be reached. Ties go to the path [`MazeSolver::shortest_path`]
    /// would prefer at the first cell where they part, walking back from the goal. One pass of
    /// dynamic programming over the cells in order of distance from the start.
    pub fn cheapest_shortest_path(
        &mut self,
        passable: &[bool],
        rows: usize,
        cols: usize,
        start: usize,
        goal: usize,
        cost: &[f64],
    ) -> Option<Vec<usize>> {
        assert_eq!(cost.len(), rows * cols, "cost map must have rows * cols cells");
        self.distances(passable, rows, cols, start, None);
        if self.dist[goal] == UNREACHED {
            return None;
        }
        // The BFS queue lists the reached cells in order of distance from the start.
        let mut best = vec![f64::INFINITY; rows * cols];
        for &cell in &self.queue {
            let cell = cell as usize;
            let d = self.dist[cell];
            let before = if d == 0 {
                0.0
            } else {
                neighbours(cell, rows, cols)
                    .filter(|&i| self.dist[i] == d - 1)
                    .map(|i| best[i])
                    .fold(f64::INFINITY, f64::min)
            };
            best[cell] = before + cost[cell];
        }
        let mut path = vec![goal];
        let mut cell = goal;
        for d in (0..self.dist[goal]).rev() {
            let mut pick = None;
            for i in neighbours(cell, rows, cols).filter(|&i| self.dist[i] == d) {
                if pick.is_none_or(|p: usize| best[i] < best[p]) {
                    pick = Some(i);
                }
            }
            cell = pick.expect("BFS distances are consistent");
            path.push(cell);
        }
        path.reverse();
        Some(path)
    }
}

/// The in-grid neighbours of `cell`: up, down, left, right.
fn neighbours(cell: usize, rows: usize, cols: usize) -> impl Iterator<Item = usize> {
    let (r, c) = (cell / cols, cell % cols);
    [
        (r > 0).then(|| cell - cols),
        (r + 1 < rows).then(|| cell + cols),
        (c > 0).then(|| cell - 1),
        (c + 1 < cols).then(|| cell + 1),
    ]
    .into_iter()
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_goes_around_walls() {
        // S . #
        // # . #
        // G . .
        let passable = [true, true, false, false, true, false, true, true, true];
        let mut solver = MazeSolver::new();
        assert_eq!(solver.shortest_path(&passable, 3, 3, 0, 6), Some(vec![0, 1, 4, 7, 6]));
        assert_eq!(solver.shortest_path(&passable, 3, 3, 0, 0), Some(vec![0]));
        let blocked = [true, false, true];
        assert_eq!(solver.shortest_path(&blocked, 1, 3, 0, 2), None);
    }

    #[test]
    fn cheapest_shortest_path_follows_the_costs() {
        // S . .
        // . # .
        // . . G   two shortest paths: along the top and right, or the left and bottom.
        let passable = [true, true, true, true, false, true, true, true, true];
        let mut solver = MazeSolver::new();
        let flat = [0.0; 9];
        let preferred = solver.shortest_path(&passable, 3, 3, 0, 8).unwrap();
        assert_eq!(solver.cheapest_shortest_path(&passable, 3, 3, 0, 8, &flat), Some(preferred));
        let mut cost = [0.0; 9];
        cost[1] = 1.0; // the top route costs more
        assert_eq!(
            solver.cheapest_shortest_path(&passable, 3, 3, 0, 8, &cost),
            Some(vec![0, 3, 6, 7, 8])
        );
        cost[1] = -1.0;
        assert_eq!(
            solver.cheapest_shortest_path(&passable, 3, 3, 0, 8, &cost),
            Some(vec![0, 1, 2, 5, 8])
        );
        // A cheap detour is never taken: only shortest paths are candidates.
        let mut detour = [0.0; 9];
        detour[4] = -100.0;
        let open = [true; 9];
        let path = solver.cheapest_shortest_path(&open, 3, 3, 0, 2, &detour).unwrap();
        assert_eq!(path, vec![0, 1, 2]);
        assert_eq!(
            solver.cheapest_shortest_path(&[true, false, true], 1, 3, 0, 2, &[0.0; 3]),
            None
        );
    }

    #[test]
    fn distances_without_goal_cover_the_component() {
        let passable = [true, true, false, true];
        let mut solver = MazeSolver::new();
        assert_eq!(solver.distances(&passable, 2, 2, 0, None), &[0, 1, UNREACHED, 2]);
    }
}
