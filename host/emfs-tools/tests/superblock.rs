// SPDX-License-Identifier: GPL-2.0

//! The superblock of format version 2: it round-trips with its block lists, each rule refuses
//! a block that breaks it (sealed again, so that only the rule can refuse it), a slot of
//! version 1 is told apart from a damaged one, and the feature words decide the mount.

use emfs_tools::format::{seal_block, FormatError, BLOCK_SIZE, SB_MAGIC};
use emfs_tools::mkfs::version_1_superblock;
use emfs_tools::superblock::*;

const TOTAL: u64 = 40000;

fn sample() -> (DiskSuperblock, Vec<u64>, Vec<u64>) {
    let itb = 20;
    let bmb = bitmap_blocks_for(TOTAL) as usize;
    let sb = DiskSuperblock {
        generation: 7,
        total_blocks: TOTAL,
        inode_count: 16 * itb,
        inode_table_blocks: itb,
        bitmap_blocks: bmb as u32,
        free_blocks: TOTAL - 30,
        uuid: *b"0123456789abcdef",
        compat: 0,
        ro_compat: 0,
        incompat: 0,
    };
    let table = (0..itb as u64).map(|i| 100 + 3 * i).collect();
    let bitmap = (0..bmb as u64).map(|i| 2 + i).collect();
    (sb, table, bitmap)
}

fn encoded() -> [u8; BLOCK_SIZE] {
    let (sb, table, bitmap) = sample();
    let mut b = [0u8; BLOCK_SIZE];
    sb.encode(&table, &bitmap, &mut b)
        .expect("a valid superblock");
    b
}

fn damaged(f: impl FnOnce(&mut [u8; BLOCK_SIZE])) -> Result<DiskSuperblock, FormatError> {
    let mut b = encoded();
    f(&mut b);
    seal_block(&mut b);
    DiskSuperblock::decode(&b)
}

fn put32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

fn put64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn round_trip_with_the_lists() {
    let (sb, table, bitmap) = sample();
    let b = encoded();
    assert_eq!(DiskSuperblock::decode(&b), Ok(sb));
    assert_eq!(
        probe(&b),
        Ok(SlotProbe {
            version: 2,
            generation: 7
        })
    );
    let read: Vec<u64> = (0..table.len()).map(|i| inode_table_block(&b, i)).collect();
    assert_eq!(read, table);
    assert_eq!(bitmap_block(&b, 0), bitmap[0]);
    // The layout of the format's table.
    assert_eq!(u64::from_le_bytes(b[72..80].try_into().unwrap()), 100);
    assert_eq!(u64::from_le_bytes(b[3144..3152].try_into().unwrap()), 2);
    assert_eq!(inode_location(&table, 0), None);
    assert_eq!(inode_location(&table, 17), Some((103, 256)));
    assert_eq!(inode_location(&table, 16 * 20), None);
}

#[test]
fn each_rule_refuses_its_damage() {
    let field = |w| Err(FormatError::BadField(w));
    let mut b = encoded();
    b[100] ^= 1;
    assert_eq!(DiskSuperblock::decode(&b), Err(FormatError::BadChecksum));
    assert_eq!(damaged(|b| b[0] ^= 1), Err(FormatError::BadMagic));
    assert_eq!(
        damaged(|b| put32(b, 12, 8192)),
        Err(FormatError::Unsupported)
    );
    assert_eq!(damaged(|b| put32(b, 8, 3)), Err(FormatError::Unsupported));
    assert_eq!(damaged(|b| put32(b, 36, 0)), field("inode_table_blocks"));
    assert_eq!(damaged(|b| put32(b, 36, 385)), field("inode_table_blocks"));
    assert_eq!(damaged(|b| put32(b, 32, 16 * 20 + 1)), field("inode_count"));
    assert_eq!(damaged(|b| put32(b, 40, 3)), field("bitmap_blocks"));
    assert_eq!(damaged(|b| put64(b, 48, TOTAL + 1)), field("free_blocks"));
    assert_eq!(
        damaged(|b| put64(b, 16, (1 << 62) + 1)),
        field("generation")
    );
    assert_eq!(damaged(|b| put32(b, 44, 1)), field("superblock reserved"));
    assert_eq!(damaged(|b| b[4091] = 1), field("superblock reserved"));
    let blocks = field("metadata block number");
    assert_eq!(damaged(|b| put64(b, 72, 1)), blocks);
    assert_eq!(damaged(|b| put64(b, 72 + 8 * 19, TOTAL)), blocks);
    // An entry past the used ones must be 0: it would be a block nobody frees.
    assert_eq!(damaged(|b| put64(b, 72 + 8 * 20, 500)), blocks);
    assert_eq!(damaged(|b| put64(b, 3144 + 8 * 2, 500)), blocks);
    assert_eq!(damaged(|b| put64(b, 3144, 0)), blocks);
}

#[test]
fn encode_refuses_what_decode_would() {
    let (sb, table, bitmap) = sample();
    let mut b = [0u8; BLOCK_SIZE];
    assert!(sb.encode(&table[1..], &bitmap, &mut b).is_err());
    let bad = DiskSuperblock {
        free_blocks: TOTAL + 1,
        ..sb
    };
    assert!(bad.encode(&table, &bitmap, &mut b).is_err());
    let mut out_of_range = table.clone();
    out_of_range[3] = TOTAL;
    assert!(sb.encode(&out_of_range, &bitmap, &mut b).is_err());
}

#[test]
fn a_version_1_slot_is_told_apart() {
    let mut b = version_1_superblock(3, TOTAL);
    assert_eq!(u64::from_le_bytes(b[..8].try_into().unwrap()), SB_MAGIC);
    assert_eq!(
        probe(&b),
        Ok(SlotProbe {
            version: 1,
            generation: 3
        })
    );
    assert_eq!(DiskSuperblock::decode(&b), Err(FormatError::Unsupported));
    b[200] ^= 1;
    assert_eq!(probe(&b), Err(FormatError::BadChecksum));
}

#[test]
fn features_decide_the_mount() {
    let (sb, _, _) = sample();
    assert_eq!(sb.read_only_features(), Ok(false));
    let compat = DiskSuperblock {
        compat: 1 << 5,
        ..sb
    };
    assert_eq!(compat.read_only_features(), Ok(false));
    let ro = DiskSuperblock { ro_compat: 1, ..sb };
    assert_eq!(ro.read_only_features(), Ok(true));
    let incompat = DiskSuperblock {
        incompat: 1 << 63,
        ..sb
    };
    assert_eq!(incompat.read_only_features(), Err(FormatError::Unsupported));
    // They are kept through the block.
    assert_eq!(damaged(|b| put64(b, 3664, 1)).map(|s| s.ro_compat), Ok(1));
}
