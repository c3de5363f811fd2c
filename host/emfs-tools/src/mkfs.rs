// SPDX-License-Identifier: GPL-2.0

//! Making an empty emfs.

use crate::format::*;
use crate::{write_block, Device};

/// What to make.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Size in blocks.
    pub total_blocks: u64,
    /// Inode-table blocks (16 inodes each); `None` picks one per 256 blocks, 1 to 64.
    pub inode_table_blocks: Option<u32>,
    /// File-system id.
    pub uuid: [u8; 16],
    /// Creation time of the root directory (seconds since the epoch).
    pub time: i64,
}

/// Writes an empty file system: both superblock slots (generation 1 in slot 0, slot 1
/// invalidated), the inode table with the root directory, the bitmap.
pub fn mkfs(dev: &mut impl Device, opts: &Options) -> Result<Superblock, String> {
    let total = opts.total_blocks;
    let itb = opts
        .inode_table_blocks
        .unwrap_or_else(|| (total / 256).clamp(1, MAX_INODE_TABLE_BLOCKS as u64) as u32);
    if itb == 0 || itb as usize > MAX_INODE_TABLE_BLOCKS {
        return Err(format!(
            "inode table blocks must be 1 to {MAX_INODE_TABLE_BLOCKS}"
        ));
    }
    let bmb = bitmap_blocks_for(total);
    if bmb as usize > MAX_BITMAP_BLOCKS {
        return Err(format!(
            "{total} blocks is too large (at most {} blocks)",
            MAX_BITMAP_BLOCKS as u64 * BITS_PER_BITMAP_BLOCK
        ));
    }
    let meta = 2 + itb as u64 + bmb;
    if total < meta + 1 {
        return Err(format!(
            "{total} blocks is too small (at least {})",
            meta + 1
        ));
    }

    let mut sb = Superblock {
        generation: 1,
        total_blocks: total,
        inode_count: itb * INODES_PER_BLOCK as u32,
        inode_table_blocks: itb,
        bitmap_blocks: bmb as u32,
        free_blocks: total - meta,
        uuid: opts.uuid,
        inode_table: [0; MAX_INODE_TABLE_BLOCKS],
        bitmap: [0; MAX_BITMAP_BLOCKS],
    };
    for i in 0..itb as usize {
        sb.inode_table[i] = 2 + i as u64;
    }
    for i in 0..bmb as usize {
        sb.bitmap[i] = 2 + itb as u64 + i as u64;
    }

    let io = |e: std::io::Error| format!("write failed: {e}");
    let mut block = [0u8; BLOCK_SIZE];
    for i in 0..itb as usize {
        block.fill(0);
        if i == 0 {
            let root = Inode {
                mode: S_IFDIR | 0o755,
                nlink: 2,
                atime: (opts.time, 0),
                mtime: (opts.time, 0),
                ctime: (opts.time, 0),
                generation: 1,
                ino: ROOT_INO,
                ..Inode::FREE
            };
            let off = ROOT_INO as usize * INODE_SIZE;
            root.encode(&mut block[off..off + INODE_SIZE]);
        }
        write_block(dev, sb.inode_table[i], &block).map_err(io)?;
    }
    for i in 0..bmb {
        block.fill(0);
        let first = i * BITS_PER_BITMAP_BLOCK;
        for bit in 0..BITS_PER_BITMAP_BLOCK {
            let blk = first + bit;
            if blk < meta || blk >= total {
                // Metadata is used; bits past the end stay set so nothing allocates there.
                bitmap_set(&mut block, bit, true);
            }
        }
        seal_block(&mut block);
        write_block(dev, sb.bitmap[i as usize], &block).map_err(io)?;
    }
    // Slot 1 is invalidated first, so that a stale superblock from an older file system on
    // the device can never win.
    block.fill(0);
    write_block(dev, SB_SLOTS[1], &block).map_err(io)?;
    sb.encode(&mut block);
    write_block(dev, SB_SLOTS[0], &block).map_err(io)?;
    dev.flush().map_err(io)?;
    Ok(sb)
}
