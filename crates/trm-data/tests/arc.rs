//! ARC reading, encoding, augmentation, dataset building and evaluation, on the ARC-AGI-1
//! evaluation tasks copied into `tests/fixtures/arc-agi-1-evaluation` (Apache-2.0).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use trm_data::arc::build::{build_arc_dataset, ArcBuildConfig, TEST_PUZZLES_FILE};
use trm_data::arc::encode::{Canvas, EOS, PAD};
use trm_data::arc::evaluate::{ArcEvaluator, PASS_KS};
use trm_data::arc::read::{read_task, read_test_puzzles};
use trm_data::arc::{read_tasks, Augmentation, Grid, Pair, Subset, Task};
use trm_data::dataset::Dataset;
use trm_data::dihedral::Dihedral;

const OFFICIAL: Canvas = Canvas::OFFICIAL;

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
                let tokens = OFFICIAL.encode(g, 0, 0);
                assert_eq!(tokens.len(), 900);
                assert_eq!(&OFFICIAL.crop(&tokens), g, "task {}", task.id);
                let (h, w) = (g.rows(), g.cols());
                let eos = tokens.iter().filter(|&&t| t == EOS).count();
                assert_eq!(
                    eos,
                    if h < 30 { w } else { 0 } + if w < 30 { h } else { 0 },
                    "task {}",
                    task.id
                );
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
            assert_eq!(
                (a.rows(), a.cols()),
                aug.dihedral.output_shape(pair.input.rows(), pair.input.cols())
            );
            // Through the canvas and back, as the evaluator sees it.
            assert_eq!(parsed.invert(&OFFICIAL.crop(&OFFICIAL.encode(&a, 0, 0))), pair.input);
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
            let test: Vec<_> =
                t.test.iter().map(|p| serde_json::json!({"input": p.input})).collect();
            (t.id.as_str(), serde_json::json!({"train": t.train, "test": test}))
        })
        .collect();
    let solutions: BTreeMap<&str, Vec<&Grid>> =
        tasks.iter().map(|t| (t.id.as_str(), t.test.iter().map(|p| &p.output).collect())).collect();
    let path = write(
        dir.path(),
        "arc-agi_evaluation_challenges.json",
        &serde_json::to_string(&challenges).unwrap(),
    );
    assert_eq!(Subset::read(path.to_str().unwrap()).unwrap().name, "evaluation");
    // Without a solutions file: the official dummy outputs.
    let hidden = read_tasks(&path).unwrap();
    assert_eq!(hidden.len(), tasks.len());
    assert!(hidden
        .iter()
        .all(|t| !t.solutions_known && t.test.iter().all(|p| p.output == grid(&[&[0]]))));
    // With the solutions file: identical to the per-task files.
    write(
        dir.path(),
        "arc-agi_evaluation_solutions.json",
        &serde_json::to_string(&solutions).unwrap(),
    );
    let with = read_tasks(&path).unwrap();
    assert_eq!(with, tasks);
    assert!(with.iter().all(|t| t.solutions_known));
    // One task of the file, by id; the only task of a single-task file needs none.
    assert_eq!(read_task(&path, Some(&tasks[3].id)).unwrap(), tasks[3]);
    let e = read_task(&path, None).unwrap_err().to_string();
    assert!(
        e.ends_with("arc-agi_evaluation_challenges.json: holds 12 tasks; pick one with --task-id"),
        "{e}"
    );
    let e = read_task(&path, Some("nope")).unwrap_err().to_string();
    assert!(e.ends_with("challenges.json: no task \"nope\" among its 12 tasks"), "{e}");
    let single = fixture().join(format!("{}.json", tasks[0].id));
    assert_eq!(read_task(&single, None).unwrap(), tasks[0]);
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
    let config = ArcBuildConfig {
        test_sets: vec!["evaluation".into()],
        num_aug: 4,
        seed: 42,
        canvas: OFFICIAL,
    };
    let built = build_arc_dataset(&subsets, &config).unwrap();
    let again = build_arc_dataset(&subsets, &config).unwrap();
    assert_eq!(built.dataset, again.dataset, "same seed, same dataset");
    let other =
        build_arc_dataset(&subsets, &ArcBuildConfig { seed: 43, ..config.clone() }).unwrap();
    assert_ne!(built.dataset, other.dataset);

    let ds = &built.dataset;
    let (train, test) = (ds.train.as_ref().unwrap(), ds.test.as_ref().unwrap());
    // 5 groups of 1 + 4 puzzles in train (demos of all, test pairs of training tasks).
    assert_eq!((train.num_groups(), train.num_puzzles()), (5, 25));
    assert_eq!((test.num_groups(), test.num_puzzles()), (2, 10));
    assert_eq!(ds.identifiers.len(), 1 + 25);
    assert_eq!(ds.identifiers[0], "<blank>");
    let train_pairs: usize =
        subsets[0].tasks.iter().map(|t| t.train.len() + t.test.len()).sum::<usize>()
            + subsets[1].tasks.iter().map(|t| t.train.len()).sum::<usize>();
    assert_eq!(train.num_examples(), 5 * train_pairs);
    let test_pairs: usize = subsets[1].tasks.iter().map(|t| t.test.len()).sum();
    assert_eq!(test.num_examples(), 5 * test_pairs);
    let m = &train.meta;
    assert_eq!(
        (m.vocab_size, m.seq_len, m.num_puzzle_identifiers, m.ignore_label_id),
        (12, 900, 26, Some(0))
    );
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
                assert_eq!(aug.invert(&OFFICIAL.crop(input)), pair.input);
                assert_eq!(aug.invert(&OFFICIAL.crop(label)), pair.output);
            }
        }
        // The same names have the same identifiers in train.
        let train_ids: Vec<i32> =
            train.group_puzzles(3 + g).map(|p| train.puzzle_identifiers[p]).collect();
        let test_ids: Vec<i32> =
            test.group_puzzles(g).map(|p| test.puzzle_identifiers[p]).collect();
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
        let names: std::collections::HashSet<&String> = train
            .group_puzzles(g)
            .map(|p| &ds.identifiers[train.puzzle_identifiers[p] as usize])
            .collect();
        assert_eq!(names.len(), 5);
    }

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("arc");
    built.write(&out).unwrap();
    assert_eq!(&Dataset::load(&out).unwrap(), ds);
    let puzzles = read_test_puzzles(&out.join(TEST_PUZZLES_FILE)).unwrap();
    assert_eq!(
        puzzles.keys().collect::<Vec<_>>(),
        subsets[1].tasks.iter().map(|t| &t.id).collect::<Vec<_>>()
    );
    assert_eq!(puzzles[&subsets[1].tasks[0].id].test, subsets[1].tasks[0].test);
}

#[test]
fn unknown_test_set_is_an_error() {
    let config =
        ArcBuildConfig { test_sets: vec!["eval".into()], num_aug: 0, seed: 0, canvas: OFFICIAL };
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
    let task =
        |test: Vec<Pair>| Task { id: String::new(), train: vec![], test, solutions_known: true };
    let puzzles = BTreeMap::from([
        (
            "a".to_string(),
            task(vec![
                Pair { input: in1.clone(), output: y.clone() },
                Pair { input: in2.clone(), output: z.clone() },
            ]),
        ),
        ("b".to_string(), task(vec![Pair { input: in3.clone(), output: x.clone() }])),
    ]);
    let aug = Augmentation {
        dihedral: Dihedral::new(1).unwrap(),
        colors: [0, 9, 8, 7, 6, 5, 4, 3, 2, 1],
    };
    let identifiers = vec!["<blank>".to_string(), "a".to_string(), aug.name("a"), "b".to_string()];
    let mut eval = ArcEvaluator::new(identifiers, puzzles, OFFICIAL);
    let mut vote = |id: u32, input: &Grid, pred: &Grid, conf: f64| {
        let (input, pred) = if id == 2 {
            (aug.apply(input), aug.apply(pred))
        } else {
            (input.clone(), pred.clone())
        };
        eval.add(id, &OFFICIAL.encode(&input, 0, 0), &OFFICIAL.encode(&pred, 0, 0), conf).unwrap();
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
    assert_eq!(
        ranked.iter().map(|c| (&c.grid, c.votes)).collect::<Vec<_>>(),
        vec![(&y, 2), (&x, 2)]
    );
    assert!(
        (ranked[0].mean_confidence() - 0.6).abs() < 1e-12
            && (ranked[1].mean_confidence() - 0.5).abs() < 1e-12
    );

    let scores = eval.evaluate(&PASS_KS, 2);
    // a: pass@1 = 1/2 (in1 only), pass@2 = 2/2; b: 0. Means over the 2 tasks.
    assert_eq!(scores.pass(1), Some(0.25));
    assert_eq!(scores.pass(2), Some(0.5));
    assert_eq!(scores.pass(1000), Some(0.5));
    assert_eq!(scores.per_task["a"], vec![0.5, 1.0, 1.0, 1.0, 1.0, 1.0]);
    assert_eq!(
        (scores.tasks, scores.test_inputs, scores.inputs_without_predictions, scores.rows),
        (2, 3, 1, 7)
    );
    let json = serde_json::to_value(&scores.submission).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "a": [{"attempt_1": [[5]], "attempt_2": [[1, 2], [3, 4]]}, {"attempt_1": [[1, 2], [3, 4]], "attempt_2": [[6, 6, 6]]}],
            "b": [{"attempt_1": [[0]], "attempt_2": [[0]]}]
        })
    );
    // Ties on votes and mean confidence keep the order of first appearance.
    let puzzles = BTreeMap::from([(
        "b".to_string(),
        task(vec![Pair { input: in3.clone(), output: x.clone() }]),
    )]);
    let mut eval = ArcEvaluator::new(vec!["<blank>".into(), "b".into()], puzzles, OFFICIAL);
    for g in [&z, &x] {
        eval.add(1, &OFFICIAL.encode(&in3, 0, 0), &OFFICIAL.encode(g, 0, 0), 0.5).unwrap();
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
    let config = ArcBuildConfig {
        test_sets: vec!["evaluation".into()],
        num_aug: 3,
        seed: 1,
        canvas: OFFICIAL,
    };
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

/// A 3x3 grid on 4x4 and 5x5 canvases: colours, the EOS row and column, PAD elsewhere, and
/// the crop back; on a 3x3 canvas it fills everything, without EOS (as 30x30 grids do).
#[test]
fn small_grid_round_trips_on_small_canvases() {
    let g = grid(&[&[1, 2, 3], &[4, 5, 6], &[7, 8, 9]]);
    let four = Canvas::new(4).unwrap();
    let t = four.encode(&g, 0, 0);
    #[rustfmt::skip]
    assert_eq!(t, [
        3, 4, 5, EOS,
        6, 7, 8, EOS,
        9, 10, 11, EOS,
        EOS, EOS, EOS, PAD,
    ]);
    assert_eq!(four.crop(&t), g);
    let five = Canvas::new(5).unwrap();
    let t = five.encode(&g, 0, 0);
    #[rustfmt::skip]
    assert_eq!(t, [
        3, 4, 5, EOS, PAD,
        6, 7, 8, EOS, PAD,
        9, 10, 11, EOS, PAD,
        EOS, EOS, EOS, PAD, PAD,
        PAD, PAD, PAD, PAD, PAD,
    ]);
    assert_eq!(five.crop(&t), g);
    // Translated to the far corner of the 4x4 canvas: no room left for the EOS border.
    assert_eq!(four.max_offset(&g, &grid(&[&[1]])), (1, 1));
    let t = four.encode(&g, 1, 1);
    assert_eq!((t[..4].to_vec(), t[4..8].to_vec()), (vec![PAD; 4], vec![PAD, 3, 4, 5]));
    assert!(!t.contains(&EOS));
    let three = Canvas::new(3).unwrap();
    assert_eq!(three.encode(&g, 0, 0), (3..12).collect::<Vec<u8>>());
    assert_eq!(three.crop(&three.encode(&g, 0, 0)), g);
    // Smaller grids keep their border on the smallest canvas too.
    let two = grid(&[&[0, 9]]);
    assert_eq!(three.encode(&two, 0, 0), [2, 11, EOS, EOS, EOS, PAD, PAD, PAD, PAD]);
    assert_eq!(three.crop(&three.encode(&two, 0, 0)), two);
}

/// The default build settings are the official 30x30 canvas, and `Canvas::new(30)` is it.
#[test]
fn default_canvas_is_the_official_one() {
    assert_eq!(ArcBuildConfig::default().canvas, OFFICIAL);
    assert_eq!(Canvas::new(30).unwrap(), OFFICIAL);
    let config = ArcBuildConfig {
        test_sets: vec!["evaluation".into()],
        num_aug: 2,
        seed: 7,
        ..Default::default()
    };
    let built = build_arc_dataset(&small_subsets(), &config).unwrap();
    let explicit = ArcBuildConfig { canvas: Canvas::new(30).unwrap(), ..config };
    assert_eq!(build_arc_dataset(&small_subsets(), &explicit).unwrap().dataset, built.dataset);
    assert_eq!(built.dataset.test.as_ref().unwrap().meta.seq_len, 900);
}

/// Two tasks with grids up to 3x3 as the test set.
fn tiny_tasks() -> Vec<Task> {
    let pair = |a: &[&[u8]], b: &[&[u8]]| Pair { input: grid(a), output: grid(b) };
    let t3 = Task {
        id: "t3".into(),
        train: vec![
            pair(&[&[1, 2, 3], &[4, 5, 6], &[7, 8, 0]], &[&[1, 4, 7], &[2, 5, 8], &[3, 6, 0]]),
            pair(&[&[1, 2], &[3, 4]], &[&[1, 3], &[2, 4]]),
        ],
        test: vec![pair(
            &[&[5, 6, 7], &[0, 1, 2], &[3, 4, 8]],
            &[&[5, 0, 3], &[6, 1, 4], &[7, 2, 8]],
        )],
        solutions_known: true,
    };
    let t2 = Task {
        id: "t2".into(),
        train: vec![pair(&[&[1, 2], &[3, 4]], &[&[4, 6]]), pair(&[&[5, 0], &[6, 1]], &[&[1, 1]])],
        test: vec![pair(&[&[2, 2], &[3, 3]], &[&[5, 5]])],
        solutions_known: true,
    };
    vec![t3, t2]
}

/// A dataset on a 4x4 canvas: seq_len 16, test rows at the corner decode to the tasks,
/// training rows translated within the canvas, and the evaluator reads the canvas back.
#[test]
fn dataset_on_a_small_canvas() {
    let four = Canvas::new(4).unwrap();
    let subsets = [Subset { name: "evaluation".into(), tasks: tiny_tasks() }];
    let config =
        ArcBuildConfig { test_sets: vec!["evaluation".into()], num_aug: 3, seed: 5, canvas: four };
    let built = build_arc_dataset(&subsets, &config).unwrap();
    let (train, test) =
        (built.dataset.train.as_ref().unwrap(), built.dataset.test.as_ref().unwrap());
    assert_eq!((train.meta.seq_len, test.meta.seq_len), (16, 16));
    for p in 0..test.num_puzzles() {
        let (orig, aug) = Augmentation::parse_name(
            &built.dataset.identifiers[test.puzzle_identifiers[p] as usize],
        )
        .unwrap();
        let task = subsets[0].tasks.iter().find(|t| t.id == orig).unwrap();
        for (e, pair) in test.puzzle_examples(p).zip(&task.test) {
            let (input, label) = test.example(e);
            assert_eq!(input.len(), 16);
            assert_eq!(
                (aug.invert(&four.crop(input)), aug.invert(&four.crop(label))),
                (pair.input.clone(), pair.output.clone())
            );
        }
    }
    let mut translated = 0;
    for e in 0..train.num_examples() {
        let (input, label) = train.example(e);
        assert_eq!(input.len(), 16);
        let cells = |t: &[u8]| t.iter().filter(|&&x| x >= 2).count();
        assert!(cells(input) > 0 && cells(label) > 0, "example {e} lost its grid");
        translated += (input[0] == PAD) as usize;
    }
    assert!(translated > 0, "no training example was translated on the 4x4 canvas");

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("arc");
    built.write(&out).unwrap();
    let mut eval = ArcEvaluator::load(&out).unwrap();
    assert_eq!(eval.canvas(), four);
    for p in 0..test.num_puzzles() {
        for e in test.puzzle_examples(p) {
            let (input, label) = test.example(e);
            eval.add(test.puzzle_identifiers[p] as u32, input, label, 0.5).unwrap();
        }
    }
    assert_eq!(eval.evaluate(&PASS_KS, 2).pass(1), Some(1.0));
    let err = eval.add(1, &[0; 900], &[0; 900], 0.5).unwrap_err().to_string();
    assert!(err.contains("4x4 canvas have 16 tokens; got input 900"), "{err}");
}

/// A grid larger than the canvas is refused, naming the task, the pair and both sizes.
#[test]
fn grid_larger_than_the_canvas_is_refused() {
    let mut tasks = tiny_tasks();
    tasks[1].test[0].output = Grid::new(5, 5, vec![1; 25]).unwrap();
    let subsets = [Subset { name: "evaluation".into(), tasks }];
    let config = ArcBuildConfig {
        test_sets: vec!["evaluation".into()],
        num_aug: 1,
        seed: 0,
        canvas: Canvas::new(4).unwrap(),
    };
    let err = build_arc_dataset(&subsets, &config).err().unwrap().to_string();
    assert!(
        err.contains("task t2: test pair 1: output is 5x5, larger than the 4x4 canvas"),
        "{err}"
    );
    let row = grid(&[&[1; 5]]);
    assert!(!Canvas::new(4).unwrap().fits(&row) && Canvas::new(5).unwrap().fits(&row));
    // 3x3 grids fill a 3x3 canvas exactly: they fit.
    let three = ArcBuildConfig { canvas: Canvas::new(3).unwrap(), ..config };
    assert!(build_arc_dataset(
        &[Subset { name: "evaluation".into(), tasks: tiny_tasks() }],
        &three
    )
    .is_ok());
}

/// ARC-AGI-2 (`TRM_DATA_DIR/arc-agi-2/{training,evaluation}`, the `data/` folders of
/// github.com/arcprize/ARC-AGI-2) and ConceptARC (`TRM_DATA_DIR/conceptarc/corpus`,
/// github.com/victorvikram/ConceptARC) when `TRM_DATA_DIR` is set (skipped, saying so, otherwise).
#[test]
fn reads_shared_arc_agi_2_and_concept_arc_when_present() {
    let test = "reads_shared_arc_agi_2_and_concept_arc_when_present";
    let sets = [
        ("arc-agi-2/training", 1000, 3232, 1076),
        ("arc-agi-2/evaluation", 120, 359, 167),
        ("conceptarc/corpus", 160, 427, 480),
    ];
    for (dir, tasks, train, tests) in sets {
        let Some(path) = common::shared_data(test, dir) else {
            return;
        };
        let read = read_tasks(&path).unwrap();
        let counts = (
            read.len(),
            read.iter().map(|t| t.train.len()).sum::<usize>(),
            read.iter().map(|t| t.test.len()).sum::<usize>(),
        );
        assert_eq!(counts, (tasks, train, tests), "{dir}");
    }
}
