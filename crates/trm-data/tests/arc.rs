//! ARC reading, encoding, augmentation, dataset building and evaluation, on the ARC-AGI-1
//! evaluation tasks copied into `tests/fixtures/arc-agi-1-evaluation` (Apache-2.0).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use trm_data::arc::build::{build_arc_dataset, ArcBuildConfig, TEST_PUZZLES_FILE};
use trm_data::arc::encode::{crop, encode_grid, EOS, PAD, SEQ_LEN};
use trm_data::arc::evaluate::{ArcEvaluator, PASS_KS};
use trm_data::arc::read::read_test_puzzles;
use trm_data::arc::{read_tasks, Augmentation, Grid, Pair, Subset, Task};
use trm_data::dataset::Dataset;
use trm_data::dihedral::Dihedral;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/arc-agi-1-evaluation")
}

fn grid(rows: &[&[u8]]) -> Grid {
    Grid::from_rows(&rows.iter().map(|r| r.to_vec()).collect::<Vec<_>>()).unwrap()
}

#[test]
fn reads_every_arc_agi_1_evaluation_task() {
    let tasks = read_tasks(&fixture()).unwrap();
    assert_eq!(tasks.len(), 400);
    assert_eq!(tasks.iter().map(|t| t.train.len()).sum::<usize>(), 1363);
    assert_eq!(tasks.iter().map(|t| t.test.len()).sum::<usize>(), 419);
    assert!(tasks.iter().all(|t| t.solutions_known));
    assert_eq!(tasks[0].id, "00576224");
}

#[test]
fn eos_encoding_and_crop_round_trip_on_every_grid() {
    let tasks = read_tasks(&fixture()).unwrap();
    let mut grids = 0;
    for task in &tasks {
        for pair in task.pairs() {
            for g in [&pair.input, &pair.output] {
                let tokens = encode_grid(g, 0, 0);
                assert_eq!(tokens.len(), SEQ_LEN);
                assert_eq!(&crop(&tokens), g, "task {}", task.id);
                let (h, w) = (g.rows(), g.cols());
                let eos = tokens.iter().filter(|&&t| t == EOS).count();
                assert_eq!(eos, if h < 30 { w } else { 0 } + if w < 30 { h } else { 0 }, "task {}", task.id);
                assert_eq!(tokens.iter().filter(|&&t| t >= 2).count(), h * w);
                if h < 30 && w < 30 {
                    assert_eq!(tokens[h * 30 + w], PAD, "the corner below-right stays PAD");
                }
                grids += 1;
            }
        }
    }
    assert_eq!(grids, 2 * (1363 + 419));
}

#[test]
fn augmentations_invert_on_every_grid() {
    let tasks = read_tasks(&fixture()).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    for task in &tasks {
        let aug = Augmentation::random(&mut rng);
        let name = aug.name(&task.id);
        let (orig, parsed) = Augmentation::parse_name(&name).unwrap();
        assert_eq!(orig, task.id);
        for pair in task.pairs() {
            let a = parsed.apply(&pair.input);
            assert_eq!((a.rows(), a.cols()), aug.dihedral.output_shape(pair.input.rows(), pair.input.cols()));
            // Through the canvas and back, as the evaluator sees it.
            assert_eq!(parsed.invert(&crop(&encode_grid(&a, 0, 0))), pair.input);
        }
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn bad_task_files_name_the_file_and_the_pair() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "ragged.json",
            r#"{"train":[{"input":[[1,2],[3]],"output":[[1]]}],"test":[{"input":[[1]],"output":[[1]]}]}"#,
            "train pair 1: input: row 2 has 1 cells but row 1 has 2",
        ),
        (
            "colour.json",
            r#"{"train":[{"input":[[1]],"output":[[1]]}],"test":[{"input":[[1]],"output":[[0,10]]}]}"#,
            "test pair 1: output: row 1, column 2: 10 is not a colour 0-9",
        ),
        (
            "negative.json",
            r#"{"train":[{"input":[[-1]],"output":[[1]]}],"test":[{"input":[[1]]}]}"#,
            "train pair 1: input: row 1, column 1: -1 is not a colour",
        ),
        (
            "big.json",
            &format!(
                r#"{{"train":[{{"input":[[1]],"output":[[1]]}},{{"input":{},"output":[[1]]}}],"test":[{{"input":[[1]]}}]}}"#,
                serde_json::to_string(&vec![vec![0u8; 3]; 31]).unwrap()
            ),
            "train pair 2: input: grid is 31x3; ARC grids are 1x1 to 30x30",
        ),
        ("notest.json", r#"{"train":[{"input":[[1]],"output":[[1]]}]}"#, "missing \"test\""),
        (
            "nooutput.json",
            r#"{"train":[{"input":[[1]]}],"test":[{"input":[[1]]}]}"#,
            "train pair 1: missing \"output\"",
        ),
    ];
    for (name, text, expected) in cases {
        let path = write(dir.path(), name, text);
        let err = format!("{:#}", read_tasks(&path).unwrap_err());
        assert!(err.contains(name) && err.contains(expected), "{name}: {err}");
        let stem = name.trim_end_matches(".json");
        assert!(err.contains(&format!("task {stem}")), "{err}");
    }
}

#[test]
fn kaggle_files_match_the_per_task_files() {
    let tasks: Vec<Task> = read_tasks(&fixture()).unwrap().into_iter().take(12).collect();
    let dir = tempfile::tempdir().unwrap();
    let challenges: BTreeMap<&str, serde_json::Value> = tasks
        .iter()
        .map(|t| {
            let test: Vec<_> = t.test.iter().map(|p| serde_json::json!({"input": p.input})).collect();
            (t.id.as_str(), serde_json::json!({"train": t.train, "test": test}))
        })
        .collect();
    let solutions: BTreeMap<&str, Vec<&Grid>> =
        tasks.iter().map(|t| (t.id.as_str(), t.test.iter().map(|p| &p.output).collect())).collect();
    let path = write(dir.path(), "arc-agi_evaluation_challenges.json", &serde_json::to_string(&challenges).unwrap());
    assert_eq!(Subset::read(path.to_str().unwrap()).unwrap().name, "evaluation");
    // Without a solutions file: the official dummy outputs.
    let hidden = read_tasks(&path).unwrap();
    assert_eq!(hidden.len(), tasks.len());
    assert!(hidden.iter().all(|t| !t.solutions_known && t.test.iter().all(|p| p.output == grid(&[&[0]]))));
    // With the solutions file: identical to the per-task files.
    write(dir.path(), "arc-agi_evaluation_solutions.json", &serde_json::to_string(&solutions).unwrap());
    let with = read_tasks(&path).unwrap();
    assert_eq!(with, tasks);
    assert!(with.iter().all(|t| t.solutions_known));
    // Names: NAME=PATH, directory name.
    let named = Subset::read(&format!("eval1={}", path.display())).unwrap();
    assert_eq!((named.name.as_str(), named.tasks.len()), ("eval1", 12));
    assert_eq!(Subset::read(fixture().to_str().unwrap()).unwrap().name, "arc-agi-1-evaluation");
}

/// Three small fixture tasks as a "training" subset, two as "evaluation".
fn small_subsets() -> Vec<Subset> {
    let tasks = read_tasks(&fixture()).unwrap();
    vec![
        Subset { name: "training".into(), tasks: tasks[10..13].to_vec() },
        Subset { name: "evaluation".into(), tasks: tasks[20..22].to_vec() },
    ]
}

#[test]
fn arc_dataset_follows_the_official_layout() {
    let subsets = small_subsets();
    let config = ArcBuildConfig { test_sets: vec!["evaluation".into()], num_aug: 4, seed: 42 };
    let built = build_arc_dataset(&subsets, &config).unwrap();
    let again = build_arc_dataset(&subsets, &config).unwrap();
    assert_eq!(built.dataset, again.dataset, "same seed, same dataset");
    let other = build_arc_dataset(&subsets, &ArcBuildConfig { seed: 43, ..config.clone() }).unwrap();
    assert_ne!(built.dataset, other.dataset);

    let ds = &built.dataset;
    let (train, test) = (ds.train.as_ref().unwrap(), ds.test.as_ref().unwrap());
    // 5 groups of 1 + 4 puzzles in train (demos of all, test pairs of training tasks).
    assert_eq!((train.num_groups(), train.num_puzzles()), (5, 25));
    assert_eq!((test.num_groups(), test.num_puzzles()), (2, 10));
    assert_eq!(ds.identifiers.len(), 1 + 25);
    assert_eq!(ds.identifiers[0], "<blank>");
    let train_pairs: usize = subsets[0].tasks.iter().map(|t| t.train.len() + t.test.len()).sum::<usize>()
        + subsets[1].tasks.iter().map(|t| t.train.len()).sum::<usize>();
    assert_eq!(train.num_examples(), 5 * train_pairs);
    let test_pairs: usize = subsets[1].tasks.iter().map(|t| t.test.len()).sum();
    assert_eq!(test.num_examples(), 5 * test_pairs);
    let m = &train.meta;
    assert_eq!((m.vocab_size, m.seq_len, m.num_puzzle_identifiers, m.ignore_label_id), (12, 900, 26, Some(0)));
    assert_eq!(m.total_puzzles, 25);

    // Test examples sit at the corner and decode to the original test pairs.
    for g in 0..test.num_groups() {
        let task = &subsets[1].tasks[g];
        for p in test.group_puzzles(g) {
            let name = &ds.identifiers[test.puzzle_identifiers[p] as usize];
            let (orig, aug) = Augmentation::parse_name(name).unwrap();
            assert_eq!(orig, task.id);
            for (e, pair) in test.puzzle_examples(p).zip(&task.test) {
                let (input, label) = test.example(e);
                assert_eq!(aug.invert(&crop(input)), pair.input);
                assert_eq!(aug.invert(&crop(label)), pair.output);
            }
        }
        // The same names have the same identifiers in train.
        let train_ids: Vec<i32> = train.group_puzzles(3 + g).map(|p| train.puzzle_identifiers[p]).collect();
        let test_ids: Vec<i32> = test.group_puzzles(g).map(|p| test.puzzle_identifiers[p]).collect();
        assert_eq!(train_ids, test_ids);
    }
    // Training examples: exactly the grids, translated; one example per puzzle at the corner.
    let mut translated = 0;
    for p in 0..train.num_puzzles() {
        let at_corner = train.puzzle_examples(p).filter(|&e| train.example(e).0[0] != PAD).count();
        assert!(at_corner >= 1, "puzzle {p} has no example at the corner");
        translated += train.puzzle_examples(p).len() - at_corner;
    }
    assert!(translated > 0);
    // Puzzles of a group are distinct augmentations.
    for g in 0..train.num_groups() {
        let names: std::collections::HashSet<&String> =
            train.group_puzzles(g).map(|p| &ds.identifiers[train.puzzle_identifiers[p] as usize]).collect();
        assert_eq!(names.len(), 5);
    }

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("arc");
    built.write(&out).unwrap();
    assert_eq!(&Dataset::load(&out).unwrap(), ds);
    let puzzles = read_test_puzzles(&out.join(TEST_PUZZLES_FILE)).unwrap();
    assert_eq!(puzzles.keys().collect::<Vec<_>>(), subsets[1].tasks.iter().map(|t| &t.id).collect::<Vec<_>>());
    assert_eq!(puzzles[&subsets[1].tasks[0].id].test, subsets[1].tasks[0].test);
}

#[test]
fn unknown_test_set_is_an_error() {
    let config = ArcBuildConfig { test_sets: vec!["eval".into()], num_aug: 0, seed: 0 };
    let err = build_arc_dataset(&small_subsets(), &config).err().unwrap().to_string();
    assert!(err.contains("\"eval\"") && err.contains("training, evaluation"), "{err}");
}

/// Two test inputs in task "a" and one in task "b"; votes come through augmented puzzle names.
#[test]
fn voting_and_pass_at_k_on_a_constructed_example() {
    let x = grid(&[&[1, 2], &[3, 4]]);
    let y = grid(&[&[5]]);
    let z = grid(&[&[6, 6, 6]]);
    let (in1, in2, in3) = (grid(&[&[1]]), grid(&[&[2, 0]]), grid(&[&[3]]));
    let task = |test: Vec<Pair>| Task { id: String::new(), train: vec![], test, solutions_known: true };
    let puzzles = BTreeMap::from([
        (
            "a".to_string(),
            task(vec![Pair { input: in1.clone(), output: y.clone() }, Pair { input: in2.clone(), output: z.clone() }]),
        ),
        ("b".to_string(), task(vec![Pair { input: in3.clone(), output: x.clone() }])),
    ]);
    let aug = Augmentation { dihedral: Dihedral::new(1).unwrap(), colors: [0, 9, 8, 7, 6, 5, 4, 3, 2, 1] };
    let identifiers = vec!["<blank>".to_string(), "a".to_string(), aug.name("a"), "b".to_string()];
    let mut eval = ArcEvaluator::new(identifiers, puzzles);
    let mut vote = |id: u32, input: &Grid, pred: &Grid, conf: f64| {
        let (input, pred) = if id == 2 { (aug.apply(input), aug.apply(pred)) } else { (input.clone(), pred.clone()) };
        eval.add(id, &encode_grid(&input, 0, 0), &encode_grid(&pred, 0, 0), conf).unwrap();
    };
    // a / in1: x and y get 2 votes each; y has the higher mean confidence, so y ranks first.
    vote(1, &in1, &x, 0.9);
    vote(2, &in1, &x, 0.1);
    vote(2, &in1, &y, 0.6);
    vote(1, &in1, &y, 0.6);
    // a / in2: x has 2 votes, the target z only 1: solved at pass@2, not at pass@1.
    vote(1, &in2, &x, 0.2);
    vote(2, &in2, &x, 0.2);
    vote(1, &in2, &z, 0.99);
    // Padding rows are ignored.
    eval.add(0, &[0; 900], &[0; 900], 1.0).unwrap();
    // b / in3: no predictions at all.
    let ranked = eval.ranked("a", &in1);
    assert_eq!(ranked.iter().map(|c| (&c.grid, c.votes)).collect::<Vec<_>>(), vec![(&y, 2), (&x, 2)]);
    assert!((ranked[0].mean_confidence() - 0.6).abs() < 1e-12 && (ranked[1].mean_confidence() - 0.5).abs() < 1e-12);

    let scores = eval.evaluate(&PASS_KS, 2);
    // a: pass@1 = 1/2 (in1 only), pass@2 = 2/2; b: 0. Means over the 2 tasks.
    assert_eq!(scores.pass(1), Some(0.25));
    assert_eq!(scores.pass(2), Some(0.5));
    assert_eq!(scores.pass(1000), Some(0.5));
    assert_eq!(scores.per_task["a"], vec![0.5, 1.0, 1.0, 1.0, 1.0, 1.0]);
    assert_eq!((scores.tasks, scores.test_inputs, scores.inputs_without_predictions, scores.rows), (2, 3, 1, 7));
    let json = serde_json::to_value(&scores.submission).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "a": [{"attempt_1": [[5]], "attempt_2": [[1, 2], [3, 4]]}, {"attempt_1": [[1, 2], [3, 4]], "attempt_2": [[6, 6, 6]]}],
            "b": [{"attempt_1": [[0]], "attempt_2": [[0]]}]
        })
    );
    // Ties on votes and mean confidence keep the order of first appearance.
    let puzzles = BTreeMap::from([("b".to_string(), task(vec![Pair { input: in3.clone(), output: x.clone() }]))]);
    let mut eval = ArcEvaluator::new(vec!["<blank>".into(), "b".into()], puzzles);
    for g in [&z, &x] {
        eval.add(1, &encode_grid(&in3, 0, 0), &encode_grid(g, 0, 0), 0.5).unwrap();
    }
    let scores = eval.evaluate(&[1, 2], 1);
    assert_eq!(scores.pass_at, vec![(1, 0.0), (2, 1.0)]);
    assert_eq!(
        serde_json::to_value(&scores.submission).unwrap(),
        serde_json::json!({"b": [{"attempt_1": [[6, 6, 6]]}]})
    );
    let err = eval.add(7, &[0; 900], &[0; 900], 0.5).unwrap_err().to_string();
    assert!(err.contains("identifier 7"), "{err}");
}

#[test]
fn evaluator_scores_perfect_predictions_of_a_built_dataset() {
    let subsets = small_subsets();
    let config = ArcBuildConfig { test_sets: vec!["evaluation".into()], num_aug: 3, seed: 1 };
    let built = build_arc_dataset(&subsets, &config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("arc");
    built.write(&out).unwrap();
    let mut eval = ArcEvaluator::load(&out).unwrap();
    let test = built.dataset.test.as_ref().unwrap();
    for p in 0..test.num_puzzles() {
        for e in test.puzzle_examples(p) {
            let (input, label) = test.example(e);
            eval.add(test.puzzle_identifiers[p] as u32, input, label, 0.5).unwrap();
        }
    }
    let scores = eval.evaluate(&PASS_KS, 2);
    assert!(scores.pass_at.iter().all(|&(_, s)| s == 1.0), "{:?}", scores.pass_at);
    assert_eq!(scores.rows, test.num_examples());
    // Every augmented copy voted for the same de-augmented grid.
    let task = &subsets[1].tasks[0];
    assert_eq!(eval.ranked(&task.id, &task.test[0].input)[0].votes, 4);
}

/// ARC-AGI-2 and ConceptARC from `/work/shared/data` when that folder exists (skipped otherwise).
#[test]
fn reads_shared_arc_agi_2_and_concept_arc_when_present() {
    let root = Path::new("/work/shared/data");
    let sets = [
        ("arc-agi-2/training", 1000, 3232, 1076),
        ("arc-agi-2/evaluation", 120, 359, 167),
        ("conceptarc/corpus", 160, 427, 480),
    ];
    for (dir, tasks, train, test) in sets {
        let path = root.join(dir);
        if !path.is_dir() {
            eprintln!("skipping {}: not present", path.display());
            continue;
        }
        let read = read_tasks(&path).unwrap();
        let counts = (
            read.len(),
            read.iter().map(|t| t.train.len()).sum::<usize>(),
            read.iter().map(|t| t.test.len()).sum::<usize>(),
        );
        assert_eq!(counts, (tasks, train, test), "{dir}");
    }
}
