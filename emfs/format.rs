// SPDX-License-Identifier: GPL-2.0

//! The emfs on-disk format: layouts, encoding, checksums. Values in, bytes out; no kernel or
//! std dependencies, so that the kernel module and the host tools (`mkfs.emfs`, `fsck.emfs`)
//! compile this same file. `Documentation/filesystems/emfs.rst` describes the format.
//!
//! The checksum comes from the side that compiles the file: its parent module provides
//! `crc32c(&[u8]) -> u32`, the standard CRC-32C (the kernel's `crc32c()` in the module, the
//! `crc32c` crate on the host).

pub use super::crc32c;

/// Block size: the only one emfs supports.
pub const BLOCK_SIZE: usize = 4096;
/// Where every full-block metadata block keeps the CRC32C of its first 4092 bytes.
pub const CSUM_OFFSET: usize = BLOCK_SIZE - 4;

/// Superblock magic, "EmFsSb01" little-endian.
pub const SB_MAGIC: u64 = u64::from_le_bytes(*b"EmFsSb01");
/// The two superblock slots (block numbers). The valid one with the higher generation wins.
pub const SB_SLOTS: [u64; 2] = [0, 1];
/// The highest generation a valid superblock has.
pub const MAX_GENERATION: u64 = 1 << 62;

/// Bytes per inode.
pub const INODE_SIZE: usize = 256;
/// Inodes per inode-table block.
pub const INODES_PER_BLOCK: usize = BLOCK_SIZE / INODE_SIZE;
/// Inode number of the root directory (0 is never used).
pub const ROOT_INO: u32 = 1;

/// Extent-block magic, "EmEx" little-endian.
pub const EXTENT_MAGIC: u32 = u32::from_le_bytes(*b"EmEx");
/// Bytes of an extent-block header.
pub const EXTENT_HEADER_SIZE: usize = 32;
/// Bytes per extent record.
pub const EXTENT_RECORD_SIZE: usize = 64;
/// Extent records per extent block.
pub const EXTENTS_PER_BLOCK: usize = (CSUM_OFFSET - EXTENT_HEADER_SIZE) / EXTENT_RECORD_SIZE;

/// Allocation bits per bitmap block (the last 4 bytes are its checksum).
pub const BITS_PER_BITMAP_BLOCK: u64 = (CSUM_OFFSET * 8) as u64;

/// `S_IFMT`, and the directory and regular-file types (`dinode.rs` has the others).
pub const S_IFMT: u16 = 0o170000;
/// Directory.
pub const S_IFDIR: u16 = 0o040000;
/// Regular file.
pub const S_IFREG: u16 = 0o100000;

/// Extent kinds.
pub const EXTENT_REGULAR: u32 = 1;
/// Preallocated: allocated, reads as zeros.
pub const EXTENT_PREALLOC: u32 = 2;

/// Why a block does not decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatError {
    /// Wrong magic number.
    BadMagic,
    /// Unsupported version or block size.
    Unsupported,
    /// The checksum does not match.
    BadChecksum,
    /// A field is out of its range.
    BadField(&'static str),
}

impl FormatError {
    /// What is wrong, for a message.
    pub fn what(&self) -> &'static str {
        match self {
            Self::BadMagic => "bad magic",
            Self::Unsupported => "unsupported version or block size",
            Self::BadChecksum => "bad checksum",
            Self::BadField(what) => what,
        }
    }
}

pub(crate) fn get_u16(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}

pub(crate) fn get_u32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

pub(crate) fn get_u64(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

pub(crate) fn put_u16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_le_bytes());
}

pub(crate) fn put_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

pub(crate) fn put_u64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

/// Stores the checksum of a full metadata block.
pub fn seal_block(block: &mut [u8; BLOCK_SIZE]) {
    let csum = crc32c(&block[..CSUM_OFFSET]);
    put_u32(block, CSUM_OFFSET, csum);
}

/// Whether a full metadata block's checksum matches.
pub fn block_csum_ok(block: &[u8; BLOCK_SIZE]) -> bool {
    crc32c(&block[..CSUM_OFFSET]) == get_u32(block, CSUM_OFFSET)
}

/// One file-extent record: file range `[file_offset, file_offset + len)` maps to
/// `[disk_bytenr + offset, ...)` inside the on-disk extent `[disk_bytenr, disk_bytenr +
/// disk_num_bytes)`, as an extmap map does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExtentRecord {
    /// First file byte.
    pub file_offset: u64,
    /// Length in bytes (a multiple of the block size).
    pub len: u64,
    /// Byte address of the whole on-disk extent.
    pub disk_bytenr: u64,
    /// Length of the whole on-disk extent.
    pub disk_num_bytes: u64,
    /// Offset of `file_offset`'s data into the extent.
    pub offset: u64,
    /// Uncompressed size of the extent (emfs does not compress: equals `disk_num_bytes`).
    pub ram_bytes: u64,
    /// Transaction that wrote the record.
    pub generation: u64,
    /// [`EXTENT_REGULAR`] or [`EXTENT_PREALLOC`].
    pub kind: u32,
}

impl ExtentRecord {
    /// The record of a new extent used whole: `len` bytes of the file from `file_offset`,
    /// stored uncompressed at disk byte `disk_bytenr`, written in transaction `generation`;
    /// `kind` is [`EXTENT_REGULAR`] or [`EXTENT_PREALLOC`].
    pub fn whole(file_offset: u64, len: u64, disk_bytenr: u64, generation: u64, kind: u32) -> Self {
        Self {
            file_offset,
            len,
            disk_bytenr,
            disk_num_bytes: len,
            offset: 0,
            ram_bytes: len,
            generation,
            kind,
        }
    }

    /// One past the last file byte.
    pub fn end(&self) -> u64 {
        self.file_offset.saturating_add(self.len)
    }

    fn encode(&self, b: &mut [u8]) {
        put_u64(b, 0, self.file_offset);
        put_u64(b, 8, self.len);
        put_u64(b, 16, self.disk_bytenr);
        put_u64(b, 24, self.disk_num_bytes);
        put_u64(b, 32, self.offset);
        put_u64(b, 40, self.ram_bytes);
        put_u64(b, 48, self.generation);
        put_u32(b, 56, self.kind);
        put_u32(b, 60, 0);
    }

    fn decode(b: &[u8]) -> Self {
        ExtentRecord {
            file_offset: get_u64(b, 0),
            len: get_u64(b, 8),
            disk_bytenr: get_u64(b, 16),
            disk_num_bytes: get_u64(b, 24),
            offset: get_u64(b, 32),
            ram_bytes: get_u64(b, 40),
            generation: get_u64(b, 48),
            kind: get_u32(b, 56),
        }
    }

    /// Field checks that need nothing but the record: alignment, non-empty, the file range
    /// inside the disk extent, a known kind.
    pub fn validate(&self) -> Result<(), FormatError> {
        let bs = BLOCK_SIZE as u64;
        if self.len == 0 || self.disk_num_bytes == 0 {
            return Err(FormatError::BadField("extent length"));
        }
        if self.file_offset % bs != 0
            || self.len % bs != 0
            || self.disk_bytenr % bs != 0
            || self.disk_num_bytes % bs != 0
            || self.offset % bs != 0
        {
            return Err(FormatError::BadField("extent alignment"));
        }
        if self
            .offset
            .checked_add(self.len)
            .map_or(true, |e| e > self.disk_num_bytes)
            || self.ram_bytes != self.disk_num_bytes
        {
            return Err(FormatError::BadField("extent range"));
        }
        if self.file_offset.checked_add(self.len).is_none()
            || self.disk_bytenr.checked_add(self.disk_num_bytes).is_none()
        {
            return Err(FormatError::BadField("extent overflow"));
        }
        if self.kind != EXTENT_REGULAR && self.kind != EXTENT_PREALLOC {
            return Err(FormatError::BadField("extent kind"));
        }
        Ok(())
    }

    /// The rules for a record in its file, shared by the kernel's mount and `fsck.emfs`: the
    /// record is valid, starts at or after `prev_end` (the end of the file's previous record,
    /// 0 for the first), is no newer than the superblock's `generation`, its disk extent lies
    /// inside the `total_blocks` of the file system, and, unless preallocated (`fallocate
    /// --keep-size` reserves space past the size), it starts inside the file's `size`
    /// rounded up to a block.
    pub fn validate_in_file(
        &self,
        prev_end: u64,
        size: u64,
        generation: u64,
        total_blocks: u64,
    ) -> Result<(), FormatError> {
        self.validate()?;
        if self.file_offset < prev_end {
            return Err(FormatError::BadField(
                "extent unsorted or overlaps the previous one",
            ));
        }
        if self.generation > generation {
            return Err(FormatError::BadField("extent from a future generation"));
        }
        let bs = BLOCK_SIZE as u64;
        if (self.disk_bytenr + self.disk_num_bytes) / bs > total_blocks {
            return Err(FormatError::BadField("extent beyond the file system"));
        }
        if self.kind == EXTENT_REGULAR && self.file_offset >= size.div_ceil(bs).saturating_mul(bs) {
            return Err(FormatError::BadField("extent lies beyond the size"));
        }
        Ok(())
    }
}

/// The header of a block of a chain: an extent block or a directory block, which share its
/// layout after their magic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChainHeader {
    /// Records (or entries) in this block.
    pub count: u32,
    /// The inode the block belongs to.
    pub ino: u32,
    /// Next block of the chain, 0 at the end.
    pub next: u64,
    /// Transaction that wrote the block.
    pub generation: u64,
}

/// The header of an extent block.
pub type ExtentBlockHeader = ChainHeader;

/// Starts a chain block: zeros, then `magic` and `header`. The caller adds the body and seals.
pub(crate) fn put_chain_header(b: &mut [u8; BLOCK_SIZE], magic: u32, header: &ChainHeader) {
    b.fill(0);
    put_u32(b, 0, magic);
    put_u32(b, 4, header.count);
    put_u32(b, 8, header.ino);
    put_u64(b, 16, header.next);
    put_u64(b, 24, header.generation);
}

/// Reads a chain block's header after checking `magic` and the checksum.
pub(crate) fn get_chain_header(
    b: &[u8; BLOCK_SIZE],
    magic: u32,
) -> Result<ChainHeader, FormatError> {
    if get_u32(b, 0) != magic {
        return Err(FormatError::BadMagic);
    }
    if !block_csum_ok(b) {
        return Err(FormatError::BadChecksum);
    }
    Ok(ChainHeader {
        count: get_u32(b, 4),
        ino: get_u32(b, 8),
        next: get_u64(b, 16),
        generation: get_u64(b, 24),
    })
}

/// Encodes an extent block from its header and records (at most [`EXTENTS_PER_BLOCK`]).
pub fn encode_extent_block(
    b: &mut [u8; BLOCK_SIZE],
    header: &ExtentBlockHeader,
    records: &[ExtentRecord],
) -> Result<(), FormatError> {
    if records.len() > EXTENTS_PER_BLOCK || records.len() != header.count as usize {
        return Err(FormatError::BadField("extent count"));
    }
    put_chain_header(b, EXTENT_MAGIC, header);
    for (i, r) in records.iter().enumerate() {
        let off = EXTENT_HEADER_SIZE + i * EXTENT_RECORD_SIZE;
        r.encode(&mut b[off..off + EXTENT_RECORD_SIZE]);
    }
    seal_block(b);
    Ok(())
}

/// Decodes an extent block's header after checking magic and checksum.
pub fn decode_extent_header(b: &[u8; BLOCK_SIZE]) -> Result<ExtentBlockHeader, FormatError> {
    let h = get_chain_header(b, EXTENT_MAGIC)?;
    if h.count as usize > EXTENTS_PER_BLOCK {
        return Err(FormatError::BadField("extent count"));
    }
    Ok(h)
}

/// Record `i` of a decoded extent block (`i < header.count`).
pub fn extent_record(b: &[u8; BLOCK_SIZE], i: usize) -> ExtentRecord {
    let off = EXTENT_HEADER_SIZE + i * EXTENT_RECORD_SIZE;
    ExtentRecord::decode(&b[off..off + EXTENT_RECORD_SIZE])
}

/// Whether bit `bit` is set in bitmap `b`: one bitmap block (covering blocks from
/// `index * BITS_PER_BITMAP_BLOCK`), or the allocation bits of several laid end to end.
pub fn bitmap_test(b: &[u8], bit: u64) -> bool {
    let bit = bit as usize;
    b[bit / 8] & (1 << (bit % 8)) != 0
}

/// Marks a bit of a bitmap (as in [`bitmap_test`]) used or free.
pub fn bitmap_set(b: &mut [u8], bit: u64, used: bool) {
    let bit = bit as usize;
    if used {
        b[bit / 8] |= 1 << (bit % 8);
    } else {
        b[bit / 8] &= !(1 << (bit % 8));
    }
}
