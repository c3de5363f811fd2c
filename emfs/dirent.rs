// SPDX-License-Identifier: GPL-2.0

//! Directory blocks of the emfs format: a directory's entries, packed in a chain of
//! blocks sorted by cookie (`Documentation/filesystems/emfs.rst`, "Directories"). Values in,
//! bytes out, as in [`super::format`]; the rules that one block must keep are checked here, the
//! rules of a whole chain (cookies rising across blocks, unique names, the count) by its reader.

use super::format::{
    get_chain_header, get_u16, get_u32, get_u64, put_chain_header, put_u16, put_u32, put_u64,
    seal_block, ChainHeader, FormatError, BLOCK_SIZE, CSUM_OFFSET,
};

/// Directory-block magic, "EmDr" little-endian.
pub const DIR_MAGIC: u32 = u32::from_le_bytes(*b"EmDr");
/// Bytes of a directory-block header.
pub const DIR_HEADER_SIZE: usize = 32;
/// Bytes of an entry before its name.
pub const DIRENT_HEADER_SIZE: usize = 16;
/// Entries start at multiples of this.
pub const DIRENT_ALIGN: usize = 8;
/// Longest name.
pub const DIR_NAME_MAX: usize = 255;
/// The first cookie an entry can have: readdir positions 0 and 1 are `.` and `..`.
pub const FIRST_COOKIE: u64 = 2;
/// Cookies stay below this: a readdir position is a signed `loff_t`.
pub const COOKIE_LIMIT: u64 = i64::MAX as u64;

/// The `d_type` values an entry may hold (`mode >> 12` of the inode it names).
pub const DT_FIFO: u8 = 1;
/// Character device.
pub const DT_CHR: u8 = 2;
/// Directory.
pub const DT_DIR: u8 = 4;
/// Block device.
pub const DT_BLK: u8 = 6;
/// Regular file.
pub const DT_REG: u8 = 8;
/// Symbolic link.
pub const DT_LNK: u8 = 10;
/// Socket.
pub const DT_SOCK: u8 = 12;

/// Whether `t` is one of the seven types an entry may name.
pub fn dtype_valid(t: u8) -> bool {
    matches!(
        t,
        DT_FIFO | DT_CHR | DT_DIR | DT_BLK | DT_REG | DT_LNK | DT_SOCK
    )
}

/// Whether `name` may be stored: 1 to [`DIR_NAME_MAX`] bytes, no `/` and no NUL, not `.` or
/// `..` (which are not stored).
pub fn name_valid(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= DIR_NAME_MAX
        && name != b"."
        && name != b".."
        && !name.iter().any(|&c| c == b'/' || c == 0)
}

/// Bytes an entry with a name of `name_len` bytes takes in a block, padding included.
pub const fn dirent_size(name_len: usize) -> usize {
    DIRENT_HEADER_SIZE + name_len.div_ceil(DIRENT_ALIGN) * DIRENT_ALIGN
}

/// Room for entries in one block.
pub const DIR_BLOCK_SPACE: usize = CSUM_OFFSET - DIR_HEADER_SIZE;

/// One directory entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirEntry<'a> {
    /// Its readdir position: at least [`FIRST_COOKIE`], unique in the directory.
    pub cookie: u64,
    /// The inode it names.
    pub ino: u32,
    /// The type of that inode (`DT_*`).
    pub dtype: u8,
    /// The name, valid by [`name_valid`].
    pub name: &'a [u8],
}

impl DirEntry<'_> {
    /// Bytes it takes in a block.
    pub fn size(&self) -> usize {
        dirent_size(self.name.len())
    }

    /// Whether its fields keep the rules of one entry.
    pub fn validate(&self) -> Result<(), FormatError> {
        if !(FIRST_COOKIE..COOKIE_LIMIT).contains(&self.cookie) {
            return Err(FormatError::BadField("entry cookie"));
        }
        if self.ino == 0 {
            return Err(FormatError::BadField("entry inode number"));
        }
        if !dtype_valid(self.dtype) {
            return Err(FormatError::BadField("entry type"));
        }
        if !name_valid(self.name) {
            return Err(FormatError::BadField("entry name"));
        }
        Ok(())
    }
}

/// The header of a directory block.
pub type DirBlockHeader = ChainHeader;

/// How many of `entries`, from the first, fit in one directory block.
pub fn entries_fitting(entries: &[DirEntry<'_>]) -> usize {
    let mut used = 0;
    entries
        .iter()
        .take_while(|e| {
            used += e.size();
            used <= DIR_BLOCK_SPACE
        })
        .count()
}

/// Encodes a directory block of `entries` (at least one, all fitting, valid, cookies rising);
/// `header.count` must be their number.
pub fn encode_dir_block(
    b: &mut [u8; BLOCK_SIZE],
    header: &DirBlockHeader,
    entries: &[DirEntry<'_>],
) -> Result<(), FormatError> {
    if entries.len() != header.count as usize {
        return Err(FormatError::BadField("directory block count"));
    }
    let mut w = DirBlockWriter::new(b, header.ino, header.next, header.generation);
    for e in entries {
        w.push(e)?;
    }
    w.finish()
}

/// Writes a directory block entry by entry, with the checks of [`encode_dir_block`], for a
/// caller whose entries are in no array (the kernel's are in a tree).
///
/// # Examples
///
/// ```
/// use emfs_tools::dirent::*;
/// use emfs_tools::format::{ChainHeader, FormatError, BLOCK_SIZE};
///
/// // Directory 5, the last block of its chain, generation 1.
/// let mut b = [0u8; BLOCK_SIZE];
/// let mut w = DirBlockWriter::new(&mut b, 5, 0, 1);
/// assert!(w.fits(b"a"));
/// w.push(&DirEntry { cookie: 2, ino: 6, dtype: DT_REG, name: b"a" })?;
/// w.finish()?;
/// assert_eq!(decode_dir_block(&b, 5, 1)?.count, 1);
/// # Ok::<(), FormatError>(())
/// ```
pub struct DirBlockWriter<'b> {
    b: &'b mut [u8; BLOCK_SIZE],
    written: u32,
    off: usize,
    last: u64,
}

impl<'b> DirBlockWriter<'b> {
    /// Starts block `b` of directory `ino`'s chain, followed by block `next` (0: the last),
    /// written by transaction `generation`; its count is what [`DirBlockWriter::finish`] finds.
    pub fn new(b: &'b mut [u8; BLOCK_SIZE], ino: u32, next: u64, generation: u64) -> Self {
        let header = ChainHeader {
            count: 0,
            ino,
            next,
            generation,
        };
        put_chain_header(b, DIR_MAGIC, &header);
        DirBlockWriter {
            b,
            written: 0,
            off: DIR_HEADER_SIZE,
            last: 0,
        }
    }

    /// Whether an entry named `name` still fits.
    pub fn fits(&self, name: &[u8]) -> bool {
        self.off + dirent_size(name.len()) <= CSUM_OFFSET
    }

    /// Appends `e`: valid, fitting, its cookie above the last one's.
    pub fn push(&mut self, e: &DirEntry<'_>) -> Result<(), FormatError> {
        e.validate()?;
        if e.cookie <= self.last {
            return Err(FormatError::BadField("entry cookie"));
        }
        if !self.fits(e.name) {
            return Err(FormatError::BadField("directory block count"));
        }
        let (b, off) = (&mut *self.b, self.off);
        put_u64(b, off, e.cookie);
        put_u32(b, off + 8, e.ino);
        b[off + 12] = e.dtype;
        // `name_valid` bounds the length to 255.
        put_u16(b, off + 14, e.name.len() as u16);
        b[off + DIRENT_HEADER_SIZE..off + DIRENT_HEADER_SIZE + e.name.len()]
            .copy_from_slice(e.name);
        self.off += e.size();
        self.last = e.cookie;
        self.written += 1;
        Ok(())
    }

    /// Writes the count and seals the block, which must hold at least one entry.
    pub fn finish(self) -> Result<(), FormatError> {
        if self.written == 0 {
            return Err(FormatError::BadField("directory block count"));
        }
        put_u32(self.b, 4, self.written);
        seal_block(self.b);
        Ok(())
    }
}

/// The entry at byte `off` of a block, if its fixed part and name lie in the entry area.
fn entry_at(b: &[u8; BLOCK_SIZE], off: usize) -> Option<DirEntry<'_>> {
    if off + DIRENT_HEADER_SIZE > CSUM_OFFSET {
        return None;
    }
    let len = get_u16(b, off + 14) as usize;
    let name = b.get(off + DIRENT_HEADER_SIZE..off + DIRENT_HEADER_SIZE + len)?;
    if off + dirent_size(len) > CSUM_OFFSET {
        return None;
    }
    Some(DirEntry {
        cookie: get_u64(b, off),
        ino: get_u32(b, off + 8),
        dtype: b[off + 12],
        name,
    })
}

/// Decodes directory block `b` of directory `ino` after checking every rule that one block
/// keeps: magic, checksum, owner, a generation of at most `max_generation`, at least one
/// entry, each entry valid and inside the block with its cookie above the one before, zeros
/// in reserved bytes, padding and the tail after the last entry.
pub fn decode_dir_block(
    b: &[u8; BLOCK_SIZE],
    ino: u32,
    max_generation: u64,
) -> Result<DirBlockHeader, FormatError> {
    let h = get_chain_header(b, DIR_MAGIC)?;
    if h.ino != ino {
        return Err(FormatError::BadField("directory block owner"));
    }
    if h.generation > max_generation {
        return Err(FormatError::BadField("directory block generation"));
    }
    if get_u32(b, 12) != 0 {
        return Err(FormatError::BadField("directory block reserved"));
    }
    if h.count == 0 || h.count as usize > DIR_BLOCK_SPACE / dirent_size(1) {
        return Err(FormatError::BadField("directory block count"));
    }
    let mut off = DIR_HEADER_SIZE;
    let mut last = 0;
    for _ in 0..h.count {
        let e = entry_at(b, off).ok_or(FormatError::BadField("entry outside its block"))?;
        e.validate()?;
        if e.cookie <= last {
            return Err(FormatError::BadField("entry cookie"));
        }
        last = e.cookie;
        let end = off + e.size();
        if b[off + 13] != 0
            || b[off + DIRENT_HEADER_SIZE + e.name.len()..end]
                .iter()
                .any(|&c| c != 0)
        {
            return Err(FormatError::BadField("entry padding"));
        }
        off = end;
    }
    if b[off..CSUM_OFFSET].iter().any(|&c| c != 0) {
        return Err(FormatError::BadField("directory block tail"));
    }
    Ok(h)
}

/// The entries of a block that [`decode_dir_block`] accepted, in order.
pub fn dir_entries<'a>(
    b: &'a [u8; BLOCK_SIZE],
    header: &DirBlockHeader,
) -> impl Iterator<Item = DirEntry<'a>> + 'a {
    let mut off = DIR_HEADER_SIZE;
    (0..header.count).map_while(move |_| {
        let e = entry_at(b, off)?;
        off += e.size();
        Some(e)
    })
}

/// The rules of a directory's whole chain, checked block by block as its reader follows it:
/// cookies rising across blocks and below the directory's next cookie, the entries found equal
/// to the directory's count (no block past the last entry, none missing), and the directory's
/// size. The chain is never longer than the count, so a loop is found within `count` blocks.
///
/// # Examples
///
/// ```
/// use emfs_tools::dirent::*;
/// use emfs_tools::format::{ChainHeader, FormatError, BLOCK_SIZE};
///
/// // Directory 5 with two entries in one block; its next cookie is 4.
/// let entries = [
///     DirEntry { cookie: 2, ino: 6, dtype: DT_REG, name: b"a" },
///     DirEntry { cookie: 3, ino: 7, dtype: DT_DIR, name: b"sub" },
/// ];
/// let header = ChainHeader { count: 2, ino: 5, next: 0, generation: 1 };
/// let mut b = [0u8; BLOCK_SIZE];
/// encode_dir_block(&mut b, &header, &entries)?;
///
/// let mut walk = ChainWalk::new(2, 4);
/// let h = decode_dir_block(&b, 5, 1)?;
/// assert_eq!(walk.block(&b, &h)?, 0);
/// assert_eq!(walk.finish(4), Ok(true));
///
/// // The same block read for a directory that counts three entries: its chain ends early.
/// let mut walk = ChainWalk::new(3, 5);
/// assert!(walk.block(&b, &h).is_err());
/// # Ok::<(), FormatError>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ChainWalk {
    count: u32,
    next_cookie: u64,
    seen: u32,
    last_cookie: u64,
    name_bytes: u64,
}

impl ChainWalk {
    /// The walk of a directory with `count` entries whose next cookie is `next_cookie`.
    pub fn new(count: u32, next_cookie: u64) -> Self {
        ChainWalk {
            count,
            next_cookie,
            seen: 0,
            last_cookie: 0,
            name_bytes: 0,
        }
    }

    /// Takes the next block of the chain, which [`decode_dir_block`] accepted; returns the
    /// block to read after it, 0 at the end.
    pub fn block(&mut self, b: &[u8; BLOCK_SIZE], h: &DirBlockHeader) -> Result<u64, FormatError> {
        // Each block holds at least one entry, so this bounds the walk.
        if h.count > self.count - self.seen {
            return Err(FormatError::BadField("directory count"));
        }
        for e in dir_entries(b, h) {
            if e.cookie <= self.last_cookie || e.cookie >= self.next_cookie {
                return Err(FormatError::BadField("entry cookie"));
            }
            self.last_cookie = e.cookie;
            self.name_bytes += e.name.len() as u64;
        }
        self.seen += h.count;
        if (self.seen == self.count) != (h.next == 0) {
            return Err(FormatError::BadField("directory count"));
        }
        Ok(h.next)
    }

    /// Ends the walk of a chain (an empty directory's too): every entry was found. Returns
    /// whether the directory's `size` is the sum of its names' lengths, a rule whose failure
    /// makes the file system read-only rather than the directory unreadable.
    pub fn finish(&self, size: u64) -> Result<bool, FormatError> {
        if self.seen != self.count {
            return Err(FormatError::BadField("directory count"));
        }
        Ok(size == self.name_bytes)
    }
}
