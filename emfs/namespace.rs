// SPDX-License-Identifier: GPL-2.0

//! The namespace of an emfs in memory: every inode with, for a directory,
//! its entries and, for a symlink, its target; and the operations that change them (`mkdir`,
//! `mknod`, `symlink`, `create`, `link`, `unlink`, `rmdir`, `rename` with its flags).
//!
//! Each operation keeps the rules of `Documentation/filesystems/emfs.rst` ("Rules"): link
//! counts, parent fields, directory sizes, counts and next cookies match the entries after it,
//! so that [`Namespace::check`] (the namespace check `fsck.emfs` runs) holds between any two
//! operations. Each one checks and allocates everything it needs before it changes anything:
//! one that fails leaves the namespace as it was.
//!
//! What the VFS checks before calling a file system (a directory renamed into its own subtree,
//! hard links to directories, the link limit through `s_max_links`) is checked here again: the
//! tree's rules depend on it, and the cost is a walk up the parents.

use super::dinode::{
    DiskInode, MAX_LINKS, SYMLINK_MAX, S_IFBLK, S_IFCHR, S_IFIFO, S_IFLNK, S_IFSOCK,
};
use super::dir::Dir;
use super::dirent::{DIR_NAME_MAX, DT_DIR, FIRST_COOKIE};
use super::format::{ExtentRecord, EXTENTS_PER_BLOCK, ROOT_INO, S_IFDIR, S_IFMT, S_IFREG};
use super::ns_check::{self, InodeFacts, Link};
use crate::kernel_ext::errno::{enametoolong, enotempty, euclean};
use kernel::prelude::*;

mod rename;

/// Seconds and nanoseconds.
pub type Time = (i64, u32);

/// `rename`'s flags, with the kernel's values (`include/uapi/linux/fs.h`).
pub const RENAME_NOREPLACE: u32 = 1;
/// See [`RENAME_NOREPLACE`].
pub const RENAME_EXCHANGE: u32 = 2;
/// See [`RENAME_NOREPLACE`].
pub const RENAME_WHITEOUT: u32 = 4;

/// One inode of the namespace in memory: its slot as the next commit writes it and what it
/// owns (entries, target, extent records).
pub struct NsInode {
    /// The inode as the next commit writes it (its chain fields excepted, which the commit
    /// sets).
    pub disk: DiskInode,
    /// A directory's entries; `None` for anything else.
    pub dir: Option<Dir>,
    /// A symlink's target; empty for anything else.
    pub target: KVec<u8>,
    /// The inode changed since the last commit.
    pub dirty: bool,
    /// What the inode owns besides itself changed since the last commit: a file's records, a
    /// directory's entries or a symlink's target; the commit rewrites its chain.
    pub chain_dirty: bool,
    /// A regular file's extent records, sorted, not overlapping (`kvmalloc`: a file may have
    /// more records than `kmalloc` serves at once); empty for anything else.
    pub records: KVVec<ExtentRecord>,
    /// The blocks of the last commit that the inode owns besides its slot: its extent chain,
    /// its directory chain, or its target block.
    pub chain: KVec<u64>,
    /// The slot, or what it owns, did not load: never written, never used.
    pub bad: bool,
    /// A regular file's folios that hold a space reservation ([`State::reserve`]) and whose
    /// writes are not recorded yet: each may still add records ([`NsInode::chain_bound`]).
    ///
    /// [`State::reserve`]: super::state::State::reserve
    pub dirty_blocks: u64,
    /// Holes being punched in a regular file ([`State::reserve_punch`]): each may split a
    /// record in two.
    ///
    /// [`State::reserve_punch`]: super::state::State::reserve_punch
    pub punches: u64,
}

impl NsInode {
    /// A free slot.
    pub fn free() -> Self {
        NsInode {
            disk: DiskInode::FREE,
            dir: None,
            target: KVec::new(),
            dirty: false,
            chain_dirty: false,
            records: KVVec::new(),
            chain: KVec::new(),
            bad: false,
            dirty_blocks: 0,
            punches: 0,
        }
    }

    /// Blocks the next commit may need for what the inode owns besides its slot, at most: a
    /// new chain, for records that may grow by two for every dirty block (a write into the
    /// middle of an extent splits it in three), by one for every hole being punched and by two
    /// more for any one other change; a
    /// directory's entry blocks; a symlink's target.
    pub fn chain_bound(&self) -> u64 {
        match self.disk.kind() {
            S_IFREG => {
                let records = self.records.len() as u64 + 2 + 2 * self.dirty_blocks + self.punches;
                records.div_ceil(EXTENTS_PER_BLOCK as u64)
            }
            S_IFDIR => self.dir.as_ref().map_or(0, |d| d.blocks_bound()) + 1,
            S_IFLNK => 1,
            _ => 0,
        }
    }

    fn is_dir(&self) -> bool {
        self.disk.in_use() && self.disk.kind() == S_IFDIR
    }
}

/// What a new inode is: mode (type and permissions), owner, device number (device nodes),
/// target (symlinks).
#[derive(Clone, Copy)]
pub struct Make<'a> {
    /// `S_IF*` type and the 12 permission bits.
    pub mode: u16,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Device number (`new_encode_dev`) of a character or block device; else ignored.
    pub rdev: u32,
    /// A symlink's target; else ignored.
    pub target: &'a [u8],
}

/// What a rename did beyond moving its name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Renamed {
    /// The inode whose name the rename replaced (its link count is one less; a directory's 0).
    pub replaced: Option<u32>,
    /// The whiteout made at the old name (`RENAME_WHITEOUT`).
    pub whiteout: Option<u32>,
}

/// The inodes of a file system, by number.
///
/// # Invariants
///
/// Between operations, the rules of [`ns_check::check_namespace`] hold, and every directory's
/// size, count and next cookie in its inode are its [`Dir`]'s.
pub struct Namespace {
    inodes: KVVec<NsInode>,
}

/// `-ENAMETOOLONG` past 255 bytes (as `ext4_lookup`), `-EINVAL` for a name that cannot be
/// stored (empty, `.`, `..`, with `/` or NUL: the VFS never passes one).
pub fn check_name(name: &[u8]) -> Result {
    if name.len() > DIR_NAME_MAX {
        return Err(enametoolong());
    }
    if !super::dirent::name_valid(name) {
        return Err(EINVAL);
    }
    Ok(())
}

impl Namespace {
    /// `inode_count` free slots, for a mount to fill.
    pub fn empty(inode_count: u32) -> Result<Self> {
        if inode_count <= ROOT_INO {
            return Err(EINVAL);
        }
        let mut inodes = KVVec::with_capacity(inode_count as usize, GFP_KERNEL)?;
        for _ in 0..inode_count {
            inodes.push(NsInode::free(), GFP_KERNEL)?;
        }
        Ok(Namespace { inodes })
    }

    /// A new file system of `inode_count` inodes: an empty root directory with `mode`'s
    /// permissions, owned by `uid`/`gid`, made at `now`.
    pub fn new(inode_count: u32, mode: u16, uid: u32, gid: u32, now: Time) -> Result<Self> {
        let mut ns = Self::empty(inode_count)?;
        let root = &mut ns.inodes[ROOT_INO as usize];
        root.disk = DiskInode {
            mode: S_IFDIR | (mode & 0o7777),
            nlink: 2,
            uid,
            gid,
            atime: now,
            mtime: now,
            ctime: now,
            ino: ROOT_INO,
            parent: ROOT_INO,
            next_cookie: FIRST_COOKIE,
            ..DiskInode::FREE
        };
        root.dir = Some(Dir::new());
        root.dirty = true;
        Ok(ns)
    }

    /// Number of inode slots.
    pub fn len(&self) -> u32 {
        self.inodes.len() as u32
    }

    /// Whether the namespace has no slot (never: the root is one).
    pub fn is_empty(&self) -> bool {
        self.inodes.is_empty()
    }

    /// Inode `ino`, in use or free; `-ENOENT` past the table.
    pub fn inode(&self, ino: u32) -> Result<&NsInode> {
        self.inodes.get(ino as usize).ok_or(ENOENT)
    }

    /// Inode `ino` to change it; `-ENOENT` past the table.
    pub fn inode_mut(&mut self, ino: u32) -> Result<&mut NsInode> {
        self.inodes.get_mut(ino as usize).ok_or(ENOENT)
    }

    /// Directory `ino`, which must still have a name (a removed one takes no new entry).
    fn live_dir(&mut self, ino: u32) -> Result<(&mut DiskInode, &mut Dir)> {
        let n = self.inodes.get_mut(ino as usize).ok_or(ENOENT)?;
        if !n.is_dir() {
            return Err(ENOTDIR);
        }
        if n.disk.nlink == 0 {
            return Err(ENOENT);
        }
        match n.dir.as_mut() {
            Some(d) => Ok((&mut n.disk, d)),
            None => Err(euclean()),
        }
    }

    /// The inode and type that `name` in directory `dir` gives.
    pub fn lookup(&mut self, dir: u32, name: &[u8]) -> Result<Option<(u32, u8)>> {
        check_name(name)?;
        let (_, d) = self.live_dir(dir)?;
        Ok(d.lookup(name).map(|(_, e)| (e.ino, e.dtype)))
    }

    /// The first free inode number; `-ENOSPC` if every slot is in use.
    fn free_ino(&self) -> Result<u32> {
        (ROOT_INO as usize + 1..self.inodes.len())
            .find(|&i| !self.inodes[i].disk.in_use() && !self.inodes[i].bad)
            .map(|i| i as u32)
            .ok_or(ENOSPC)
    }

    /// Brings directory `ino`'s inode in line with its entries after they changed at `now`;
    /// `links` is added to its link count (a subdirectory made or removed).
    fn touch_dir(&mut self, ino: u32, links: i32, now: Time) {
        let Some(n) = self.inodes.get_mut(ino as usize) else {
            return;
        };
        if let Some(d) = n.dir.as_ref() {
            n.disk.size = d.size();
            n.disk.count = d.len();
            n.disk.next_cookie = d.next_cookie();
        }
        n.disk.nlink = n.disk.nlink.saturating_add_signed(links);
        n.disk.mtime = now;
        n.disk.ctime = now;
        n.dirty = true;
        n.chain_dirty = true;
    }

    fn touch(&mut self, ino: u32, now: Time) {
        if let Some(n) = self.inodes.get_mut(ino as usize) {
            n.disk.ctime = now;
            n.dirty = true;
        }
    }

    /// Makes a new inode `m` named `name` in directory `dir` at `now` and returns its number.
    /// `-EEXIST` if the name is taken, `-EMLINK` for a directory whose parent has
    /// [`MAX_LINKS`], `-ENOSPC` without a free inode, `-ENAMETOOLONG` for a symlink target
    /// past [`SYMLINK_MAX`] bytes, `-EINVAL` for an unknown type.
    pub fn make(&mut self, dir: u32, name: &[u8], m: &Make<'_>, now: Time) -> Result<u32> {
        check_name(name)?;
        let kind = m.mode & S_IFMT;
        if !matches!(
            kind,
            S_IFREG | S_IFDIR | S_IFLNK | S_IFIFO | S_IFSOCK | S_IFCHR | S_IFBLK
        ) {
            return Err(EINVAL);
        }
        if kind == S_IFLNK {
            if m.target.len() as u64 > SYMLINK_MAX {
                return Err(enametoolong());
            }
            if m.target.is_empty() || m.target.contains(&0) {
                return Err(EINVAL);
            }
        }
        let ino = self.free_ino()?;
        let dtype = (kind >> 12) as u8;
        let (parent, d) = self.live_dir(dir)?;
        if kind == S_IFDIR && parent.nlink >= MAX_LINKS {
            return Err(EMLINK);
        }
        d.can_add(name, ino, dtype)?;
        // Everything that allocates, before anything changes.
        let p = Dir::prepare(name)?;
        let mut target = KVec::new();
        if kind == S_IFLNK {
            target.extend_from_slice(m.target, GFP_KERNEL)?;
        }
        d.add_prepared(p, ino, dtype)?;

        let mut disk = DiskInode {
            mode: kind | (m.mode & 0o7777),
            nlink: 1,
            uid: m.uid,
            gid: m.gid,
            atime: now,
            mtime: now,
            ctime: now,
            ino,
            ..DiskInode::FREE
        };
        let mut dir_of_new = None;
        match kind {
            S_IFDIR => {
                disk.nlink = 2;
                disk.parent = dir;
                disk.next_cookie = FIRST_COOKIE;
                dir_of_new = Some(Dir::new());
            }
            S_IFLNK => {
                disk.set_inline_target(&target);
            }
            S_IFCHR | S_IFBLK => disk.rdev = m.rdev,
            _ => {}
        }
        let n = &mut self.inodes[ino as usize];
        // A slot freed since the last commit still holds the chain that commit frees.
        let chain = core::mem::take(&mut n.chain);
        *n = NsInode {
            disk,
            dir: dir_of_new,
            target,
            dirty: true,
            chain_dirty: true,
            records: KVVec::new(),
            chain,
            bad: false,
            dirty_blocks: 0,
            punches: 0,
        };
        self.touch_dir(dir, i32::from(kind == S_IFDIR), now);
        Ok(ino)
    }

    /// Gives inode `ino` another name, `name` in directory `dir`. `-EPERM` for a directory,
    /// `-EMLINK` at [`MAX_LINKS`], `-ENOENT` for an inode with no name left.
    pub fn link(&mut self, ino: u32, dir: u32, name: &[u8], now: Time) -> Result {
        check_name(name)?;
        let n = self.inode(ino)?;
        if !n.disk.in_use() {
            return Err(ENOENT);
        }
        if n.is_dir() {
            return Err(EPERM);
        }
        if n.disk.nlink == 0 {
            return Err(ENOENT);
        }
        if n.disk.nlink >= MAX_LINKS {
            return Err(EMLINK);
        }
        let dtype = n.disk.dtype();
        let (_, d) = self.live_dir(dir)?;
        d.can_add(name, ino, dtype)?;
        let p = Dir::prepare(name)?;
        d.add_prepared(p, ino, dtype)?;
        self.inodes[ino as usize].disk.nlink += 1;
        self.touch(ino, now);
        self.touch_dir(dir, 0, now);
        Ok(())
    }

    /// Removes `name`, not a directory, from directory `dir` and returns the inode it named,
    /// one link fewer (with none left, an orphan until it is deleted). `-EISDIR` for a
    /// directory (`rmdir` removes those).
    pub fn unlink(&mut self, dir: u32, name: &[u8], now: Time) -> Result<u32> {
        check_name(name)?;
        let (_, d) = self.live_dir(dir)?;
        let (_, e) = d.lookup(name).ok_or(ENOENT)?;
        if e.dtype == DT_DIR {
            return Err(EISDIR);
        }
        let ino = d.remove(name)?.ino;
        let n = self.inode_mut(ino)?;
        n.disk.nlink = n.disk.nlink.saturating_sub(1);
        self.touch(ino, now);
        self.touch_dir(dir, 0, now);
        Ok(ino)
    }

    /// Removes the empty directory `name` from directory `dir` and returns its number: it has
    /// no link and no parent left (an orphan until it is deleted). `-ENOTDIR` for anything
    /// else, `-ENOTEMPTY` if it has entries.
    pub fn rmdir(&mut self, dir: u32, name: &[u8], now: Time) -> Result<u32> {
        check_name(name)?;
        let (_, d) = self.live_dir(dir)?;
        let ino = match d.lookup(name) {
            None => return Err(ENOENT),
            Some((_, e)) if e.dtype != DT_DIR => return Err(ENOTDIR),
            Some((_, e)) => e.ino,
        };
        if !self.inode(ino)?.dir.as_ref().is_some_and(Dir::is_empty) {
            return Err(enotempty());
        }
        let (_, d) = self.live_dir(dir)?;
        d.remove(name)?;
        self.orphan_dir(ino, now);
        self.touch_dir(dir, -1, now);
        Ok(ino)
    }

    fn orphan_dir(&mut self, ino: u32, now: Time) {
        if let Some(n) = self.inodes.get_mut(ino as usize) {
            n.disk.nlink = 0;
            n.disk.parent = 0;
        }
        self.touch(ino, now);
    }

    /// Frees orphan `ino` (no link left, or a removed directory): its slot is free after.
    /// What it owns on disk is the caller's to free.
    pub fn delete(&mut self, ino: u32) -> Result {
        let n = self.inode_mut(ino)?;
        if !n.disk.in_use() || n.disk.nlink != 0 || ino == ROOT_INO {
            return Err(EINVAL);
        }
        // The chain stays: the next commit frees it with the slot.
        let chain = core::mem::take(&mut n.chain);
        *n = NsInode {
            dirty: true,
            chain_dirty: true,
            chain,
            ..NsInode::free()
        };
        Ok(())
    }

    /// Checks the rules of the whole namespace: the namespace check `fsck.emfs` runs
    /// ([`ns_check::check_namespace`]), and each directory's inode against its entries.
    pub fn check(&self) -> Result {
        let len = self.inodes.len();
        let mut facts = KVVec::with_capacity(len, GFP_KERNEL)?;
        for n in self.inodes.iter() {
            let d = &n.disk;
            if let Some(dir) = n.dir.as_ref() {
                if d.size != dir.size()
                    || d.count != dir.len()
                    || d.next_cookie != dir.next_cookie()
                {
                    return Err(euclean());
                }
            } else if n.is_dir() {
                return Err(euclean());
            }
            let dtype = if d.in_use() { d.dtype() } else { 0 };
            let f = InodeFacts {
                dtype,
                links: d.nlink,
                parent: d.parent,
            };
            facts.push(f, GFP_KERNEL)?;
        }
        let mut names = KVVec::from_elem(0u32, len, GFP_KERNEL)?;
        let mut namer = KVVec::from_elem(0u32, len, GFP_KERNEL)?;
        let links = self.inodes.iter().enumerate().flat_map(|(dir, n)| {
            n.dir.iter().flat_map(move |d| {
                d.iter().map(move |(_, e)| Link {
                    dir: dir as u32,
                    ino: e.ino,
                    dtype: e.dtype,
                })
            })
        });
        ns_check::check_namespace(&facts, links, &mut names, &mut namer).map_err(|e| {
            pr_err!("namespace: {:?}\n", e);
            euclean()
        })
    }
}
