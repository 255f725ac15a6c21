//! ARC augmentations (design 4.4; official `aug` / `inverse_aug`): a dihedral transform
//! and a colour permutation that keeps black (0). The colour map is applied first, then the
//! dihedral transform. An augmented puzzle is named `<orig>|||t<t>|||<10 digits>`, the
//! digits being the colour map (`digits[c]` = new colour of `c`), so that the evaluator can
//! invert any prediction from its puzzle name alone.

use std::collections::HashSet;

use anyhow::{bail, ensure, Context, Result};
use rand::seq::SliceRandom;
use rand::Rng;

use super::{Grid, Task, NUM_COLORS};
use crate::dihedral::Dihedral;

/// Separator of the parts of an augmented puzzle name.
pub const NAME_SEPARATOR: &str = "|||";
/// Official `ARCAugmentRetriesFactor`: at most this many draws per wanted augmentation.
pub const RETRIES_FACTOR: usize = 5;

/// A colour map followed by a dihedral transform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Augmentation {
    /// The dihedral transform, applied after the colour map.
    pub dihedral: Dihedral,
    /// `colors[c]` is the new colour of colour `c`; a permutation of 0..=9.
    pub colors: [u8; NUM_COLORS as usize],
}

impl Augmentation {
    /// No augmentation: identity transform and colours unchanged (keeps the original name).
    pub const IDENTITY: Augmentation =
        Augmentation { dihedral: Dihedral::IDENTITY, colors: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] };

    /// Draws the official way: a transform id uniform in 0..8, then a uniform permutation
    /// of colours 1..=9 (0 stays black).
    pub fn random(rng: &mut impl Rng) -> Augmentation {
        let dihedral = Dihedral::new(rng.random_range(0..8)).expect("id below 8");
        let mut colors = Self::IDENTITY.colors;
        colors[1..].shuffle(rng);
        Augmentation { dihedral, colors }
    }

    /// Whether this is [`Augmentation::IDENTITY`], the un-augmented puzzle.
    pub fn is_identity(&self) -> bool {
        *self == Self::IDENTITY
    }

    /// The augmented grid: colours mapped, then transformed.
    pub fn apply(&self, grid: &Grid) -> Grid {
        grid.recolored(&self.colors).transformed(self.dihedral)
    }

    /// Undoes [`Augmentation::apply`]: inverse transform, then inverse colour map.
    pub fn invert(&self, grid: &Grid) -> Grid {
        let mut inverse = [0u8; NUM_COLORS as usize];
        for (c, &mapped) in self.colors.iter().enumerate() {
            inverse[mapped as usize] = c as u8;
        }
        grid.transformed(self.dihedral.inverse()).recolored(&inverse)
    }

    /// The puzzle name of `original` under this augmentation; the identity keeps the
    /// original name (as the official builder does for the un-augmented group member).
    pub fn name(&self, original: &str) -> String {
        if self.is_identity() {
            return original.to_string();
        }
        let digits: String = self.colors.iter().map(|&c| char::from(b'0' + c)).collect();
        format!("{original}{NAME_SEPARATOR}t{}{NAME_SEPARATOR}{digits}", self.dihedral.id())
    }

    /// Splits a puzzle name into the original name and its augmentation (identity for a
    /// name without separator). Follows the official `inverse_aug`: the last two parts are
    /// the transform and the colour map, the first part the original name.
    pub fn parse_name(name: &str) -> Result<(&str, Augmentation)> {
        let parts: Vec<&str> = name.split(NAME_SEPARATOR).collect();
        if parts.len() == 1 {
            return Ok((name, Self::IDENTITY));
        }
        ensure!(parts.len() >= 3, "puzzle name {name:?}: expected <name>|||t<0-7>|||<10 digits>");
        let (t, digits) = (parts[parts.len() - 2], parts[parts.len() - 1]);
        let dihedral = t
            .strip_prefix('t')
            .and_then(|d| d.parse::<u8>().ok())
            .and_then(Dihedral::new)
            .with_context(|| format!("puzzle name {name:?}: {t:?} is not a transform t0..t7"))?;
        let mut colors = [0u8; NUM_COLORS as usize];
        let mut seen = [false; NUM_COLORS as usize];
        ensure!(
            digits.len() == colors.len(),
            "puzzle name {name:?}: colour map {digits:?} must have 10 digits"
        );
        for (slot, ch) in colors.iter_mut().zip(digits.bytes()) {
            let c = ch.wrapping_sub(b'0');
            if c >= NUM_COLORS || seen[c as usize] {
                bail!("puzzle name {name:?}: colour map {digits:?} is not a permutation of 0-9");
            }
            seen[c as usize] = true;
            *slot = c;
        }
        Ok((parts[0], Augmentation { dihedral, colors }))
    }

    /// The task with every grid augmented.
    pub fn apply_task(&self, task: &Task) -> Task {
        let pair = |p: &super::Pair| super::Pair {
            input: self.apply(&p.input),
            output: self.apply(&p.output),
        };
        Task {
            id: self.name(&task.id),
            train: task.train.iter().map(pair).collect(),
            test: task.test.iter().map(pair).collect(),
            solutions_known: task.solutions_known,
        }
    }
}

/// The official duplicate key of an augmented puzzle: its (input, output) pairs over both
/// splits, as a sorted list (the pairs' order does not matter).
fn puzzle_key(task: &Task, aug: &Augmentation) -> Vec<(Grid, Grid)> {
    let mut key: Vec<(Grid, Grid)> =
        task.pairs().map(|p| (aug.apply(&p.input), aug.apply(&p.output))).collect();
    key.sort();
    key
}

/// The group of a task: the identity first, then up to `count` augmentations that each give a
/// puzzle different from all earlier ones, drawn at most `RETRIES_FACTOR * count` times.
/// Tasks with few colours or symmetric grids may end with fewer (as officially).
pub fn augmentations(task: &Task, count: usize, rng: &mut impl Rng) -> Vec<Augmentation> {
    let mut group = vec![Augmentation::IDENTITY];
    if count == 0 {
        return group;
    }
    let mut seen: HashSet<Vec<(Grid, Grid)>> =
        HashSet::from([puzzle_key(task, &Augmentation::IDENTITY)]);
    for _ in 0..RETRIES_FACTOR * count {
        let aug = Augmentation::random(rng);
        if seen.insert(puzzle_key(task, &aug)) {
            group.push(aug);
            if group.len() > count {
                break;
            }
        }
    }
    group
}

/// The augmented copies of task `id` among a dataset's puzzle names, with their identifiers,
/// in identifier order (the task itself first when present).
pub fn known_augmentations(identifiers: &[String], id: &str) -> Result<Vec<(u32, Augmentation)>> {
    let mut out = Vec::new();
    for (i, name) in identifiers.iter().enumerate().skip(1) {
        if name == id || name.starts_with(&format!("{id}{}", NAME_SEPARATOR)) {
            let (original, aug) = Augmentation::parse_name(name)
                .with_context(|| format!("{} entry {i}", crate::dataset::IDENTIFIERS_FILE))?;
            if original == id {
                out.push((i as u32, aug));
            }
        }
    }
    out.sort_by_key(|(i, a)| (!a.is_identity(), *i));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn names_round_trip_and_invert() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let grid = Grid::from_rows(&[vec![0, 1, 2], vec![3, 4, 5]]).unwrap();
        for _ in 0..50 {
            let aug = Augmentation::random(&mut rng);
            assert_eq!(aug.colors[0], 0);
            let name = aug.name("007bbfc7");
            let (orig, parsed) = Augmentation::parse_name(&name).unwrap();
            assert_eq!((orig, parsed), ("007bbfc7", aug));
            assert_eq!(parsed.invert(&aug.apply(&grid)), grid);
        }
        assert_eq!(Augmentation::parse_name("abc").unwrap(), ("abc", Augmentation::IDENTITY));
        assert!(Augmentation::parse_name("abc|||t8|||0123456789").is_err());
        assert!(Augmentation::parse_name("abc|||t1|||0123456788").is_err());
    }

    #[test]
    fn official_name_format() {
        let aug = Augmentation {
            dihedral: Dihedral::new(3).unwrap(),
            colors: [0, 2, 1, 3, 4, 5, 6, 7, 8, 9],
        };
        assert_eq!(aug.name("x"), "x|||t3|||0213456789");
        let g = Grid::from_rows(&[vec![1, 0]]).unwrap();
        // Colour map first (1 -> 2), then rotate 90 cw: a 1x2 row becomes a 2x1 column.
        assert_eq!(aug.apply(&g), Grid::from_rows(&[vec![2], vec![0]]).unwrap());
    }

    #[test]
    fn duplicates_are_rejected() {
        // A single black cell looks the same under every augmentation: nothing new to add.
        let black = Grid::from_rows(&[vec![0]]).unwrap();
        let pair = super::super::Pair { input: black.clone(), output: black };
        let task = Task {
            id: "t".into(),
            train: vec![pair.clone()],
            test: vec![pair],
            solutions_known: true,
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        assert_eq!(augmentations(&task, 10, &mut rng), vec![Augmentation::IDENTITY]);
        // One non-black colour in a 1x1 grid: only the 9 colours differ.
        let one = Grid::from_rows(&[vec![1]]).unwrap();
        let pair = super::super::Pair { input: one.clone(), output: one };
        let task = Task { id: "t".into(), train: vec![pair], test: vec![], solutions_known: true };
        assert_eq!(augmentations(&task, 100, &mut rng).len(), 9);
    }

    #[test]
    fn known_copies_are_found_by_name_identity_first() {
        let aug = Augmentation::parse_name("abc|||t3|||0213456789").unwrap().1;
        let ids: Vec<String> =
            ["<blank>", "zzz", "abc|||t3|||0213456789", "abcd", "abc", "abcd|||t1|||0123456789"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        let found = known_augmentations(&ids, "abc").unwrap();
        assert_eq!(found, vec![(4, Augmentation::IDENTITY), (2, aug)]);
        assert!(known_augmentations(&ids, "nope").unwrap().is_empty());
    }
}
