// SPDX-License-Identifier: GPL-2.0

//! The image of the shrinker's test: one file whose data extents alternate with holes, so that
//! walking it with `SEEK_DATA`/`SEEK_HOLE` caches two extent maps per data extent, none of
//! them with a folio behind it.

use emfs_tools::format::*;
use emfs_tools::mkfs::{mkfs, write_file, Allocator, FileInode, Options};
use emfs_tools::{write_block, Device};
use std::io::SeekFrom;

/// The file's name.
pub const NAME: &str = "holes";

/// Blocks left free for the test's own writes.
const SLACK_BLOCKS: u64 = 1024;

/// The size in blocks of the image [`holes_image`] makes for `extents` data extents.
pub fn holes_blocks(extents: u64) -> u64 {
    let chain = extents.div_ceil(EXTENTS_PER_BLOCK as u64);
    2 + 1 + MAX_BITMAP_BLOCKS as u64 + extents + chain + SLACK_BLOCKS
}

/// What data block `k` of the file (file block `2k`) holds: its file offset, little-endian, in
/// its first 8 bytes, then zeros. The test checks every block it reads against this.
pub fn holes_block(k: u64) -> [u8; BLOCK_SIZE] {
    let mut b = [0u8; BLOCK_SIZE];
    b[..8].copy_from_slice(&(2 * k * BLOCK_SIZE as u64).to_le_bytes());
    b
}

/// Writes to `dev` (at least [`holes_blocks`] blocks) a file system holding the file [`NAME`]:
/// `extents` one-block data extents at file blocks 0, 2, 4, ..., each followed by a one-block
/// hole, the data contiguous on disk (so adjacent maps on disk never merge across the holes).
/// Its size ends with the last hole.
pub fn holes_image(dev: &mut impl Device, extents: u64) -> Result<Superblock, String> {
    let io = |e: std::io::Error| format!("I/O error: {e}");
    let opts = Options {
        total_blocks: holes_blocks(extents),
        inode_table_blocks: Some(1),
        uuid: *b"emfs-holes-image",
        time: 1_700_000_000,
    };
    let mut sb = mkfs(dev, &opts)?;
    let mut alloc = Allocator::new(&sb);
    let first = alloc.alloc(extents)?;
    // One seek, then the data blocks in order.
    dev.seek(SeekFrom::Start(first * BLOCK_SIZE as u64))
        .map_err(io)?;
    for k in 0..extents {
        dev.write_all(&holes_block(k)).map_err(io)?;
    }
    let bs = BLOCK_SIZE as u64;
    let records: Vec<ExtentRecord> = (0..extents)
        .map(|k| ExtentRecord::whole(2 * k * bs, bs, (first + k) * bs, 1, EXTENT_REGULAR))
        .collect();
    let inode = FileInode {
        ino: 2,
        name: NAME.as_bytes(),
        size: 2 * extents * bs,
        mtime: 1_700_000_000,
    };
    write_file(dev, &sb, &mut alloc, &inode, &records)?;
    alloc.finish(dev, &mut sb)?;
    // The last block, so that an image file has the file system's whole size.
    let last = sb.total_blocks - 1;
    write_block(dev, last, &[0u8; BLOCK_SIZE]).map_err(io)?;
    Ok(sb)
}
