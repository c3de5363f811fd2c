// SPDX-License-Identifier: GPL-2.0

//! `fsck.emfs` on fuzzed images: it never panics, finds the base image clean, and answers
//! every image with a documented exit code. The same images run through the kernel in the VM
//! (`selftests/emfs/fuzz.sh`).

use emfs_tools::fsck::{exit as code, fsck};
use std::io::Cursor;

#[test]
fn base_image_is_clean() {
    let img = emfs_fuzz::base_image().unwrap();
    let r = fsck(&mut Cursor::new(img.bytes)).unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.files, 5);
}

#[test]
fn images_are_replayable() {
    let (a, da) = emfs_fuzz::image(7, 3).unwrap();
    let (b, db) = emfs_fuzz::image(7, 3).unwrap();
    assert_eq!(a.bytes, b.bytes);
    assert_eq!(da, db);
    let (c, _) = emfs_fuzz::image(7, 4).unwrap();
    assert_ne!(a.bytes, c.bytes);
}

#[test]
fn fsck_answers_every_fuzzed_image() {
    let mut counts = [0usize; 3];
    for seed in 1..=3 {
        for index in 0..100 {
            let (img, done) = emfs_fuzz::image(seed, index).unwrap();
            let r = fsck(&mut Cursor::new(img.bytes)).unwrap();
            let c = r.exit_code();
            assert!(
                c == code::CLEAN || c == code::ERRORS,
                "image {seed}/{index} ({done:?}): exit {c}"
            );
            counts[(c == code::ERRORS) as usize] += 1;
            counts[2] += r.errors.len();
        }
    }
    // The mutations must mostly be found: a fuzzer whose damage fsck never sees is broken.
    assert!(
        counts[1] > counts[0],
        "clean {} vs damaged {}",
        counts[0],
        counts[1]
    );
}

#[test]
fn fsck_survives_random_bytes() {
    let mut rng = fastrand::Rng::with_seed(1);
    let base = emfs_fuzz::base_image().unwrap().bytes;
    for _ in 0..200 {
        let mut bytes = base.clone();
        // Random blocks of random bytes, checksums left as they fall.
        for _ in 0..rng.usize(1..8) {
            let blk = rng.usize(..bytes.len() / 4096);
            rng.fill(&mut bytes[blk * 4096..(blk + 1) * 4096]);
        }
        let _ = fsck(&mut Cursor::new(bytes));
    }
}

/// Found by the 5,000-image run on the debug kernel: the kernel refused these two (the root
/// directory's inode points to an extent block), fsck called them clean. A refused image must
/// get exit 4 or 8.
#[test]
fn a_root_with_an_extent_chain_is_an_error() {
    for (seed, index) in [(4, 134), (4, 666)] {
        let (img, done) = emfs_fuzz::image(seed, index).unwrap();
        let r = fsck(&mut Cursor::new(img.bytes)).unwrap();
        assert_eq!(
            r.exit_code(),
            code::ERRORS,
            "image {seed}/{index} ({done:?})"
        );
    }
}
