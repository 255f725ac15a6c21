//! Maze generator, CSV, solver and dataset layout, exercised through the public API.

use std::collections::HashSet;

use trm_data::dataset::Dataset;
use trm_data::dihedral::Dihedral;
use trm_data::maze::build::{build_maze_dataset, decode_example};
use trm_data::maze::csv::{read_csv, write_csv};
use trm_data::maze::generate::{generate, generate_splits, maze_wall_key, GeneratorConfig};
use trm_data::maze::{Cell, Maze, MazePair};

fn config(size: usize, min_path: usize) -> GeneratorConfig {
    let mut c = GeneratorConfig::new(size, size);
    c.min_path = min_path;
    c
}

#[test]
fn generator_keeps_only_long_shortest_paths() {
    let loose = generate(&config(9, 9), 200, 7, 0, 2, &mut HashSet::new()).unwrap().0;
    let hard = generate(&config(9, 26), 200, 7, 0, 2, &mut HashSet::new()).unwrap().0;
    for (pairs, min) in [(&loose, 9), (&hard, 26)] {
        for pair in pairs.iter() {
            // The drawn path is a BFS shortest path of the question, and it passes the filter.
            let len = pair.question.check_answer(&pair.answer).unwrap();
            assert_eq!(len, pair.path_len());
            assert!(len >= min, "path of {len} cells under the filter {min}");
            let walls = pair.question.cells().iter().filter(|&&c| c == Cell::Wall).count();
            assert!((25..=40).contains(&walls), "{walls} walls outside 30%-50% of 81 (25..=40)");
        }
    }
    // The filter bites: without it many mazes are shorter than 26 cells.
    assert!(loose.iter().filter(|p| p.path_len() < 26).count() > 100);
    assert!(hard.iter().map(|p| p.path_len()).min().unwrap() >= 26);
}

#[test]
fn generator_is_seeded_thread_independent_and_splits_share_no_layout() {
    let cfg = config(8, 20);
    let a = generate_splits(&cfg, 60, 40, 3, 1, &mut HashSet::new()).unwrap();
    let b = generate_splits(&cfg, 60, 40, 3, 2, &mut HashSet::new()).unwrap();
    assert_eq!((a.train.len(), a.test.len()), (60, 40));
    assert!(a.train == b.train && a.test == b.test, "thread count changed the mazes");
    let c = generate_splits(&cfg, 60, 40, 4, 2, &mut HashSet::new()).unwrap();
    assert_ne!(a.train, c.train, "the seed must matter");
    let train: HashSet<Vec<u64>> = a.train.iter().map(|p| maze_wall_key(&p.question)).collect();
    let test: HashSet<Vec<u64>> = a.test.iter().map(|p| maze_wall_key(&p.question)).collect();
    assert_eq!(train.len(), 60, "layouts repeat within train");
    assert_eq!(test.len(), 40, "layouts repeat within test");
    assert!(train.is_disjoint(&test));
    // An excluded layout is never produced.
    let mut used: HashSet<Vec<u64>> = HashSet::from([maze_wall_key(&a.train[0].question)]);
    let again = generate(&cfg, 60, 3, 0, 2, &mut used).unwrap().0;
    assert!(!again.contains(&a.train[0]));
    assert_eq!(again[..5], a.train[1..6]);
}

#[test]
fn impossible_filter_is_an_error() {
    let err = generate(&config(5, 30), 1, 0, 0, 1, &mut HashSet::new()).unwrap_err().to_string();
    assert!(err.contains("lower --min-path"), "{err}");
    let mut cfg = config(6, 23);
    cfg.max_layouts = 2000;
    let err = generate(&cfg, 5, 0, 0, 1, &mut HashSet::new()).unwrap_err().to_string();
    assert!(err.contains("after 2000 wall layouts"), "{err}");
}

#[test]
fn csv_round_trip_keeps_every_cell() {
    let pairs = generate(&config(10, 30), 15, 1, 0, 1, &mut HashSet::new()).unwrap().0;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train.csv");
    write_csv(&path, &pairs, "trm, \"seeded\"").unwrap();
    assert_eq!(read_csv(&path).unwrap(), pairs);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("source,question,answer,rating\n\"trm, \"\"seeded\"\"\","));
    // A row whose answer is not a shortest path names its line.
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[3] = lines[3].replacen('o', " ", 1);
    std::fs::write(&path, lines.join("\n")).unwrap();
    let err = format!("{:#}", read_csv(&path).unwrap_err());
    assert!(
        err.contains("train.csv")
            && err.contains("line 4")
            && err.contains("not one shortest path"),
        "{err}"
    );
}

#[test]
fn transformed_answers_stay_shortest_paths_on_non_square_mazes() {
    let question = Maze::parse_lines("S   #\n ## #\n   #G\n#    \n").unwrap();
    let pair = MazePair::solve(question).unwrap();
    for t in Dihedral::ALL {
        let p = pair.transformed(t);
        assert_eq!((p.question.rows(), p.question.cols()), t.output_shape(4, 5));
        assert_eq!(p.question.check_answer(&p.answer).unwrap(), pair.path_len());
        assert_eq!(p.transformed(t.inverse()), pair);
    }
}

#[test]
fn dataset_layout_matches_the_official_builder() {
    let pairs = generate(&config(6, 14), 5, 2, 0, 1, &mut HashSet::new()).unwrap().0;
    let (train, test) = pairs.split_at(3);
    let dataset = build_maze_dataset(Some(train), Some(test), true).unwrap();
    let tr = dataset.train.as_ref().unwrap();
    let te = dataset.test.as_ref().unwrap();
    assert_eq!(dataset.identifiers, vec!["<blank>"]);
    assert_eq!((tr.num_groups(), tr.num_puzzles(), tr.num_examples()), (3, 24, 24));
    assert_eq!((te.num_groups(), te.num_puzzles(), te.num_examples()), (2, 2, 2));
    assert_eq!(tr.group_indices, vec![0, 8, 16, 24]);
    assert!(tr.puzzle_identifiers.iter().all(|&i| i == 0));
    let m = &tr.meta;
    assert_eq!(
        (m.vocab_size, m.seq_len, m.num_puzzle_identifiers, m.pad_id, m.ignore_label_id),
        (6, 36, 1, 0, Some(0))
    );
    assert_eq!((m.total_groups, m.total_puzzles, m.mean_puzzle_examples), (3, 3, 1.0));
    // Generated labels are the solver's, so every copy is solved again.
    for (g, pair) in train.iter().enumerate() {
        for (k, t) in Dihedral::ALL.iter().enumerate() {
            let (input, label) = tr.example(g * 8 + k);
            assert_eq!(
                decode_example(input, label, 6, 6).unwrap(),
                MazePair::solve(pair.question.transformed(*t)).unwrap()
            );
        }
    }
    let dir = tempfile::tempdir().unwrap();
    dataset.write(&dir.path().join("maze")).unwrap();
    assert_eq!(Dataset::load(&dir.path().join("maze")).unwrap(), dataset);
    // Augmenting non-square mazes would mix shapes.
    let wide = vec![MazePair::solve(Maze::parse_lines("S  G\n").unwrap()).unwrap()];
    assert!(build_maze_dataset(Some(&wide), None, true)
        .unwrap_err()
        .to_string()
        .contains("square"));
}

/// Among the shortest paths of an open maze the solver picks one; a dihedral copy of that
/// pick is usually not the pick in the new orientation. Copies of solver labels are solved
/// again (one rule for every copy); labels from elsewhere are transformed with the maze.
#[test]
fn augmented_labels_follow_the_solver_rule_when_they_came_from_it() {
    let question = Maze::parse_lines("S  \n   \n  G\n").unwrap();
    let solved = MazePair::solve(question.clone()).unwrap();
    let changed = Dihedral::ALL
        .iter()
        .filter(|&&t| MazePair::solve(question.transformed(t)).unwrap() != solved.transformed(t))
        .count();
    assert!(changed > 0, "the fixture needs a maze whose tie-break changes under some transform");
    let from_solver = build_maze_dataset(Some(std::slice::from_ref(&solved)), None, true).unwrap();
    let train = from_solver.train.as_ref().unwrap();
    for (k, t) in Dihedral::ALL.iter().enumerate() {
        let (input, label) = train.example(k);
        assert_eq!(
            decode_example(input, label, 3, 3).unwrap(),
            MazePair::solve(question.transformed(*t)).unwrap()
        );
    }
    // Another shortest path than the solver's pick (down the left side, then along the bottom).
    let foreign = MazePair {
        question: question.clone(),
        answer: Maze::parse_lines("S  \no  \nooG\n").unwrap(),
    };
    assert_ne!(foreign, solved);
    assert!(question.check_answer(&foreign.answer).is_ok(), "the foreign label is a shortest path");
    let from_elsewhere =
        build_maze_dataset(Some(std::slice::from_ref(&foreign)), None, true).unwrap();
    let train = from_elsewhere.train.as_ref().unwrap();
    for (k, t) in Dihedral::ALL.iter().enumerate() {
        let (input, label) = train.example(k);
        assert_eq!(decode_example(input, label, 3, 3).unwrap(), foreign.transformed(*t));
    }
}
