// SPDX-License-Identifier: GPL-2.0

//! The block rules a check applies (`Documentation/filesystems/emfs.rst`, "File extents"
//! and "Allocation bitmap"): each file's extent chain and records, every block owned once, the
//! bitmap and the free count saying exactly what is owned.

use crate::format::{
    bitmap_test, block_csum_ok, decode_extent_header, extent_record, ExtentRecord,
    BITS_PER_BITMAP_BLOCK, BLOCK_SIZE,
};
use crate::report::Report;
use crate::{read_block, Device};
use std::collections::{BTreeMap, HashMap, HashSet};

/// What owns a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Owner {
    DiskSuperblock,
    InodeTable,
    Bitmap,
    ExtentBlock(u32),
    DirBlock(u32),
    TargetBlock(u32),
    /// A data extent `(disk_bytenr, disk_num_bytes)` of a file.
    Data(u32, u64, u64),
}

/// What the checks of a file's extents need of the superblock.
pub(crate) struct Limits {
    pub(crate) generation: u64,
    pub(crate) total_blocks: u64,
}

/// What the checks of a file's extents need of its inode.
pub(crate) struct ExtentChain {
    pub(crate) first_block: u64,
    pub(crate) count: u32,
    pub(crate) size: u64,
}

/// The bitmap (blocks `bitmap`) must say exactly which blocks `owners` holds, and the
/// superblock's count of free blocks (`free_blocks`) agree.
pub(crate) fn check_bitmap(
    dev: &mut impl Device,
    bitmap: &[u64],
    sb: &Limits,
    free_blocks: u64,
    owners: &HashMap<u64, Owner>,
    r: &mut Report,
) -> std::io::Result<()> {
    let mut free = 0;
    for (i, &blk) in bitmap.iter().enumerate() {
        let block = read_block(dev, blk)?;
        if !block_csum_ok(&block) {
            r.error(format!("bitmap block {i} (block {blk}): bad checksum"));
            continue;
        }
        let first = i as u64 * BITS_PER_BITMAP_BLOCK;
        for bit in 0..BITS_PER_BITMAP_BLOCK {
            let b = first + bit;
            let used = bitmap_test(&block, bit);
            let owned = b >= sb.total_blocks || owners.contains_key(&b);
            if used != owned {
                r.error(format!(
                    "block {b}: bitmap says {}, but it is {}",
                    if used { "used" } else { "free" },
                    match owners.get(&b) {
                        Some(o) => format!("owned by {o:?}"),
                        None => "owned by nothing".into(),
                    }
                ));
            }
            if !used && b < sb.total_blocks {
                free += 1;
            }
        }
    }
    if free != free_blocks {
        r.error(format!(
            "superblock: {} free blocks, the bitmap has {free}",
            free_blocks
        ));
    }
    Ok(())
}

/// Follows inode `ino`'s extent chain (`inode`): each block's rules and owner, the count of
/// its records, each record's rules in its file; claims every block it owns.
pub(crate) fn check_extents(
    dev: &mut impl Device,
    sb: &Limits,
    ino: u32,
    inode: &ExtentChain,
    r: &mut Report,
    claim: &mut impl FnMut(&mut Report, u64, Owner),
) -> std::io::Result<()> {
    let mut records: Vec<ExtentRecord> = Vec::new();
    let mut blk = inode.first_block;
    let mut seen = HashSet::new();
    while blk != 0 {
        if blk >= sb.total_blocks || !seen.insert(blk) {
            r.error(format!(
                "inode {ino}: extent chain points to block {blk} (out of range or a loop)"
            ));
            break;
        }
        claim(r, blk, Owner::ExtentBlock(ino));
        let block = read_block(dev, blk)?;
        let h = match decode_extent_header(&block) {
            Ok(h) => h,
            Err(e) => {
                r.error(format!("inode {ino}: extent block {blk}: {e:?}"));
                break;
            }
        };
        if h.ino != ino {
            r.error(format!(
                "inode {ino}: extent block {blk} belongs to inode {}",
                h.ino
            ));
        }
        if h.generation > sb.generation {
            r.error(format!(
                "inode {ino}: extent block {blk} is from the future generation {}",
                h.generation
            ));
        }
        for i in 0..h.count as usize {
            records.push(extent_record(&block, i));
        }
        blk = h.next;
    }
    if records.len() != inode.count as usize {
        r.error(format!(
            "inode {ino}: {} extent records, the inode says {}",
            records.len(),
            inode.count
        ));
    }
    r.extents += records.len() as u64;
    let bs = BLOCK_SIZE as u64;
    let mut extents: BTreeMap<u64, u64> = BTreeMap::new();
    let mut prev_end = 0;
    for (i, rec) in records.iter().enumerate() {
        if let Err(e) = rec.validate() {
            r.error(format!("inode {ino}: extent {i} {rec:?}: {e:?}"));
            continue;
        }
        // The kernel's mount applies the same rules; a record that breaks one still owns its
        // blocks (its disk extent is valid), so only the rule is reported.
        if let Err(e) = rec.validate_in_file(prev_end, inode.size, sb.generation, sb.total_blocks) {
            r.error(format!(
                "inode {ino}: extent {i} at {} (size {}, generation {}): {}",
                rec.file_offset,
                inode.size,
                rec.generation,
                e.what()
            ));
        }
        prev_end = prev_end.max(rec.end());
        // Records may share one disk extent (a partly overwritten extent), but two different
        // disk extents must not overlap.
        match extents.get(&rec.disk_bytenr) {
            Some(&len) if len == rec.disk_num_bytes => continue,
            Some(&len) => {
                r.error(format!(
                    "inode {ino}: disk extent at {} has lengths {len} and {}",
                    rec.disk_bytenr, rec.disk_num_bytes
                ));
                continue;
            }
            None => {
                extents.insert(rec.disk_bytenr, rec.disk_num_bytes);
            }
        }
        // Past the end a block is reported once: a crafted length must not make fsck claim
        // 2^50 blocks.
        let first = rec.disk_bytenr / bs;
        let end = first.saturating_add(rec.disk_num_bytes / bs);
        for b in first..end.min(sb.total_blocks.saturating_add(1)) {
            claim(r, b, Owner::Data(ino, rec.disk_bytenr, rec.disk_num_bytes));
        }
    }
    Ok(())
}
