// SPDX-License-Identifier: GPL-2.0

//! The image every fuzzed one starts from, a tree of every kind, and what a mutation picks
//! from in it: the places of its structures and the fields of each kind of structure, so that
//! [`crate::image`] damages superblocks, inodes, extent and directory blocks, entries, symlink
//! targets and the bitmap.

use super::{Field, Image, Place};
use emfs_tools::dinode::{DiskInode, INLINE_TARGET_MAX, S_IFCHR, S_IFIFO, S_IFLNK};
use emfs_tools::dirent::{decode_dir_block, dir_entries, DIR_HEADER_SIZE};
use emfs_tools::format::{
    decode_extent_header, BLOCK_SIZE, EXTENT_PREALLOC, EXTENT_REGULAR, INODE_SIZE, SB_SLOTS,
    S_IFDIR, S_IFREG,
};
use emfs_tools::mkfs::{mkfs, Content, InodeSpec, Options, Piece, Tree};
use emfs_tools::superblock::{
    bitmap_block, inode_location, inode_table_block, DiskSuperblock, MAX_INODE_TABLE_BLOCKS,
};
use std::io::Cursor;

/// Where an inode keeps its target block's checksum (the start of the inline area).
pub(crate) const TARGET_CSUM: usize = 104;

/// A superblock slot.
pub(crate) const SB_FIELDS: &[Field] = &[
    ("magic", 0, 8),
    ("version", 8, 4),
    ("block_size", 12, 4),
    ("generation", 16, 8),
    ("total_blocks", 24, 8),
    ("inode_count", 32, 4),
    ("inode_table_blocks", 36, 4),
    ("bitmap_blocks", 40, 4),
    ("free_blocks", 48, 8),
    ("inode_table[0]", 72, 8),
    ("inode_table[1]", 80, 8),
    ("bitmap[0]", 72 + 8 * MAX_INODE_TABLE_BLOCKS, 8),
    ("bitmap[1]", 80 + 8 * MAX_INODE_TABLE_BLOCKS, 8),
    ("compat", 3656, 8),
    ("ro_compat", 3664, 8),
    ("incompat", 3672, 8),
];

/// An inode.
pub(crate) const INODE_FIELDS: &[Field] = &[
    ("mode", 0, 2),
    ("inline_len", 2, 2),
    ("nlink", 4, 4),
    ("size", 8, 8),
    ("uid", 16, 4),
    ("atime", 24, 8),
    ("mtime_nsec", 52, 4),
    ("flags", 60, 4),
    ("generation", 64, 8),
    ("first_block", 72, 8),
    ("count", 80, 4),
    ("ino", 84, 4),
    ("parent", 88, 4),
    ("rdev", 92, 4),
    ("next_cookie", 96, 8),
    ("inline[0]", 104, 1),
    ("inline[5]", 109, 1),
    ("inline[147]", 251, 1),
];

/// A directory entry.
pub(crate) const ENTRY_FIELDS: &[Field] = &[
    ("cookie", 0, 8),
    ("ino", 8, 4),
    ("type", 12, 1),
    ("reserved", 13, 1),
    ("name_len", 14, 2),
    ("name[0]", 16, 1),
    ("name[1]", 17, 1),
];

/// A symlink's target block.
pub(crate) const TARGET_FIELDS: &[Field] = &[
    ("target[0]", 0, 1),
    ("target[100]", 100, 1),
    ("target[end]", TARGET_LEN - 1, 1),
    ("padding", TARGET_LEN, 1),
    ("padding[last]", BLOCK_SIZE - 1, 1),
];

/// Blocks of the base image (2 MiB).
pub const BASE_BLOCKS: u64 = 512;
/// The long symlink's target length.
const TARGET_LEN: usize = 200;

/// The file data of the base image: a pattern that differs per file and block.
fn data(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 12) as u8)
        .collect()
}

fn piece(file_block: u64, blocks: u64, kind: u32) -> Piece {
    Piece {
        file_block,
        blocks,
        kind,
    }
}

fn node(mode: u16, content: Content) -> InodeSpec {
    InodeSpec {
        mode,
        uid: 1000,
        gid: 100,
        times: [(1_700_000_000, 0); 3],
        content,
    }
}

/// The tree of the base image: directories three deep, one of 70 names over two directory
/// blocks, files of one and of 80 extents (two extent blocks), holes, a preallocated extent, a
/// hard link across directories, symlinks inline and in a block, a FIFO and a character device.
fn tree() -> Tree {
    let bs = BLOCK_SIZE;
    let mut t: Tree = Vec::new();
    // 0 root, 1 d, 2 d/sub, 3 many, 4 small, 5 long, 6 short, 7 fifo, 8 tty, 9 big.
    let sub_entries = vec![
        (b"fifo".to_vec(), 7),
        (b"tty".to_vec(), 8),
        (b"hard".to_vec(), 4),
    ];
    let d_entries = vec![
        (b"sub".to_vec(), 2),
        (b"many".to_vec(), 3),
        (b"small".to_vec(), 4),
        (b"long".to_vec(), 5),
        (b"short".to_vec(), 6),
        (b"holes".to_vec(), 80),
        (b"prealloc".to_vec(), 81),
    ];
    let mut big = Vec::new();
    for i in 0..70usize {
        let name = format!("{i:03}-{}", "n".repeat(56));
        big.push((name.into_bytes(), 10 + i));
    }
    t.push(node(
        S_IFDIR | 0o755,
        Content::Dir(vec![(b"d".to_vec(), 1), (b"big".to_vec(), 9)]),
    ));
    t.push(node(S_IFDIR | 0o755, Content::Dir(d_entries)));
    t.push(node(S_IFDIR | 0o700, Content::Dir(sub_entries)));
    t.push(node(S_IFREG | 0o644, Content::File(data(3, 80 * bs))));
    t.push(node(S_IFREG | 0o644, Content::File(data(2, 5000))));
    t.push(node(
        S_IFLNK | 0o777,
        Content::Symlink(vec![b'L'; TARGET_LEN]),
    ));
    t.push(node(S_IFLNK | 0o777, Content::Symlink(b"sub/tty".to_vec())));
    t.push(node(S_IFIFO | 0o644, Content::Special(0)));
    t.push(node(S_IFCHR | 0o600, Content::Special(0x0501)));
    t.push(node(S_IFDIR | 0o755, Content::Dir(big)));
    for i in 0..70u8 {
        t.push(node(S_IFREG | 0o600, Content::File(vec![i; 10])));
    }
    // 80: holes between three extents; 81: a preallocated extent between two written ones.
    let mut holes = data(4, 40 * bs + 100);
    let mut prealloc = data(5, 16 * bs);
    let keep = |bytes: &mut Vec<u8>, pieces: &[Piece]| {
        for (i, b) in bytes.iter_mut().enumerate() {
            let blk = (i / bs) as u64;
            let written = pieces.iter().any(|p| {
                p.kind == EXTENT_REGULAR && (p.file_block..p.file_block + p.blocks).contains(&blk)
            });
            if !written {
                *b = 0;
            }
        }
    };
    let hole_pieces = vec![
        piece(0, 2, EXTENT_REGULAR),
        piece(10, 3, EXTENT_REGULAR),
        piece(30, 1, EXTENT_REGULAR),
    ];
    let prealloc_pieces = vec![
        piece(0, 4, EXTENT_REGULAR),
        piece(4, 8, EXTENT_PREALLOC),
        piece(12, 4, EXTENT_REGULAR),
    ];
    keep(&mut holes, &hole_pieces);
    keep(&mut prealloc, &prealloc_pieces);
    t.push(node(S_IFREG | 0o644, Content::Sparse(holes, hole_pieces)));
    t.push(node(
        S_IFREG | 0o644,
        Content::Sparse(prealloc, prealloc_pieces),
    ));
    t
}

/// The image every fuzzed one starts from: `fsck.emfs` finds it clean.
pub fn base_image() -> Result<Image, String> {
    debug_assert!(TARGET_LEN as u64 > INLINE_TARGET_MAX);
    let mut dev = Cursor::new(vec![0u8; BASE_BLOCKS as usize * BLOCK_SIZE]);
    let opts = Options {
        total_blocks: BASE_BLOCKS,
        inode_table_blocks: Some(6),
        uuid: *b"emfs-fuzz-v2!!!!",
        extent_blocks: 1,
        gaps: false,
    };
    let sb = mkfs(&mut dev, &opts, &tree())?;
    let mut bytes = dev.into_inner();
    // Slot 1: the same superblock one generation older, valid, so that both slots matter.
    let slot0 = super::block_of(&mut bytes, SB_SLOTS[0]).to_vec();
    let slot1 = super::block_of(&mut bytes, SB_SLOTS[1]);
    slot1.copy_from_slice(&slot0);
    super::put(slot1, 16, 8, sb.generation.saturating_sub(1));
    super::seal(&mut bytes, Place::Superblock(SB_SLOTS[1]));
    let places = places_of(&bytes, &sb);
    Ok(Image { bytes, places })
}

/// Every structure of the image, found from its superblock in slot 0.
fn places_of(bytes: &[u8], sb: &DiskSuperblock) -> Vec<Place> {
    let block = |blk: u64| -> [u8; BLOCK_SIZE] {
        let off = blk as usize * BLOCK_SIZE;
        bytes
            .get(off..off + BLOCK_SIZE)
            .and_then(|b| b.try_into().ok())
            .unwrap_or([0; BLOCK_SIZE])
    };
    let sb_block = block(SB_SLOTS[0]);
    let table: Vec<u64> = (0..sb.inode_table_blocks as usize)
        .map(|i| inode_table_block(&sb_block, i))
        .collect();
    let mut places: Vec<Place> = SB_SLOTS.iter().map(|&s| Place::Superblock(s)).collect();
    for ino in 1..sb.inode_count {
        let Some((blk, off)) = inode_location(&table, ino) else {
            continue;
        };
        let b = block(blk);
        let Ok(d) = DiskInode::decode(&b[off..off + INODE_SIZE], ino) else {
            continue;
        };
        if !d.in_use() {
            continue;
        }
        places.push(Place::Inode { ino, blk, off });
        places_owned(&block, &d, blk, off, sb.total_blocks, &mut places);
    }
    places
        .extend((0..sb.bitmap_blocks as usize).map(|i| Place::Bitmap(bitmap_block(&sb_block, i))));
    places
}

/// The places of what inode `d` (at byte `off` of block `blk`) owns.
fn places_owned(
    block: &impl Fn(u64) -> [u8; BLOCK_SIZE],
    d: &DiskInode,
    blk: u64,
    off: usize,
    total: u64,
    places: &mut Vec<Place>,
) {
    let mut next = d.first_block;
    let mut budget = 64;
    match d.kind() {
        S_IFREG => {
            while next != 0 && next < total && budget > 0 {
                budget -= 1;
                let Ok(h) = decode_extent_header(&block(next)) else {
                    break;
                };
                places.push(Place::Header(next));
                places.extend((0..h.count as usize).map(|i| Place::Record(next, i)));
                next = h.next;
            }
        }
        S_IFDIR => {
            while next != 0 && next < total && budget > 0 {
                budget -= 1;
                let b = block(next);
                let Ok(h) = decode_dir_block(&b, d.ino, u64::MAX) else {
                    break;
                };
                places.push(Place::Header(next));
                let mut at = DIR_HEADER_SIZE;
                for e in dir_entries(&b, &h) {
                    places.push(Place::Entry(next, at));
                    at += e.size();
                }
                next = h.next;
            }
        }
        S_IFLNK if next != 0 && next < total => places.push(Place::Target {
            blk: next,
            inode_blk: blk,
            off,
        }),
        _ => {}
    }
}
