// SPDX-License-Identifier: GPL-2.0

//! Fuzzed images of format version 2 through `fsck.emfs`: the base image is clean and holds
//! what it should, images replay, every one gets a documented exit code, most damage is found,
//! and every kind of structure (directory blocks and entries, target blocks among them) is
//! damaged by some image.

use emfs_tools::fsck::{exit as code, fsck};
use std::io::Cursor;

#[test]
fn base_image_is_clean() {
    let img = emfs_fuzz::v2::base_image().unwrap();
    assert_eq!(img.version, 2);
    let r = fsck(&mut Cursor::new(img.bytes)).unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    // many, small (also named sub/hard), holes, prealloc, and big's 70.
    assert_eq!(r.files, 74);
}

#[test]
fn images_are_replayable_and_version_1_unchanged() {
    let (a, da) = emfs_fuzz::image_of(2, 7, 3).unwrap();
    let (b, db) = emfs_fuzz::image_of(2, 7, 3).unwrap();
    assert_eq!((a.bytes, da), (b.bytes, db));
    let (c, _) = emfs_fuzz::image_of(1, 7, 3).unwrap();
    let (d, _) = emfs_fuzz::image(7, 3).unwrap();
    assert_eq!(c.bytes, d.bytes);
    assert!(emfs_fuzz::image_of(3, 7, 3).is_err());
}

#[test]
fn fsck_answers_every_fuzzed_image() {
    let (mut clean, mut damaged) = (0, 0);
    let mut kinds = std::collections::BTreeSet::new();
    for seed in 1..=3 {
        for index in 0..100 {
            let (img, done) = emfs_fuzz::image_of(2, seed, index).unwrap();
            for d in &done {
                kinds.insert(d.split(['(', ' ']).next().unwrap_or("").to_string());
            }
            let r = fsck(&mut Cursor::new(img.bytes)).unwrap();
            let c = r.exit_code();
            // An unknown incompatible feature cannot be checked: e2fsck's exit 8.
            let unknown_feature = done.iter().any(|d| d.contains("incompat"));
            assert!(
                c == code::CLEAN
                    || c == code::ERRORS
                    || (c == code::OPERATIONAL && unknown_feature),
                "image {seed}/{index} ({done:?}): exit {c}"
            );
            if c == code::ERRORS {
                damaged += 1;
            } else {
                clean += 1;
            }
        }
    }
    assert!(damaged > clean, "clean {clean} vs damaged {damaged}");
    for kind in [
        "Superblock",
        "Inode",
        "Header",
        "Record",
        "Entry",
        "Target",
        "bitmap",
    ] {
        assert!(kinds.contains(kind), "no {kind} mutated: {kinds:?}");
    }
}

#[test]
fn fsck_survives_random_bytes() {
    let mut rng = fastrand::Rng::with_seed(2);
    let base = emfs_fuzz::v2::base_image().unwrap().bytes;
    for _ in 0..200 {
        let mut bytes = base.clone();
        for _ in 0..rng.usize(1..8) {
            let blk = rng.usize(..bytes.len() / 4096);
            rng.fill(&mut bytes[blk * 4096..(blk + 1) * 4096]);
        }
        let _ = fsck(&mut Cursor::new(bytes));
    }
}

/// A damaged target block is re-sealed through its inode (the checksum lives there), so that
/// the damage reaches the target's own rules: images that damage only target blocks never get
/// a checksum error, and some get the target's rule broken.
#[test]
fn target_damage_gets_past_the_checksum() {
    let mut reached = 0;
    for seed in 1..=5 {
        for index in 0..200 {
            let (img, done) = emfs_fuzz::image_of(2, seed, index).unwrap();
            if !done.iter().all(|d| d.starts_with("Target")) {
                continue;
            }
            let r = fsck(&mut Cursor::new(img.bytes)).unwrap();
            assert!(
                !r.errors.iter().any(|e| e.contains("checksum")),
                "image {seed}/{index} ({done:?}): {:?}",
                r.errors
            );
            reached += r.errors.iter().any(|e| e.contains("target block")) as u32;
        }
    }
    assert!(reached > 0, "no target damage reached the target's rules");
}

/// The shrinker test's image is of format version 2, clean, with one data extent per two file
/// blocks, each data block holding its file offset.
#[test]
fn holes_image_is_clean_and_alternates() {
    use emfs_fuzz::holes::{holes_block, holes_blocks, holes_image};
    let extents = 3000;
    let mut dev = Cursor::new(Vec::new());
    let sb = holes_image(&mut dev, extents).unwrap();
    assert_eq!(sb.total_blocks, holes_blocks(extents));
    let bytes = dev.into_inner();
    assert_eq!(bytes.len() as u64, sb.total_blocks * 4096);
    let r = fsck(&mut Cursor::new(bytes.clone())).unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!((r.files, r.extents), (1, extents));
    assert!(r.header.is_some(), "not format version 2");
    // Data block k is somewhere on the disk, in order, and holds what the test checks.
    let blocks: Vec<&[u8]> = bytes.chunks(4096).collect();
    // (Block 0 holds offset 0: all zeros, like any free block.)
    let first = blocks
        .iter()
        .position(|b| *b == &holes_block(1)[..])
        .unwrap()
        - 1;
    for k in [0, 2, extents / 2, extents - 1] {
        assert!(
            blocks[first + k as usize] == &holes_block(k)[..],
            "data block {k}"
        );
    }
}
