// SPDX-License-Identifier: GPL-2.0

//! The block rule, checked at mount as `fsck.emfs` checks it: every block is owned once
//! (superblock slots, inode table, bitmap, each inode's chain and data extents; the records of
//! one file may share an extent, two extents may not overlap), the bitmap says exactly that,
//! and the superblock's free count is the bitmap's.

use super::format::{bitmap_set, bitmap_test, ExtentRecord, BLOCK_SIZE};
use crate::kernel_ext::sort::sort_unstable;
use kernel::prelude::*;

const BS: u64 = BLOCK_SIZE as u64;

/// Checks the blocks of a file system of `total` blocks whose committed bitmap is `bitmap`
/// (its bits laid end to end) and whose superblock counts `free_blocks`: `meta` are the
/// blocks the superblock points to (its own slots included), `owners` each inode's chain
/// blocks and extent records. Each problem goes to `report`; returns how many there were.
pub fn check_blocks<'a>(
    total: u64,
    free_blocks: u64,
    bitmap: &[u8],
    meta: impl Iterator<Item = u64>,
    owners: impl Iterator<Item = (&'a [u64], &'a [ExtentRecord])>,
    report: &mut impl FnMut(core::fmt::Arguments<'_>),
) -> Result<u64> {
    let mut problems = 0;
    let mut owned = KVVec::from_elem(0u8, bitmap.len(), GFP_KERNEL)?;
    let mut claim = |blk: u64, problems: &mut u64| {
        let why = if blk >= total {
            "is beyond the file system"
        } else if bitmap_test(&owned, blk) {
            "is owned twice"
        } else {
            bitmap_set(&mut owned, blk, true);
            return;
        };
        *problems += 1;
        report(format_args!("block {} {}", blk, why));
    };
    for blk in meta {
        claim(blk, &mut problems);
    }
    for (chain, records) in owners {
        for &blk in chain {
            claim(blk, &mut problems);
        }
        // The file's data extents, each once: records of one file may share an extent (a
        // partly overwritten one), but two different extents, even of one file, must not
        // overlap.
        let mut extents = KVVec::with_capacity(records.len(), GFP_KERNEL)?;
        for r in records {
            extents.push((r.disk_bytenr / BS, r.disk_num_bytes / BS), GFP_KERNEL)?;
        }
        sort_unstable(&mut extents);
        for (n, &(start, len)) in extents.iter().enumerate() {
            if n > 0 && extents[n - 1] == (start, len) {
                continue;
            }
            for blk in start..start.saturating_add(len) {
                claim(blk, &mut problems);
            }
        }
    }
    // The bitmap must say exactly which blocks are owned; bits past the end are set.
    let bits = bitmap.len() as u64 * 8;
    let mut free = 0;
    for blk in 0..bits {
        let used = bitmap_test(bitmap, blk);
        let owned = blk >= total || bitmap_test(&owned, blk);
        if used != owned {
            problems += 1;
            report(format_args!(
                "block {}: bitmap says {}, the metadata says {}",
                blk,
                if used { "used" } else { "free" },
                if owned { "used" } else { "free" }
            ));
        }
        if !used && blk < total {
            free += 1;
        }
    }
    if free != free_blocks {
        problems += 1;
        report(format_args!(
            "superblock: {} free blocks, the bitmap has {}",
            free_blocks, free
        ));
    }
    Ok(problems)
}
