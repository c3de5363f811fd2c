// SPDX-License-Identifier: GPL-2.0

//! Inodes of the emfs format (`Documentation/filesystems/emfs.rst`, "Inodes"): a slot of an
//! inode-table block holding no name (names live in directory entries) but a parent, a device
//! number, a directory's next cookie and a short symlink target. Values
//! in, bytes out, as in [`super::format`]; [`DiskInode::decode`] checks every rule that one
//! slot keeps, so that a slot it accepts is one the rest of the code may trust field by field.

use super::dirent::{COOKIE_LIMIT, FIRST_COOKIE};
use super::format::{
    crc32c, get_u16, get_u32, get_u64, put_u16, put_u32, put_u64, FormatError, BLOCK_SIZE,
    INODE_SIZE, ROOT_INO, S_IFDIR, S_IFMT, S_IFREG,
};

/// FIFO.
pub const S_IFIFO: u16 = 0o010000;
/// Character device.
pub const S_IFCHR: u16 = 0o020000;
/// Block device.
pub const S_IFBLK: u16 = 0o060000;
/// Symbolic link.
pub const S_IFLNK: u16 = 0o120000;
/// Socket.
pub const S_IFSOCK: u16 = 0o140000;

/// Most links an inode may have; a directory's count is 2 plus its subdirectories.
pub const MAX_LINKS: u32 = 65000;
/// Longest symlink target: `PATH_MAX` less its NUL.
pub const SYMLINK_MAX: u64 = 4095;
/// Bytes of the inline area.
pub const INLINE_SIZE: usize = 148;
/// Longest target held inline: the area's last byte stays 0, so that the target is
/// NUL-terminated in place (the kernel's `i_link`).
pub const INLINE_TARGET_MAX: u64 = INLINE_SIZE as u64 - 1;

const INLINE_OFFSET: usize = 104;
const NSEC_PER_SEC: u32 = 1_000_000_000;

/// The kernel's `dev_t` (12-bit major, 20-bit minor: `MKDEV`) as the format keeps a device
/// number, `new_encode_dev`'s encoding (`include/linux/kdev_t.h`).
pub fn encode_kdev(dev: u32) -> u32 {
    let (major, minor) = (dev >> 20, dev & 0xf_ffff);
    (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12)
}

/// The format's device number as the kernel's `dev_t` (`new_decode_dev`).
pub fn decode_kdev(dev: u32) -> u32 {
    let major = (dev & 0xf_ff00) >> 8;
    let minor = (dev & 0xff) | ((dev >> 12) & 0xf_ff00);
    (major << 20) | minor
}

/// One inode slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskInode {
    /// Type and the 12 permission bits; 0 for a free slot.
    pub mode: u16,
    /// Link count.
    pub nlink: u32,
    /// Regular file: its bytes; directory: the sum of its entries' name lengths; symlink: the
    /// target's length; others 0.
    pub size: u64,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Access, modification and change times: seconds, nanoseconds.
    pub atime: (i64, u32),
    /// See `atime`.
    pub mtime: (i64, u32),
    /// See `atime`.
    pub ctime: (i64, u32),
    /// Transaction that last changed the inode or what it owns.
    pub generation: u64,
    /// First block of the extent chain (regular file), of the directory chain (directory), the
    /// target block (a symlink not held inline); else 0.
    pub first_block: u64,
    /// Extent records (regular file), entries (directory); else 0.
    pub count: u32,
    /// The inode's own number (a self-check).
    pub ino: u32,
    /// Directory: the directory that names it ([`ROOT_INO`] for the root, 0 for an orphan);
    /// else 0.
    pub parent: u32,
    /// Device number of a device node (`new_encode_dev`); else 0.
    pub rdev: u32,
    /// Directory: the cookie the next entry gets; else 0.
    pub next_cookie: u64,
    /// A symlink held inline: its target's length (= `size`); else 0.
    pub inline_len: u16,
    /// An inline symlink's target, zero-padded; a longer symlink's target-block CRC32C in its
    /// first 4 bytes; else zeros.
    pub inline: [u8; INLINE_SIZE],
}

impl DiskInode {
    /// A free slot.
    pub const FREE: DiskInode = DiskInode {
        mode: 0,
        nlink: 0,
        size: 0,
        uid: 0,
        gid: 0,
        atime: (0, 0),
        mtime: (0, 0),
        ctime: (0, 0),
        generation: 0,
        first_block: 0,
        count: 0,
        ino: 0,
        parent: 0,
        rdev: 0,
        next_cookie: 0,
        inline_len: 0,
        inline: [0; INLINE_SIZE],
    };

    /// Whether the slot is in use.
    pub fn in_use(&self) -> bool {
        self.mode != 0
    }

    /// The type bits of the mode (`S_IF*`).
    pub fn kind(&self) -> u16 {
        self.mode & S_IFMT
    }

    /// The `d_type` an entry naming this inode holds.
    pub fn dtype(&self) -> u8 {
        (self.mode >> 12) as u8
    }

    /// Whether a symlink's target is held inline (else in its target block).
    pub fn target_inline(&self) -> bool {
        self.size <= INLINE_TARGET_MAX
    }

    /// An inline symlink's target.
    pub fn inline_target(&self) -> Option<&[u8]> {
        if self.kind() != S_IFLNK || !self.target_inline() {
            return None;
        }
        self.inline.get(..self.inline_len as usize)
    }

    /// Encodes into `b` (one [`INODE_SIZE`] slot), with its checksum.
    pub fn encode(&self, b: &mut [u8]) {
        let b = &mut b[..INODE_SIZE];
        b.fill(0);
        if !self.in_use() {
            return;
        }
        put_u16(b, 0, self.mode);
        put_u16(b, 2, self.inline_len);
        put_u32(b, 4, self.nlink);
        put_u64(b, 8, self.size);
        put_u32(b, 16, self.uid);
        put_u32(b, 20, self.gid);
        put_u64(b, 24, self.atime.0 as u64);
        put_u64(b, 32, self.mtime.0 as u64);
        put_u64(b, 40, self.ctime.0 as u64);
        put_u32(b, 48, self.atime.1);
        put_u32(b, 52, self.mtime.1);
        put_u32(b, 56, self.ctime.1);
        put_u64(b, 64, self.generation);
        put_u64(b, 72, self.first_block);
        put_u32(b, 80, self.count);
        put_u32(b, 84, self.ino);
        put_u32(b, 88, self.parent);
        put_u32(b, 92, self.rdev);
        put_u64(b, 96, self.next_cookie);
        b[INLINE_OFFSET..INLINE_OFFSET + INLINE_SIZE].copy_from_slice(&self.inline);
        let csum = crc32c(&b[..INODE_SIZE - 4]);
        put_u32(b, INODE_SIZE - 4, csum);
    }

    /// Decodes slot `ino` of the inode table. A free slot is all zeros, checksum included;
    /// anything else must carry a valid checksum and keep [`DiskInode::validate`]'s rules.
    pub fn decode(b: &[u8], ino: u32) -> Result<Self, FormatError> {
        let b = &b[..INODE_SIZE];
        if b.iter().all(|&x| x == 0) {
            return Ok(Self::FREE);
        }
        if crc32c(&b[..INODE_SIZE - 4]) != get_u32(b, INODE_SIZE - 4) {
            return Err(FormatError::BadChecksum);
        }
        if get_u32(b, 60) != 0 {
            return Err(FormatError::BadField("inode flags"));
        }
        let mut inline = [0u8; INLINE_SIZE];
        inline.copy_from_slice(&b[INLINE_OFFSET..INLINE_OFFSET + INLINE_SIZE]);
        let inode = DiskInode {
            mode: get_u16(b, 0),
            inline_len: get_u16(b, 2),
            nlink: get_u32(b, 4),
            size: get_u64(b, 8),
            uid: get_u32(b, 16),
            gid: get_u32(b, 20),
            atime: (get_u64(b, 24) as i64, get_u32(b, 48)),
            mtime: (get_u64(b, 32) as i64, get_u32(b, 52)),
            ctime: (get_u64(b, 40) as i64, get_u32(b, 56)),
            generation: get_u64(b, 64),
            first_block: get_u64(b, 72),
            count: get_u32(b, 80),
            ino: get_u32(b, 84),
            parent: get_u32(b, 88),
            rdev: get_u32(b, 92),
            next_cookie: get_u64(b, 96),
            inline,
        };
        inode.validate(ino)?;
        Ok(inode)
    }

    /// The rules of one slot in use as inode `ino`: its number, one of the seven types (the
    /// root a directory), nanoseconds below 10^9, at most [`MAX_LINKS`] links, and each
    /// field that the inode's type does not use 0 (see the format's table).
    pub fn validate(&self, ino: u32) -> Result<(), FormatError> {
        if self.ino != ino || ino == 0 {
            return Err(FormatError::BadField("inode number"));
        }
        if [self.atime.1, self.mtime.1, self.ctime.1]
            .iter()
            .any(|&ns| ns >= NSEC_PER_SEC)
        {
            return Err(FormatError::BadField("inode time"));
        }
        if self.nlink > MAX_LINKS {
            return Err(FormatError::BadField("link count"));
        }
        if self.size > i64::MAX as u64 {
            return Err(FormatError::BadField("size"));
        }
        if ino == ROOT_INO && self.kind() != S_IFDIR {
            return Err(FormatError::BadField("root mode"));
        }
        let unused = |what: &'static str, zero: bool| {
            if zero {
                Ok(())
            } else {
                Err(FormatError::BadField(what))
            }
        };
        let owns_nothing = self.first_block == 0 && self.count == 0;
        let chain = (self.first_block == 0) == (self.count == 0);
        let inline_zero = self.inline_len == 0 && self.inline.iter().all(|&c| c == 0);
        match self.kind() {
            S_IFREG => {
                unused("file fields", chain && self.parent == 0 && self.rdev == 0)?;
                unused("file fields", self.next_cookie == 0 && inline_zero)
            }
            S_IFDIR => {
                unused("directory fields", chain && self.rdev == 0 && inline_zero)?;
                self.validate_dir(ino)
            }
            S_IFLNK => {
                unused("symlink fields", self.count == 0 && self.parent == 0)?;
                unused("symlink fields", self.rdev == 0 && self.next_cookie == 0)?;
                self.validate_symlink()
            }
            S_IFIFO | S_IFSOCK | S_IFCHR | S_IFBLK => {
                let dev = matches!(self.kind(), S_IFCHR | S_IFBLK);
                unused("special file fields", owns_nothing && self.size == 0)?;
                unused(
                    "special file fields",
                    self.parent == 0 && self.next_cookie == 0,
                )?;
                unused(
                    "special file fields",
                    inline_zero && (dev || self.rdev == 0),
                )
            }
            _ => Err(FormatError::BadField("mode")),
        }
    }

    /// A directory's own rules: a next cookie in range and above as many cookies as it has
    /// entries; 2 to [`MAX_LINKS`] links and a parent, or, an orphan, 0 links, no entries and
    /// parent 0; the root its own parent.
    fn validate_dir(&self, ino: u32) -> Result<(), FormatError> {
        if !(FIRST_COOKIE..=COOKIE_LIMIT).contains(&self.next_cookie)
            || u64::from(self.count) > self.next_cookie - FIRST_COOKIE
        {
            return Err(FormatError::BadField("next cookie"));
        }
        let orphan = self.nlink == 0;
        // Its size, like any directory's, is the chain walk's rule (read-only, not inode bad).
        if orphan && (self.count != 0 || self.parent != 0 || ino == ROOT_INO) {
            return Err(FormatError::BadField("orphan directory"));
        }
        if !orphan && (self.nlink < 2 || self.parent == 0) {
            return Err(FormatError::BadField("directory links"));
        }
        if ino == ROOT_INO && self.parent != ROOT_INO {
            return Err(FormatError::BadField("root parent"));
        }
        Ok(())
    }

    /// A symlink's own rules: a target of 1 to [`SYMLINK_MAX`] bytes; inline iff at most
    /// [`INLINE_TARGET_MAX`] bytes, without NUL and zero-padded; else in a target block, with
    /// only that block's checksum in the inline area.
    fn validate_symlink(&self) -> Result<(), FormatError> {
        if !(1..=SYMLINK_MAX).contains(&self.size) {
            return Err(FormatError::BadField("symlink size"));
        }
        let len = self.size as usize;
        let ok = if self.target_inline() {
            self.first_block == 0
                && self.inline_len as usize == len
                && !self.inline[..len].contains(&0)
                && self.inline[len..].iter().all(|&c| c == 0)
        } else {
            self.first_block != 0
                && self.inline_len == 0
                && self.inline[4..].iter().all(|&c| c == 0)
        };
        if !ok {
            return Err(FormatError::BadField("symlink target"));
        }
        Ok(())
    }

    /// Sets a symlink's target: the inode's size, and the target inline or, for a longer one,
    /// the checksum of `block`, which the caller fills with [`encode_target_block`] and writes
    /// at `first_block`.
    pub fn set_target(&mut self, target: &[u8], block: &[u8; BLOCK_SIZE]) {
        if !self.set_inline_target(target) {
            put_u32(&mut self.inline, 0, crc32c(block));
        }
    }

    /// Sets a symlink's size to `target`'s length and, if the target is held inline, the
    /// target; returns whether it is. A longer target leaves the inline area zero until its
    /// block is written ([`DiskInode::set_target`]).
    pub fn set_inline_target(&mut self, target: &[u8]) -> bool {
        self.size = target.len() as u64;
        self.inline = [0; INLINE_SIZE];
        self.inline_len = 0;
        if !self.target_inline() {
            return false;
        }
        self.inline_len = target.len() as u16;
        self.inline[..target.len()].copy_from_slice(target);
        true
    }

    /// The target of a symlink that is not held inline, from its target block, once the block
    /// keeps its rules: its checksum (in the inode) matches, the target has no NUL and the
    /// bytes past it are zero.
    pub fn block_target<'a>(&self, block: &'a [u8; BLOCK_SIZE]) -> Result<&'a [u8], FormatError> {
        if self.kind() != S_IFLNK || self.target_inline() || self.size > SYMLINK_MAX {
            return Err(FormatError::BadField("symlink target"));
        }
        if crc32c(block) != get_u32(&self.inline, 0) {
            return Err(FormatError::BadChecksum);
        }
        let (target, rest) = block.split_at(self.size as usize);
        if target.contains(&0) || rest.iter().any(|&c| c != 0) {
            return Err(FormatError::BadField("symlink target block"));
        }
        Ok(target)
    }
}

/// Fills a target block with `target` (longer than [`INLINE_TARGET_MAX`], at most
/// [`SYMLINK_MAX`] bytes), zero-padded.
pub fn encode_target_block(b: &mut [u8; BLOCK_SIZE], target: &[u8]) -> Result<(), FormatError> {
    let len = target.len() as u64;
    if len <= INLINE_TARGET_MAX || len > SYMLINK_MAX || target.contains(&0) {
        return Err(FormatError::BadField("symlink target"));
    }
    b.fill(0);
    b[..target.len()].copy_from_slice(target);
    Ok(())
}
