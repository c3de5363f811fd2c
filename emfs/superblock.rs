// SPDX-License-Identifier: GPL-2.0

//! The superblock of the emfs format, version 2 (`Documentation/filesystems/emfs.rst`,
//! "Superblock"). Values in, bytes out, as in [`super::format`].
//!
//! [`DiskSuperblock`] holds the header fields only. The block lists (up to 384 inode-table and 64
//! bitmap blocks, 3.5 KiB) stay in the block, read with [`inode_table_block`] and
//! [`bitmap_block`] into storage of the caller's choosing: a value of that size must not live
//! on a kernel stack, and would if the struct held the lists (a mount holds a candidate from
//! each slot).

use super::format::{
    block_csum_ok, get_u32, get_u64, put_u32, put_u64, seal_block, FormatError,
    BITS_PER_BITMAP_BLOCK, BLOCK_SIZE, CSUM_OFFSET, INODES_PER_BLOCK, INODE_SIZE, MAX_GENERATION,
    SB_MAGIC,
};

/// The format version this module reads and writes.
pub const VERSION: u32 = 2;
/// Inode-table blocks a superblock can point to.
pub const MAX_INODE_TABLE_BLOCKS: usize = 384;
/// Bitmap blocks a superblock can point to.
pub const MAX_BITMAP_BLOCKS: usize = 64;
/// Incompatible features this code knows (none yet): another one refuses the mount.
pub const INCOMPAT_KNOWN: u64 = 0;
/// Read-only-compatible features this code knows (none yet): another one makes the mount
/// read-only.
pub const RO_COMPAT_KNOWN: u64 = 0;

const INODE_TABLE_LIST: usize = 72;
const BITMAP_LIST: usize = INODE_TABLE_LIST + 8 * MAX_INODE_TABLE_BLOCKS;
const FEATURES: usize = BITMAP_LIST + 8 * MAX_BITMAP_BLOCKS;
const RESERVED: usize = FEATURES + 24;

/// What every superblock slot of any version keeps: magic, checksum, block size. Enough to
/// choose between the two slots before looking at the version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotProbe {
    /// The slot's format version.
    pub version: u32,
    /// Its generation (the same place in every version).
    pub generation: u64,
}

/// Checks what every superblock slot keeps, whatever its version: magic, block size, checksum.
pub fn probe(b: &[u8; BLOCK_SIZE]) -> Result<SlotProbe, FormatError> {
    if get_u64(b, 0) != SB_MAGIC {
        return Err(FormatError::BadMagic);
    }
    if get_u32(b, 12) != BLOCK_SIZE as u32 {
        return Err(FormatError::Unsupported);
    }
    if !block_csum_ok(b) {
        return Err(FormatError::BadChecksum);
    }
    Ok(SlotProbe {
        version: get_u32(b, 8),
        generation: get_u64(b, 16),
    })
}

/// The on-disk superblock's header fields (the VFS object is `vfs::SuperBlock`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskSuperblock {
    /// Transaction id of the commit that wrote it.
    pub generation: u64,
    /// Size of the file system in blocks.
    pub total_blocks: u64,
    /// Inode slots (`inode_table_blocks * INODES_PER_BLOCK`).
    pub inode_count: u32,
    /// Number of inode-table blocks.
    pub inode_table_blocks: u32,
    /// Number of bitmap blocks.
    pub bitmap_blocks: u32,
    /// Free blocks, as the bitmap says.
    pub free_blocks: u64,
    /// Identifies the file system.
    pub uuid: [u8; 16],
    /// Compatible features: ignored if unknown.
    pub compat: u64,
    /// Read-only-compatible features: read-only if one is unknown.
    pub ro_compat: u64,
    /// Incompatible features: no mount if one is unknown.
    pub incompat: u64,
}

/// Bitmap blocks needed for `total_blocks`.
pub fn bitmap_blocks_for(total_blocks: u64) -> u64 {
    total_blocks.div_ceil(BITS_PER_BITMAP_BLOCK)
}

/// Entry `i` (below [`MAX_INODE_TABLE_BLOCKS`]) of the inode-table list of superblock `b`.
pub fn inode_table_block(b: &[u8; BLOCK_SIZE], i: usize) -> u64 {
    get_u64(b, INODE_TABLE_LIST + 8 * i)
}

/// Entry `i` (below [`MAX_BITMAP_BLOCKS`]) of the bitmap list of superblock `b`.
pub fn bitmap_block(b: &[u8; BLOCK_SIZE], i: usize) -> u64 {
    get_u64(b, BITMAP_LIST + 8 * i)
}

impl DiskSuperblock {
    /// Encodes with its block lists (`inode_table_blocks` and `bitmap_blocks` entries) into a
    /// sealed block, after checking its fields as [`DiskSuperblock::decode`] would.
    pub fn encode(
        &self,
        inode_table: &[u64],
        bitmap: &[u64],
        b: &mut [u8; BLOCK_SIZE],
    ) -> Result<(), FormatError> {
        self.validate()?;
        if inode_table.len() != self.inode_table_blocks as usize
            || bitmap.len() != self.bitmap_blocks as usize
        {
            return Err(FormatError::BadField("block list length"));
        }
        b.fill(0);
        put_u64(b, 0, SB_MAGIC);
        put_u32(b, 8, VERSION);
        put_u32(b, 12, BLOCK_SIZE as u32);
        put_u64(b, 16, self.generation);
        put_u64(b, 24, self.total_blocks);
        put_u32(b, 32, self.inode_count);
        put_u32(b, 36, self.inode_table_blocks);
        put_u32(b, 40, self.bitmap_blocks);
        put_u64(b, 48, self.free_blocks);
        b[56..72].copy_from_slice(&self.uuid);
        for (i, &blk) in inode_table.iter().enumerate() {
            put_u64(b, INODE_TABLE_LIST + 8 * i, blk);
        }
        for (i, &blk) in bitmap.iter().enumerate() {
            put_u64(b, BITMAP_LIST + 8 * i, blk);
        }
        put_u64(b, FEATURES, self.compat);
        put_u64(b, FEATURES + 8, self.ro_compat);
        put_u64(b, FEATURES + 16, self.incompat);
        if !self.lists_ok(b) {
            return Err(FormatError::BadField("metadata block number"));
        }
        seal_block(b);
        Ok(())
    }

    /// Decodes and checks a superblock of version 2: what [`probe`] checks, the version, the
    /// counts, the block lists within the file system, zeros in the unused list entries and the
    /// reserved bytes. Another version gives [`FormatError::Unsupported`]: [`probe`] tells which.
    pub fn decode(b: &[u8; BLOCK_SIZE]) -> Result<Self, FormatError> {
        if probe(b)?.version != VERSION {
            return Err(FormatError::Unsupported);
        }
        let mut uuid = [0; 16];
        uuid.copy_from_slice(&b[56..72]);
        let sb = DiskSuperblock {
            generation: get_u64(b, 16),
            total_blocks: get_u64(b, 24),
            inode_count: get_u32(b, 32),
            inode_table_blocks: get_u32(b, 36),
            bitmap_blocks: get_u32(b, 40),
            free_blocks: get_u64(b, 48),
            uuid,
            compat: get_u64(b, FEATURES),
            ro_compat: get_u64(b, FEATURES + 8),
            incompat: get_u64(b, FEATURES + 16),
        };
        sb.validate()?;
        if get_u32(b, 44) != 0 || b[RESERVED..CSUM_OFFSET].iter().any(|&c| c != 0) {
            return Err(FormatError::BadField("superblock reserved"));
        }
        if !sb.lists_ok(b) {
            return Err(FormatError::BadField("metadata block number"));
        }
        Ok(sb)
    }

    /// Range checks of the header fields.
    pub fn validate(&self) -> Result<(), FormatError> {
        let itb = self.inode_table_blocks as usize;
        let bmb = self.bitmap_blocks as usize;
        if itb == 0 || itb > MAX_INODE_TABLE_BLOCKS {
            return Err(FormatError::BadField("inode_table_blocks"));
        }
        if self.inode_count as usize != itb * INODES_PER_BLOCK {
            return Err(FormatError::BadField("inode_count"));
        }
        if bmb > MAX_BITMAP_BLOCKS || bmb as u64 != bitmap_blocks_for(self.total_blocks) {
            return Err(FormatError::BadField("bitmap_blocks"));
        }
        if self.total_blocks < 4 {
            return Err(FormatError::BadField("total_blocks"));
        }
        if self.free_blocks > self.total_blocks {
            return Err(FormatError::BadField("free_blocks"));
        }
        // Commits count generations up from here: leave them room, so that the count can
        // never overflow.
        if self.generation > MAX_GENERATION {
            return Err(FormatError::BadField("generation"));
        }
        Ok(())
    }

    /// Whether the used list entries of `b` are block numbers past the superblock slots and
    /// inside the file system, and the unused ones 0.
    fn lists_ok(&self, b: &[u8; BLOCK_SIZE]) -> bool {
        let in_range = |blk: u64| blk >= 2 && blk < self.total_blocks;
        let itb = self.inode_table_blocks as usize;
        let bmb = self.bitmap_blocks as usize;
        (0..MAX_INODE_TABLE_BLOCKS).all(|i| {
            let blk = inode_table_block(b, i);
            if i < itb {
                in_range(blk)
            } else {
                blk == 0
            }
        }) && (0..MAX_BITMAP_BLOCKS).all(|i| {
            let blk = bitmap_block(b, i);
            if i < bmb {
                in_range(blk)
            } else {
                blk == 0
            }
        })
    }

    /// How the file system may be mounted given its features: `Ok(false)` read-write,
    /// `Ok(true)` read-only only (an unknown read-only-compatible feature), an error if an
    /// incompatible feature is unknown. Unknown compatible features are ignored.
    pub fn read_only_features(&self) -> Result<bool, FormatError> {
        if self.incompat & !INCOMPAT_KNOWN != 0 {
            return Err(FormatError::Unsupported);
        }
        Ok(self.ro_compat & !RO_COMPAT_KNOWN != 0)
    }
}

/// The block holding inode `ino` given the inode-table list, and the inode's byte offset in
/// it; `None` for inode 0 or past the table.
pub fn inode_location(inode_table: &[u64], ino: u32) -> Option<(u64, usize)> {
    let idx = ino as usize / INODES_PER_BLOCK;
    if ino == 0 {
        return None;
    }
    Some((
        *inode_table.get(idx)?,
        (ino as usize % INODES_PER_BLOCK) * INODE_SIZE,
    ))
}

/// What a mount of a version-1 image says (`Documentation/filesystems/emfs.rst`).
pub const V1_REFUSED: &str =
    "format version 1 is not supported (flat namespace); make the file system again with mkfs.emfs";
