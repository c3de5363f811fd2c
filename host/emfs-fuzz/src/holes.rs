// SPDX-License-Identifier: GPL-2.0

//! The image of the shrinker's test: one file whose data extents alternate with holes, so that
//! walking it with `SEEK_DATA`/`SEEK_HOLE` caches two extent maps per data extent, none of
//! them with a folio behind it.

use emfs_tools::format::{BLOCK_SIZE, EXTENTS_PER_BLOCK, EXTENT_REGULAR, S_IFDIR, S_IFREG};
use emfs_tools::mkfs::{mkfs, Content, Fill, InodeSpec, Options, Piece};
use emfs_tools::superblock::{DiskSuperblock, MAX_BITMAP_BLOCKS};
use emfs_tools::{write_block, Device};

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
pub fn holes_image(dev: &mut impl Device, extents: u64) -> Result<DiskSuperblock, String> {
    let time = (1_700_000_000, 0);
    let pieces = (0..extents)
        .map(|k| Piece {
            file_block: 2 * k,
            blocks: 1,
            kind: EXTENT_REGULAR,
        })
        .collect();
    let tree = vec![
        InodeSpec {
            mode: S_IFDIR | 0o755,
            uid: 0,
            gid: 0,
            times: [time; 3],
            content: Content::Dir(vec![(NAME.as_bytes().to_vec(), 1)]),
        },
        InodeSpec {
            mode: S_IFREG | 0o644,
            uid: 0,
            gid: 0,
            times: [time; 3],
            // File block 2k holds data block k.
            content: Content::Generated(
                2 * extents * BLOCK_SIZE as u64,
                pieces,
                Fill(|b| holes_block(b / 2)),
            ),
        },
    ];
    let opts = Options {
        total_blocks: holes_blocks(extents),
        inode_table_blocks: Some(1),
        uuid: *b"emfs-holes-image",
        extent_blocks: 1,
        gaps: false,
    };
    let sb = mkfs(dev, &opts, &tree)?;
    // The last block, so that an image file has the file system's whole size.
    let last = sb.total_blocks - 1;
    write_block(dev, last, &[0u8; BLOCK_SIZE]).map_err(|e| format!("I/O error: {e}"))?;
    Ok(sb)
}
