// SPDX-License-Identifier: GPL-2.0

//! Plain values the traits take and return: inode attributes and parameters, file types,
//! `statfs` counts, the time.

use super::*;

/// An inode's attributes as the VFS holds them.
#[derive(Clone, Copy, Debug)]
pub struct InodeAttrs {
    /// Type and permission bits.
    pub mode: u16,
    /// Link count.
    pub nlink: u32,
    /// Size in bytes.
    pub size: i64,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Access time (seconds, nanoseconds).
    pub atime: (i64, u32),
    /// Modification time.
    pub mtime: (i64, u32),
    /// Change time.
    pub ctime: (i64, u32),
}

/// The current time (seconds, nanoseconds).
pub fn now() -> (i64, u32) {
    let mut ts = bindings::timespec64::default();
    // SAFETY: `ts` is valid for writes.
    unsafe { bindings::ktime_get_real_ts64(&mut ts) };
    (ts.tv_sec, ts.tv_nsec as u32)
}

/// What `statfs` reports (in 4 KiB blocks).
#[derive(Clone, Copy, Debug, Default)]
pub struct StatFs {
    /// Size of the file system.
    pub blocks: u64,
    /// Free blocks.
    pub free_blocks: u64,
    /// Blocks an unprivileged write can still get: the free ones less what the file system
    /// keeps for itself.
    pub avail_blocks: u64,
    /// Inode slots.
    pub files: u64,
    /// Free inode slots.
    pub free_files: u64,
    /// Longest name.
    pub name_max: u64,
}

/// The type of an inode: the seven of POSIX.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    /// A directory.
    Dir,
    /// A regular file.
    Reg,
    /// A symbolic link.
    Symlink,
    /// A FIFO.
    Fifo,
    /// A socket.
    Socket,
    /// A character device.
    CharDev,
    /// A block device.
    BlockDev,
}

impl FileType {
    /// The type of `mode` (its `S_IFMT` bits); `None` for none of the seven.
    pub fn from_mode(mode: u16) -> Option<Self> {
        match u32::from(mode) & bindings::S_IFMT {
            bindings::S_IFDIR => Some(Self::Dir),
            bindings::S_IFREG => Some(Self::Reg),
            bindings::S_IFLNK => Some(Self::Symlink),
            bindings::S_IFIFO => Some(Self::Fifo),
            bindings::S_IFSOCK => Some(Self::Socket),
            bindings::S_IFCHR => Some(Self::CharDev),
            bindings::S_IFBLK => Some(Self::BlockDev),
            _ => None,
        }
    }

    /// The `S_IFMT` bits of the type.
    pub fn mode_bits(self) -> u16 {
        let bits = match self {
            Self::Dir => bindings::S_IFDIR,
            Self::Reg => bindings::S_IFREG,
            Self::Symlink => bindings::S_IFLNK,
            Self::Fifo => bindings::S_IFIFO,
            Self::Socket => bindings::S_IFSOCK,
            Self::CharDev => bindings::S_IFCHR,
            Self::BlockDev => bindings::S_IFBLK,
        };
        // The `S_IF*` constants all fit in the 16 bits of `umode_t`.
        bits as u16
    }
}

/// What a new in-memory inode is made from.
pub struct InodeParams<D> {
    /// The type.
    pub ty: FileType,
    /// The 12 permission bits (others are ignored).
    pub perm: u16,
    /// A device node's device number (the kernel's `dev_t`); otherwise 0.
    pub rdev: u32,
    /// Size in bytes.
    pub size: i64,
    /// Link count.
    pub nlink: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Access time (seconds, nanoseconds).
    pub atime: (i64, u32),
    /// Modification time.
    pub mtime: (i64, u32),
    /// Change time.
    pub ctime: (i64, u32),
    /// The file system's own state for the inode, allocated and pinned by the file system
    /// (its only allocation: the inode keeps this box until it is evicted).
    pub data: Pin<KBox<D>>,
}
