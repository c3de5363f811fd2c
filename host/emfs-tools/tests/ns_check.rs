// SPDX-License-Identifier: GPL-2.0

//! The namespace check of format version 2: a sound tree passes, and each kind of damage is
//! found and named.

use emfs_tools::dirent::{DT_DIR, DT_LNK, DT_REG};
use emfs_tools::ns_check::{check_namespace, InodeFacts, Link, NsError};

fn dir(links: u32, parent: u32) -> InodeFacts {
    InodeFacts {
        dtype: DT_DIR,
        links,
        parent,
    }
}

fn file(dtype: u8, links: u32) -> InodeFacts {
    InodeFacts {
        dtype,
        links,
        parent: 0,
    }
}

fn link(dir: u32, ino: u32, dtype: u8) -> Link {
    Link { dir, ino, dtype }
}

/// / (1): a/ (2), f (3); a/: f again, s -> (4), b/ (5). 6 is an unlinked open file, 7 an
/// unlinked open directory (orphans), 8 a free slot.
fn sound() -> (Vec<InodeFacts>, Vec<Link>) {
    let nodes = vec![
        InodeFacts::default(),
        dir(3, 1),
        dir(3, 1),
        file(DT_REG, 2),
        file(DT_LNK, 1),
        dir(2, 2),
        file(DT_REG, 0),
        dir(0, 0),
        InodeFacts::default(),
    ];
    let links = vec![
        link(1, 2, DT_DIR),
        link(1, 3, DT_REG),
        link(2, 3, DT_REG),
        link(2, 4, DT_LNK),
        link(2, 5, DT_DIR),
    ];
    (nodes, links)
}

fn check(nodes: &[InodeFacts], links: &[Link]) -> Result<(), NsError> {
    let mut names = vec![0; nodes.len()];
    let mut namer = vec![0; nodes.len()];
    check_namespace(nodes, links.iter().copied(), &mut names, &mut namer)
}

#[test]
fn a_sound_tree_passes() {
    let (nodes, links) = sound();
    assert_eq!(check(&nodes, &links), Ok(()));
    // Only the root.
    assert_eq!(check(&[InodeFacts::default(), dir(2, 1)], &[]), Ok(()));
}

#[test]
fn each_damage_is_found() {
    type Damage = fn(&mut Vec<InodeFacts>, &mut Vec<Link>);
    let cases: [(Damage, NsError); 14] = [
        (|n, _| n[1] = file(DT_REG, 1), NsError::BadRoot),
        (|n, _| n[1].parent = 2, NsError::BadRoot),
        (
            |_, l| l.push(link(3, 4, DT_LNK)),
            NsError::EntryInNonDirectory(3),
        ),
        (
            |_, l| l.push(link(1, 8, DT_REG)),
            NsError::EntryToFreeInode(8),
        ),
        (
            |_, l| l.push(link(1, 99, DT_REG)),
            NsError::EntryToFreeInode(99),
        ),
        (|_, l| l[3].dtype = DT_REG, NsError::EntryTypeMismatch(4)),
        (|_, l| l.push(link(2, 1, DT_DIR)), NsError::RootNamed),
        (
            |_, l| l.push(link(1, 5, DT_DIR)),
            NsError::DirectoryNamedTwice(5),
        ),
        (|n, _| n[5].parent = 1, NsError::BadParent(5)),
        (|_, l| l.push(link(1, 7, DT_DIR)), NsError::BadParent(7)),
        (
            |_, l| l.push(link(7, 6, DT_REG)),
            NsError::OrphanWithEntries(7),
        ),
        (|n, _| n[3].links = 1, NsError::BadLinkCount(3)),
        (|n, _| n[2].links = 2, NsError::BadLinkCount(2)),
        (|n, _| n[7].links = 2, NsError::BadLinkCount(7)),
    ];
    for (i, (damage, want)) in cases.into_iter().enumerate() {
        let (mut nodes, mut links) = sound();
        damage(&mut nodes, &mut links);
        assert_eq!(check(&nodes, &links), Err(want), "case {i}");
    }
}

#[test]
fn a_cycle_is_unreachable() {
    // Two directories naming each other, each the other's parent: every other rule holds.
    let (mut nodes, mut links) = sound();
    nodes.push(dir(3, 10)); // 9
    nodes.push(dir(3, 9)); // 10
    links.push(link(9, 10, DT_DIR));
    links.push(link(10, 9, DT_DIR));
    assert_eq!(check(&nodes, &links), Err(NsError::Unreachable(9)));
    // A directory that names itself.
    let (mut nodes, mut links) = sound();
    nodes.push(dir(3, 9));
    links.push(link(9, 9, DT_DIR));
    assert_eq!(check(&nodes, &links), Err(NsError::Unreachable(9)));
}

#[test]
fn a_deep_tree_passes_and_short_scratch_is_refused() {
    // A chain of 5,000 directories, each in the one before.
    let depth = 5000u32;
    let mut nodes = vec![InodeFacts::default(), dir(3, 1)];
    let mut links = Vec::new();
    for ino in 2..2 + depth {
        let last = ino == 1 + depth;
        nodes.push(dir(if last { 2 } else { 3 }, ino - 1));
        links.push(link(ino - 1, ino, DT_DIR));
    }
    assert_eq!(check(&nodes, &links), Ok(()));
    let mut short = vec![0; nodes.len() - 1];
    let mut namer = vec![0; nodes.len()];
    assert_eq!(
        check_namespace(&nodes, links.iter().copied(), &mut short, &mut namer),
        Err(NsError::Scratch)
    );
}
