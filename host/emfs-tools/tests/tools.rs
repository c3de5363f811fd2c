// SPDX-License-Identifier: GPL-2.0

//! mkfs.emfs makes what fsck.emfs accepts, and fsck.emfs finds each broken invariant.

use emfs_tools::format::*;
use emfs_tools::fsck::{exit, fsck, Report};
use emfs_tools::mkfs::{mkfs, populate, NewFile, Options};
use emfs_tools::{crc32c_vectors, read_block, write_block};
use std::io::Cursor;

type Dev = Cursor<Vec<u8>>;

const BS: u64 = BLOCK_SIZE as u64;

fn image(blocks: u64) -> (Dev, Superblock) {
    let mut dev = Cursor::new(vec![0u8; (blocks * BS) as usize]);
    let opts = Options {
        total_blocks: blocks,
        inode_table_blocks: Some(2),
        uuid: [7; 16],
        time: 1,
    };
    let sb = mkfs(&mut dev, &opts).expect("mkfs");
    (dev, sb)
}

fn check(dev: &mut Dev) -> Report {
    fsck(dev).expect("fsck read")
}

fn has_error(r: &Report, needle: &str) -> bool {
    r.errors.iter().any(|e| e.contains(needle))
}

fn set_used(dev: &mut Dev, sb: &mut Superblock, blk: u64) {
    let bmb = sb.bitmap[(blk / BITS_PER_BITMAP_BLOCK) as usize];
    let mut b = read_block(dev, bmb).unwrap();
    bitmap_set(&mut b, blk % BITS_PER_BITMAP_BLOCK, true);
    seal_block(&mut b);
    write_block(dev, bmb, &b).unwrap();
    sb.free_blocks -= 1;
}

fn write_sb(dev: &mut Dev, sb: &Superblock, slot: usize) {
    let mut b = [0u8; BLOCK_SIZE];
    sb.encode(&mut b);
    write_block(dev, SB_SLOTS[slot], &b).unwrap();
}

fn write_inode(dev: &mut Dev, sb: &Superblock, inode: &Inode) {
    let (blk, off) = sb.inode_location(inode.ino).unwrap();
    let mut b = read_block(dev, blk).unwrap();
    inode.encode(&mut b[off..off + INODE_SIZE]);
    write_block(dev, blk, &b).unwrap();
}

/// Adds file `ino` named `name` whose records are given; the extent block goes to `ext_blk`.
/// Marks the extent block and every data block used unless `mark` is false.
#[allow(clippy::too_many_arguments)]
fn add_file(
    dev: &mut Dev,
    sb: &mut Superblock,
    ino: u32,
    name: &str,
    size: u64,
    ext_blk: u64,
    recs: &[ExtentRecord],
    mark: bool,
) {
    let mut b = [0u8; BLOCK_SIZE];
    let h = ExtentBlockHeader {
        count: recs.len() as u32,
        ino,
        next: 0,
        generation: 1,
    };
    encode_extent_block(&mut b, &h, recs).unwrap();
    write_block(dev, ext_blk, &b).unwrap();
    if mark {
        set_used(dev, sb, ext_blk);
        let mut seen = std::collections::HashSet::new();
        for r in recs {
            if seen.insert(r.disk_bytenr) {
                for blk in r.disk_bytenr / BS..(r.disk_bytenr + r.disk_num_bytes) / BS {
                    set_used(dev, sb, blk);
                }
            }
        }
    }
    let mut n = [0u8; NAME_MAX];
    n[..name.len()].copy_from_slice(name.as_bytes());
    let inode = Inode {
        mode: S_IFREG | 0o644,
        nlink: 1,
        size,
        generation: 1,
        extent_block: ext_blk,
        extent_count: recs.len() as u32,
        ino,
        name_len: name.len() as u16,
        name: n,
        ..Inode::FREE
    };
    write_inode(dev, sb, &inode);
    write_sb(dev, sb, 0);
}

/// File 2, "a": one 4 KiB block at block 100, its extent block at block 50.
fn one_block_file(dev: &mut Dev, sb: &mut Superblock, mark: bool) {
    let recs = [rec(0, 4096, 100 * BS, 4096, 0)];
    add_file(dev, sb, 2, "a", 4096, 50, &recs, mark);
}

fn rec(
    file_offset: u64,
    len: u64,
    disk_bytenr: u64,
    disk_num_bytes: u64,
    offset: u64,
) -> ExtentRecord {
    ExtentRecord {
        file_offset,
        len,
        disk_bytenr,
        disk_num_bytes,
        offset,
        ram_bytes: disk_num_bytes,
        generation: 1,
        kind: EXTENT_REGULAR,
    }
}

#[test]
fn fresh_image_is_clean() {
    let (mut dev, sb) = image(4096);
    let r = check(&mut dev);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.exit_code(), exit::CLEAN);
    assert_eq!(r.files, 0);
    // Two superblocks, two inode-table blocks, one bitmap block.
    assert_eq!(sb.free_blocks, 4096 - 5);
    assert_eq!(r.used_blocks, 5);
}

#[test]
fn mkfs_refuses_sizes_it_cannot_hold() {
    let mut dev = Cursor::new(vec![0u8; 4 * BLOCK_SIZE]);
    let opts = Options {
        total_blocks: 4,
        inode_table_blocks: Some(2),
        uuid: [0; 16],
        time: 0,
    };
    assert!(mkfs(&mut dev, &opts).is_err());
    let opts = Options {
        total_blocks: 65 * BITS_PER_BITMAP_BLOCK,
        inode_table_blocks: None,
        uuid: [0; 16],
        time: 0,
    };
    assert!(mkfs(&mut Cursor::new(Vec::new()), &opts).is_err());
}

#[test]
fn files_with_shared_and_separate_extents_are_clean() {
    let (mut dev, mut sb) = image(4096);
    // A 32K extent at block 100 referenced by two records (a split), and a separate extent.
    let recs = [
        rec(0, 8192, 100 * BS, 32768, 0),
        rec(8192, 4096, 200 * BS, 4096, 0),
        rec(12288, 8192, 100 * BS, 32768, 16384),
    ];
    add_file(&mut dev, &mut sb, 2, "a", 20480, 50, &recs, true);
    add_file(
        &mut dev,
        &mut sb,
        3,
        "b",
        4096,
        51,
        &[rec(0, 4096, 300 * BS, 4096, 0)],
        true,
    );
    let r = check(&mut dev);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!((r.files, r.extents), (2, 4));
}

#[test]
fn corrupted_superblock_is_refused_and_the_other_slot_wins() {
    let (mut dev, sb) = image(1024);
    let mut b = read_block(&mut dev, 0).unwrap();
    b[100] ^= 1;
    write_block(&mut dev, 0, &b).unwrap();
    let r = check(&mut dev);
    assert!(has_error(&r, "no valid superblock"));
    assert_eq!(r.exit_code(), exit::ERRORS);
    // A valid superblock in slot 1 is used.
    write_sb(
        &mut dev,
        &Superblock {
            generation: 2,
            ..sb
        },
        1,
    );
    let r = check(&mut dev);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.superblock.unwrap().generation, 2);
}

#[test]
fn the_newer_slot_wins() {
    let (mut dev, sb) = image(1024);
    write_sb(
        &mut dev,
        &Superblock {
            generation: 5,
            free_blocks: 0,
            ..sb
        },
        1,
    );
    let r = check(&mut dev);
    assert_eq!(r.superblock.unwrap().generation, 5);
    assert!(has_error(&r, "free blocks"));
}

#[test]
fn block_owned_twice() {
    let (mut dev, mut sb) = image(1024);
    add_file(
        &mut dev,
        &mut sb,
        2,
        "a",
        8192,
        50,
        &[rec(0, 8192, 100 * BS, 8192, 0)],
        true,
    );
    add_file(
        &mut dev,
        &mut sb,
        3,
        "b",
        4096,
        51,
        &[rec(0, 4096, 101 * BS, 4096, 0)],
        false,
    );
    set_used(&mut dev, &mut sb, 51);
    write_sb(&mut dev, &sb, 0);
    let r = check(&mut dev);
    assert!(has_error(&r, "owned twice"), "{:?}", r.errors);
}

#[test]
fn overlapping_and_unsorted_records() {
    let (mut dev, mut sb) = image(1024);
    let recs = [
        rec(0, 8192, 100 * BS, 8192, 0),
        rec(4096, 4096, 200 * BS, 4096, 0),
    ];
    add_file(&mut dev, &mut sb, 2, "a", 8192, 50, &recs, true);
    let r = check(&mut dev);
    assert!(has_error(&r, "overlaps"), "{:?}", r.errors);
}

#[test]
fn bitmap_must_match() {
    let (mut dev, mut sb) = image(1024);
    one_block_file(&mut dev, &mut sb, false);
    set_used(&mut dev, &mut sb, 50);
    write_sb(&mut dev, &sb, 0);
    let r = check(&mut dev);
    assert!(
        has_error(&r, "block 100: bitmap says free"),
        "{:?}",
        r.errors
    );
}

#[test]
fn inode_checksum_and_names() {
    let (mut dev, mut sb) = image(1024);
    add_file(&mut dev, &mut sb, 2, "same", 0, 50, &[], true);
    add_file(&mut dev, &mut sb, 3, "same", 0, 51, &[], true);
    let r = check(&mut dev);
    assert!(has_error(&r, "used twice"), "{:?}", r.errors);
    let (blk, off) = sb.inode_location(2).unwrap();
    let mut b = read_block(&mut dev, blk).unwrap();
    b[off + 8] ^= 0x40;
    write_block(&mut dev, blk, &b).unwrap();
    let r = check(&mut dev);
    assert!(has_error(&r, "inode 2: BadChecksum"), "{:?}", r.errors);
}

#[test]
fn extents_must_fit_size_and_disk_extent() {
    let (mut dev, mut sb) = image(1024);
    let recs = [
        rec(0, 4096, 100 * BS, 4096, 0),
        rec(8192, 4096, 101 * BS, 4096, 0),
    ];
    add_file(&mut dev, &mut sb, 2, "a", 4096, 50, &recs, true);
    let r = check(&mut dev);
    assert!(has_error(&r, "beyond the size"), "{:?}", r.errors);
    let (mut dev, mut sb) = image(1024);
    add_file(
        &mut dev,
        &mut sb,
        2,
        "a",
        8192,
        50,
        &[rec(0, 8192, 100 * BS, 4096, 0)],
        true,
    );
    let r = check(&mut dev);
    assert!(has_error(&r, "extent range"), "{:?}", r.errors);
}

#[test]
fn a_preallocated_extent_may_lie_beyond_the_size() {
    // fallocate --keep-size: the kernel's mount and fsck share this rule
    // (ExtentRecord::validate_in_file); a regular extent there is an error, above.
    let (mut dev, mut sb) = image(1024);
    let mut past = rec(8192, 4096, 101 * BS, 4096, 0);
    past.kind = EXTENT_PREALLOC;
    let recs = [rec(0, 4096, 100 * BS, 4096, 0), past];
    add_file(&mut dev, &mut sb, 2, "a", 1, 50, &recs, true);
    let r = check(&mut dev);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.extents, 2);
}

#[test]
fn extent_count_and_chain() {
    let (mut dev, mut sb) = image(1024);
    one_block_file(&mut dev, &mut sb, true);
    let (blk, off) = sb.inode_location(2).unwrap();
    let b = read_block(&mut dev, blk).unwrap();
    let mut inode = Inode::decode(&b[off..off + INODE_SIZE]).unwrap();
    inode.extent_count = 3;
    write_inode(&mut dev, &sb, &inode);
    let r = check(&mut dev);
    assert!(has_error(&r, "the inode says 3"), "{:?}", r.errors);
    inode.extent_count = 1;
    inode.extent_block = 5000;
    write_inode(&mut dev, &sb, &inode);
    let r = check(&mut dev);
    assert!(has_error(&r, "out of range or a loop"), "{:?}", r.errors);
}

#[test]
fn crc32c_known_vectors() {
    for (data, want) in crc32c_vectors::KNOWN {
        assert_eq!(crc32c(data), want, "{data:02x?}");
    }
}

/// The same table the kernel's KUnit suite `emfs_checksum` checks `crc32c()` against.
#[test]
fn crc32c_matches_the_kernel_table() {
    let mut block = [0u8; BLOCK_SIZE];
    for (seed, len, want) in crc32c_vectors::BLOCKS {
        crc32c_vectors::block(seed, &mut block);
        assert_eq!(crc32c(&block[..len]), want, "seed {seed}, {len} bytes");
    }
}

#[test]
fn populated_image_is_clean_and_holds_the_data() {
    let (mut dev, mut sb) = image(4096);
    let files: Vec<NewFile> = (0..5u8)
        .map(|i| NewFile {
            name: format!("file{i}").into_bytes(),
            data: (0..(i as usize * 37_000 + 1))
                .map(|k| (k as u8) ^ i)
                .collect(),
            mtime: 1_700_000_000 + i as i64,
        })
        .collect();
    populate(&mut dev, &mut sb, &files, 3, false).unwrap();
    let r = check(&mut dev);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.files, 5);
    // file4: 148001 bytes = 37 blocks in extents of 3 blocks.
    let (blk, off) = sb.inode_location(6).unwrap();
    let b = read_block(&mut dev, blk).unwrap();
    let inode = Inode::decode(&b[off..off + INODE_SIZE]).unwrap();
    assert_eq!((inode.size, inode.extent_count), (148001, 13));
    assert_eq!(inode.mtime, (1_700_000_004, 0));
    let eb = read_block(&mut dev, inode.extent_block).unwrap();
    let last = extent_record(&eb, 12);
    let data = read_block(&mut dev, last.disk_bytenr / BS).unwrap();
    assert_eq!(data[0], files[4].data[last.file_offset as usize]);
}

/// An orphan (in use, no link, no name) is counted, its blocks are owned; one with a name, or
/// a named file without a link, is an error.
#[test]
fn orphans() {
    let (mut dev, mut sb) = image(1024);
    one_block_file(&mut dev, &mut sb, true);
    let (blk, off) = sb.inode_location(2).unwrap();
    let file = Inode::decode(&read_block(&mut dev, blk).unwrap()[off..]).unwrap();
    let orphan = |name_len: u16| {
        let mut i = file;
        i.nlink = 0;
        i.name_len = name_len;
        if name_len == 0 {
            i.name = [0; NAME_MAX];
        }
        i
    };
    let unnamed = orphan(0);
    write_inode(&mut dev, &sb, &unnamed);
    let r = check(&mut dev);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!((r.files, r.orphans), (0, 1));
    // Its blocks still count as owned: the bitmap matches.
    assert_eq!(r.used_blocks, sb.total_blocks - sb.free_blocks);

    let named = orphan(1);
    write_inode(&mut dev, &sb, &named);
    let r = check(&mut dev);
    assert!(
        has_error(&r, "orphan (no link) with a name"),
        "{:?}",
        r.errors
    );
}
