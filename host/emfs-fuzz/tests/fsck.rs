// SPDX-License-Identifier: GPL-2.0

//! `fsck.emfs` on fuzzed images: the base image is clean and holds what it should, images
//! replay, every one gets a documented exit code, most damage is found, and every kind of
//! structure (directory blocks and entries, target blocks among them) is damaged by some image.
//! The same images run through the kernel in the VM (`selftests/emfs/fuzz.sh`).

use emfs_tools::dinode::DiskInode;
use emfs_tools::format::{seal_block, BLOCK_SIZE, INODE_SIZE, SB_SLOTS};
use emfs_tools::fsck::{exit as code, fsck};
use emfs_tools::superblock::{inode_location, inode_table_block, DiskSuperblock, V1_REFUSED};
use emfs_tools::{read_block, write_block};
use std::io::Cursor;

#[test]
fn base_image_is_clean() {
    let img = emfs_fuzz::base_image().unwrap();
    let r = fsck(&mut Cursor::new(img.bytes)).unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    // many, small (also named sub/hard), holes, prealloc, and big's 70.
    assert_eq!(r.files, 74);
}

#[test]
fn images_are_replayable() {
    let (a, da) = emfs_fuzz::image(7, 3).unwrap();
    let (b, db) = emfs_fuzz::image(7, 3).unwrap();
    let (c, _) = emfs_fuzz::image(7, 4).unwrap();
    assert_ne!(a.bytes, c.bytes);
    assert_eq!((a.bytes, da), (b.bytes, db));
}

#[test]
fn fsck_answers_every_fuzzed_image() {
    let (mut clean, mut damaged) = (0, 0);
    let mut kinds = std::collections::BTreeSet::new();
    for seed in 1..=3 {
        for index in 0..100 {
            let (img, done) = emfs_fuzz::image(seed, index).unwrap();
            for d in &done {
                kinds.insert(d.split(['(', ' ']).next().unwrap_or("").to_string());
            }
            let r = fsck(&mut Cursor::new(img.bytes)).unwrap();
            let c = r.exit_code();
            // An unknown incompatible feature cannot be checked, a slot made version 1 is
            // refused: e2fsck's exit 8.
            let unknown_feature = done.iter().any(|d| d.contains("incompat"));
            let version_1 = r.refused.is_some() && done.iter().any(|d| d.contains("version"));
            assert!(
                c == code::CLEAN
                    || c == code::ERRORS
                    || (c == code::OPERATIONAL && (unknown_feature || version_1)),
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
    let base = emfs_fuzz::base_image().unwrap().bytes;
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
            let (img, done) = emfs_fuzz::image(seed, index).unwrap();
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

/// The shrinker test's image is clean, with one data extent per two file
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
    assert!(r.superblock.is_some(), "no superblock");
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

/// Found by the 5,000-image run on the debug kernel: the kernel refused images whose root
/// directory's inode pointed to an extent block, and fsck called them clean. A refused image
/// must get exit 4 or 8: the root's chain pointed to the extent block of `d/many`.
#[test]
fn a_root_with_an_extent_chain_is_an_error() {
    let mut dev = Cursor::new(emfs_fuzz::base_image().unwrap().bytes);
    let b = read_block(&mut dev, SB_SLOTS[0]).unwrap();
    let sb = DiskSuperblock::decode(&b).unwrap();
    let table: Vec<u64> = (0..sb.inode_table_blocks as usize)
        .map(|i| inode_table_block(&b, i))
        .collect();
    let slot = |ino| inode_location(&table, ino).unwrap();
    // Node 3 of the base tree, "many", is inode 4.
    let (blk, off) = slot(4);
    let many = DiskInode::decode(&read_block(&mut dev, blk).unwrap()[off..], 4).unwrap();
    let (blk, off) = slot(1);
    let mut block = read_block(&mut dev, blk).unwrap();
    let mut root = DiskInode::decode(&block[off..], 1).unwrap();
    root.first_block = many.first_block;
    root.encode(&mut block[off..off + INODE_SIZE]);
    write_block(&mut dev, blk, &block).unwrap();
    let r = fsck(&mut dev).unwrap();
    assert_eq!(r.exit_code(), code::ERRORS, "{:?}", r.errors);
    assert!(
        r.errors.iter().any(|e| e.starts_with("directory 1: block")),
        "{:?}",
        r.errors
    );
}

/// The base image's two slots are both valid, slot 1 a generation older than slot 0, so that a
/// mutation of either matters: without slot 0, fsck checks from slot 1 and finds everything
/// newer than it.
#[test]
fn both_slots_of_the_base_image_are_valid() {
    let mut dev = Cursor::new(emfs_fuzz::base_image().unwrap().bytes);
    let decode = |dev: &mut Cursor<Vec<u8>>, slot| {
        DiskSuperblock::decode(&read_block(dev, SB_SLOTS[slot]).unwrap()).unwrap()
    };
    let (newest, older) = (decode(&mut dev, 0), decode(&mut dev, 1));
    assert_eq!(older.generation + 1, newest.generation);
    assert_eq!(fsck(&mut dev).unwrap().superblock, Some(newest));
    write_block(&mut dev, SB_SLOTS[0], &[0; BLOCK_SIZE]).unwrap();
    let r = fsck(&mut dev).unwrap();
    assert_eq!(r.superblock, Some(older));
    assert!(
        r.errors
            .iter()
            .any(|e| e.contains("newer than the superblock's")),
        "{:?}",
        r.errors
    );
}

/// A mutation of the newest slot's version to 1 gives what the kernel refuses with its
/// message: fsck refuses it too (exit 8), so that the fuzz run's "refused, fsck 4 or 8" holds.
#[test]
fn a_slot_made_version_1_is_refused() {
    let mut bytes = emfs_fuzz::base_image().unwrap().bytes;
    let slot0: &mut [u8; BLOCK_SIZE] = (&mut bytes[..BLOCK_SIZE]).try_into().unwrap();
    slot0[8..12].copy_from_slice(&1u32.to_le_bytes());
    seal_block(slot0);
    let r = fsck(&mut Cursor::new(bytes)).unwrap();
    assert_eq!(r.refused, Some(V1_REFUSED));
    assert_eq!(r.exit_code(), code::OPERATIONAL);
}

/// Every image carries 1 to `MAX_MUTATIONS` mutations, each described, and nearly every one
/// differs from the base (a mutation may write the value a field had).
#[test]
fn every_image_is_mutated() {
    let base = emfs_fuzz::base_image().unwrap().bytes;
    let mut same = 0;
    for index in 0..200 {
        let (img, done) = emfs_fuzz::image(5, index).unwrap();
        assert!(
            (1..=emfs_fuzz::MAX_MUTATIONS).contains(&done.len()),
            "{done:?}"
        );
        assert!(done.iter().all(|d| !d.is_empty()), "{done:?}");
        assert_eq!(img.bytes.len(), base.len());
        same += usize::from(img.bytes == base);
    }
    assert!(same < 10, "{same} of 200 images equal to the base");
}

/// An image named in a report (`image S/K`) is replayed later, by another build: the images'
/// bytes and mutations are pinned (FNV-1a of the bytes; CRC32C would not see a change in a
/// block sealed again).
#[test]
fn images_keep_their_bytes() {
    let fnv = |b: &[u8]| {
        b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| {
            (h ^ u64::from(x)).wrapping_mul(0x0100_0000_01b3)
        })
    };
    assert_eq!(
        fnv(&emfs_fuzz::base_image().unwrap().bytes),
        0xe9ba_c3ee_7627_f0b6
    );
    for (seed, index, want, first) in [
        (
            1,
            0,
            0xbf22_a68b_255b_32ea,
            "Superblock(0) free_blocks: 248 -> 134217976",
        ),
        (
            3,
            77,
            0x8d24_9476_8bd2_d7fb,
            "Target { blk: 97, inode_blk: 2, off: 1536 } padding: 0 -> 1",
        ),
        (
            4,
            134,
            0x42c5_1c90_de34_ef34,
            "Inode { ino: 80, blk: 7, off: 0 } count: 1 -> 1",
        ),
    ] {
        let (img, done) = emfs_fuzz::image(seed, index).unwrap();
        assert_eq!(
            (fnv(&img.bytes), done[0].as_str()),
            (want, first),
            "{seed}/{index}"
        );
    }
}

/// The `extent-count` mutant of `scripts/mutants.sh` runs the first 80 images of seed 1 and is
/// caught only if one of them gives an inode an extent count whose allocation is past
/// `INT_MAX` bytes (kvmalloc's warning): the generator must keep such an image there.
#[test]
fn seed_1_reaches_an_absurd_extent_count() {
    let absurd = (0..80).find(|&index| {
        let (_, done) = emfs_fuzz::image(1, index).unwrap();
        done.iter().any(|d| {
            d.starts_with("Inode ")
                && d.contains(" count: ")
                && d.rsplit(" -> ")
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
                    .is_some_and(|n| n > 0x7fff_ffff)
        })
    });
    assert_eq!(absurd, Some(72));
}
