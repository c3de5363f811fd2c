// SPDX-License-Identifier: GPL-2.0

//! Host tools for emfs: `mkfs.emfs` and `fsck.emfs`, built on `emfs/format.rs`, the file the
//! kernel module compiles too.

// The kernel's clippy holds this file to the kernel's minimum Rust (1.78, `.clippy.toml`),
// which has neither `is_multiple_of` nor `Option::is_none_or`: the host's newer clippy must
// not ask for them.
#[allow(clippy::manual_is_multiple_of, clippy::unnecessary_map_or)]
#[path = "../../../emfs/format.rs"]
pub mod format;

#[path = "../../../emfs/dirent.rs"]
pub mod dirent;

#[path = "../../../emfs/dinode.rs"]
pub mod dinode;

#[path = "../../../emfs/superblock.rs"]
pub mod superblock;

#[path = "../../../emfs/ns_check.rs"]
pub mod ns_check;

#[path = "../../../emfs/crc32c_vectors.rs"]
pub mod crc32c_vectors;

mod blocks;
pub mod fsck;
pub mod mkfs;
pub mod names;
pub mod report;

use format::BLOCK_SIZE;

/// The format's checksum (see [`format`]): the standard CRC-32C, from the `crc32c` crate (which
/// uses the CPU's CRC32 instruction where it has one).
pub fn crc32c(data: &[u8]) -> u32 {
    ::crc32c::crc32c(data)
}
use std::io::{self, Read, Seek, SeekFrom, Write};

/// Something blocks can be read from and written to: a block device or an image file.
pub trait Device: Read + Write + Seek {}
impl<T: Read + Write + Seek> Device for T {}

/// Reads block `blk`.
pub fn read_block(dev: &mut impl Device, blk: u64) -> io::Result<[u8; BLOCK_SIZE]> {
    let mut b = [0u8; BLOCK_SIZE];
    dev.seek(SeekFrom::Start(blk * BLOCK_SIZE as u64))?;
    dev.read_exact(&mut b)?;
    Ok(b)
}

/// Writes block `blk`.
pub fn write_block(dev: &mut impl Device, blk: u64, b: &[u8; BLOCK_SIZE]) -> io::Result<()> {
    dev.seek(SeekFrom::Start(blk * BLOCK_SIZE as u64))?;
    dev.write_all(b)
}

/// The size of a device or image in whole blocks.
pub fn device_blocks(dev: &mut impl Device) -> io::Result<u64> {
    Ok(dev.seek(SeekFrom::End(0))? / BLOCK_SIZE as u64)
}
