// SPDX-License-Identifier: GPL-2.0

//! The namespace check of format version 2: a sound tree passes, and each kind of damage is
//! found and named.

use emfs_tools::dirent::{DT_DIR, DT_LNK, DT_REG};
use emfs_tools::tree::{check_tree, Link, Node, TreeError};

fn dir(links: u32, parent: u32) -> Node {
    Node {
        dtype: DT_DIR,
        links,
        parent,
    }
}

fn file(dtype: u8, links: u32) -> Node {
    Node {
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
fn sound() -> (Vec<Node>, Vec<Link>) {
    let nodes = vec![
        Node::default(),
        dir(3, 1),
        dir(3, 1),
        file(DT_REG, 2),
        file(DT_LNK, 1),
        dir(2, 2),
        file(DT_REG, 0),
        dir(0, 0),
        Node::default(),
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

fn check(nodes: &[Node], links: &[Link]) -> Result<(), TreeError> {
    let mut names = vec![0; nodes.len()];
    let mut namer = vec![0; nodes.len()];
    check_tree(nodes, links.iter().copied(), &mut names, &mut namer)
}

#[test]
fn a_sound_tree_passes() {
    let (nodes, links) = sound();
    assert_eq!(check(&nodes, &links), Ok(()));
    // Only the root.
    assert_eq!(check(&[Node::default(), dir(2, 1)], &[]), Ok(()));
}

#[test]
fn each_damage_is_found() {
    type Damage = fn(&mut Vec<Node>, &mut Vec<Link>);
    let cases: [(Damage, TreeError); 14] = [
        (|n, _| n[1] = file(DT_REG, 1), TreeError::BadRoot),
        (|n, _| n[1].parent = 2, TreeError::BadRoot),
        (
            |_, l| l.push(link(3, 4, DT_LNK)),
            TreeError::EntryInNonDirectory(3),
        ),
        (
            |_, l| l.push(link(1, 8, DT_REG)),
            TreeError::EntryToFreeInode(8),
        ),
        (
            |_, l| l.push(link(1, 99, DT_REG)),
            TreeError::EntryToFreeInode(99),
        ),
        (|_, l| l[3].dtype = DT_REG, TreeError::EntryTypeMismatch(4)),
        (|_, l| l.push(link(2, 1, DT_DIR)), TreeError::RootNamed),
        (
            |_, l| l.push(link(1, 5, DT_DIR)),
            TreeError::DirectoryNamedTwice(5),
        ),
        (|n, _| n[5].parent = 1, TreeError::BadParent(5)),
        (|_, l| l.push(link(1, 7, DT_DIR)), TreeError::BadParent(7)),
        (
            |_, l| l.push(link(7, 6, DT_REG)),
            TreeError::OrphanWithEntries(7),
        ),
        (|n, _| n[3].links = 1, TreeError::BadLinkCount(3)),
        (|n, _| n[2].links = 2, TreeError::BadLinkCount(2)),
        (|n, _| n[7].links = 2, TreeError::BadLinkCount(7)),
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
    assert_eq!(check(&nodes, &links), Err(TreeError::Unreachable(9)));
    // A directory that names itself.
    let (mut nodes, mut links) = sound();
    nodes.push(dir(3, 9));
    links.push(link(9, 9, DT_DIR));
    assert_eq!(check(&nodes, &links), Err(TreeError::Unreachable(9)));
}

#[test]
fn a_deep_tree_passes_and_short_scratch_is_refused() {
    // A chain of 5,000 directories, each in the one before.
    let depth = 5000u32;
    let mut nodes = vec![Node::default(), dir(3, 1)];
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
        check_tree(&nodes, links.iter().copied(), &mut short, &mut namer),
        Err(TreeError::Scratch)
    );
}
