// SPDX-License-Identifier: GPL-2.0

//! A directory in memory: its entries by cookie, which is readdir's order and
//! the chain's, and by name, which is lookup's. It is loaded from the directory's chain at mount
//! and written back packed, copy-on-write, by the commit after it changes
//! (`Documentation/filesystems/emfs.rst`, "Directories").
//!
//! Every change allocates what it needs before it touches either tree, so a failed allocation
//! leaves the directory as it was.

use super::dirent::{
    self, dirent_size, name_valid, ChainWalk, DirBlockHeader, DirBlockWriter, DirEntry,
    COOKIE_LIMIT, DIRENT_ALIGN, DIRENT_HEADER_SIZE, DIR_BLOCK_SPACE, DIR_NAME_MAX, FIRST_COOKIE,
};
use super::format::BLOCK_SIZE;
use crate::kernel_ext::crc32c::crc32c;
use crate::kernel_ext::errno::euclean;
use kernel::prelude::*;
use kernel::rbtree::{RBTree, RBTreeNodeReservation};

/// One entry: the name, the inode it gives and that inode's type.
pub struct Entry {
    /// The inode it names.
    pub ino: u32,
    /// That inode's `DT_*` type.
    pub dtype: u8,
    name: KVec<u8>,
}

impl Entry {
    /// The entry's name.
    pub fn name(&self) -> &[u8] {
        &self.name
    }
}

/// What a new entry needs, allocated before anything changes ([`Dir::prepare`]), so that an
/// operation that changes several things can allocate first and then not fail.
pub struct Prepared {
    cookie_node: RBTreeNodeReservation<u64, Entry>,
    name_node: RBTreeNodeReservation<(u32, u64), ()>,
    name: KVec<u8>,
}

/// The entries of one directory.
///
/// # Invariants
///
/// - `by_name` holds `(crc32c(name), cookie)` for exactly the entries of `by_cookie`.
/// - Every cookie is in `FIRST_COOKIE..next_cookie`, and `next_cookie <= COOKIE_LIMIT`.
/// - Names are valid ([`name_valid`]) and unique.
/// - `count` is the number of entries, `name_bytes` the sum of their names' lengths.
///
/// # Examples
///
/// ```ignore
/// let mut d = Dir::new();
/// let cookie = d.add(b"a", 12, DT_REG)?;
/// assert_eq!(d.lookup(b"a").map(|(c, e)| (c, e.ino)), Some((cookie, 12)));
/// assert_eq!(d.remove(b"a")?.ino, 12);
/// assert!(d.is_empty() && d.next_cookie() == cookie + 1);
/// ```
pub struct Dir {
    by_cookie: RBTree<u64, Entry>,
    by_name: RBTree<(u32, u64), ()>,
    count: u32,
    next_cookie: u64,
    name_bytes: u64,
}

impl Default for Dir {
    fn default() -> Self {
        Self::new()
    }
}

impl Dir {
    /// An empty directory whose first entry gets [`FIRST_COOKIE`].
    pub fn new() -> Self {
        Dir {
            by_cookie: RBTree::new(),
            by_name: RBTree::new(),
            count: 0,
            next_cookie: FIRST_COOKIE,
            name_bytes: 0,
        }
    }

    /// An empty directory to be filled from its chain ([`Dir::load_block`]), whose inode says
    /// its next cookie is `next_cookie`.
    pub fn loading(next_cookie: u64) -> Result<Self> {
        if !(FIRST_COOKIE..=COOKIE_LIMIT).contains(&next_cookie) {
            return Err(euclean());
        }
        Ok(Dir {
            next_cookie,
            ..Dir::new()
        })
    }

    /// Number of entries.
    pub fn len(&self) -> u32 {
        self.count
    }

    /// Whether the directory has no entry (`rmdir` may remove it).
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The directory's size: the sum of its names' lengths.
    pub fn size(&self) -> u64 {
        self.name_bytes
    }

    /// The cookie the next entry gets.
    pub fn next_cookie(&self) -> u64 {
        self.next_cookie
    }

    /// The cookie of the entry named `name` (name-hash order, so `&mut`: a cursor).
    fn find(&mut self, name: &[u8]) -> Option<u64> {
        let hash = crc32c(name);
        let mut cursor = self.by_name.cursor_lower_bound(&(hash, 0))?;
        loop {
            let &(h, cookie) = cursor.current().0;
            if h != hash {
                return None;
            }
            if self
                .by_cookie
                .get(&cookie)
                .is_some_and(|e| e.name() == name)
            {
                return Some(cookie);
            }
            cursor = cursor.move_next()?;
        }
    }

    /// The entry named `name`, with its cookie.
    pub fn lookup(&mut self, name: &[u8]) -> Option<(u64, &Entry)> {
        let cookie = self.find(name)?;
        self.by_cookie.get(&cookie).map(|e| (cookie, e))
    }

    /// Allocates what an entry named `name` needs; `-EINVAL` if the name may not be stored.
    pub fn prepare(name: &[u8]) -> Result<Prepared> {
        if !name_valid(name) {
            return Err(EINVAL);
        }
        let mut copy = KVec::with_capacity(name.len(), GFP_KERNEL)?;
        copy.extend_from_slice(name, GFP_KERNEL)?;
        Ok(Prepared {
            cookie_node: RBTreeNodeReservation::new(GFP_KERNEL)?,
            name_node: RBTreeNodeReservation::new(GFP_KERNEL)?,
            name: copy,
        })
    }

    /// Inserts a prepared entry at `cookie`, which no entry has.
    fn insert(&mut self, p: Prepared, cookie: u64, ino: u32, dtype: u8) {
        let len = p.name.len() as u64;
        let hash = crc32c(&p.name);
        let entry = Entry {
            ino,
            dtype,
            name: p.name,
        };
        self.by_cookie
            .insert(p.cookie_node.into_node(cookie, entry));
        self.by_name
            .insert(p.name_node.into_node((hash, cookie), ()));
        self.count += 1;
        self.name_bytes += len;
    }

    /// Adds `name` for inode `ino` of type `dtype` with the next cookie, which it returns.
    /// `-EEXIST` if the name is taken, `-EINVAL` if it may not be stored, `-ENOSPC` when the
    /// directory has given out every cookie; nothing changes then.
    pub fn add(&mut self, name: &[u8], ino: u32, dtype: u8) -> Result<u64> {
        self.can_add(name, ino, dtype)?;
        let p = Self::prepare(name)?;
        self.add_prepared(p, ino, dtype)
    }

    /// Whether [`Dir::add_prepared`] of `name` would succeed: the errors of [`Dir::add`] but
    /// `-ENOMEM`, checked without allocating.
    pub fn can_add(&mut self, name: &[u8], ino: u32, dtype: u8) -> Result {
        if !dirent::dtype_valid(dtype) || ino == 0 || !name_valid(name) {
            return Err(EINVAL);
        }
        if self.find(name).is_some() {
            return Err(EEXIST);
        }
        if self.next_cookie >= COOKIE_LIMIT {
            return Err(ENOSPC);
        }
        Ok(())
    }

    /// [`Dir::add`] of a name prepared before: it allocates nothing, so it fails only as
    /// [`Dir::can_add`] says.
    pub fn add_prepared(&mut self, p: Prepared, ino: u32, dtype: u8) -> Result<u64> {
        self.can_add(&p.name, ino, dtype)?;
        let cookie = self.next_cookie;
        self.insert(p, cookie, ino, dtype);
        self.next_cookie += 1;
        Ok(cookie)
    }

    /// Removes the entry named `name` and returns it; `-ENOENT` if there is none.
    pub fn remove(&mut self, name: &[u8]) -> Result<Entry> {
        let cookie = self.find(name).ok_or(ENOENT)?;
        let entry = self.by_cookie.remove(&cookie).ok_or(ENOENT)?;
        self.by_name.remove(&(crc32c(name), cookie));
        self.count -= 1;
        self.name_bytes -= entry.name.len() as u64;
        Ok(entry)
    }

    /// Points the entry named `name` at inode `ino` of type `dtype`, keeping its cookie
    /// (`RENAME_EXCHANGE`); returns what it named.
    pub fn retarget(&mut self, name: &[u8], ino: u32, dtype: u8) -> Result<(u32, u8)> {
        if !dirent::dtype_valid(dtype) || ino == 0 {
            return Err(EINVAL);
        }
        let cookie = self.find(name).ok_or(ENOENT)?;
        let e = self.by_cookie.get_mut(&cookie).ok_or(ENOENT)?;
        let old = (e.ino, e.dtype);
        e.ino = ino;
        e.dtype = dtype;
        Ok(old)
    }

    /// Every entry with its cookie, in cookie order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &Entry)> {
        self.by_cookie.iter().map(|(&cookie, e)| (cookie, e))
    }

    /// Calls `f` with the entries whose cookies are in `[from, to)`, in cookie order, until it
    /// returns `false`; returns the cookie after the last entry `f` took (`from` if none).
    pub fn visit(&mut self, from: u64, to: u64, mut f: impl FnMut(u64, &Entry) -> bool) -> u64 {
        let mut pos = from;
        let Some(mut cursor) = self.by_cookie.cursor_lower_bound(&from) else {
            return pos;
        };
        loop {
            let (&cookie, e) = cursor.current();
            if cookie >= to || !f(cookie, e) {
                return pos;
            }
            pos = cookie + 1;
            match cursor.move_next() {
                Some(c) => cursor = c,
                None => return pos,
            }
        }
    }

    /// Takes the next block of the directory's chain, which [`dirent::decode_dir_block`]
    /// accepted, and returns the block after it (0 at the end). A chain that breaks the
    /// rules of a whole chain, or names one name twice, is `-EUCLEAN`.
    pub fn load_block(
        &mut self,
        walk: &mut ChainWalk,
        b: &[u8; BLOCK_SIZE],
        h: &DirBlockHeader,
    ) -> Result<u64> {
        let next = walk.block(b, h).map_err(|_| euclean())?;
        for e in dirent::dir_entries(b, h) {
            // The walk checked the cookies against the inode's next cookie and each other.
            if self.find(e.name).is_some() || e.cookie >= self.next_cookie {
                return Err(euclean());
            }
            let p =
                Self::prepare(e.name).map_err(|err| if err == ENOMEM { err } else { euclean() })?;
            self.insert(p, e.cookie, e.ino, e.dtype);
        }
        Ok(next)
    }

    /// Blocks the packed chain takes (0 for an empty directory).
    pub fn blocks(&self) -> usize {
        let mut used = 0;
        let mut blocks = 0;
        for (_, e) in self.by_cookie.iter() {
            let size = dirent_size(e.name.len());
            if blocks == 0 || used + size > DIR_BLOCK_SPACE {
                blocks += 1;
                used = 0;
            }
            used += size;
        }
        blocks
    }

    /// A bound on [`Dir::blocks`] from the count and size alone, for the space a commit may
    /// need, asked on every reservation: a packed block that is not the last is fuller than
    /// its room less one entry of the longest name, and an entry takes at most its name, the
    /// header and the padding.
    pub fn blocks_bound(&self) -> u64 {
        const PAD: u64 = (DIRENT_ALIGN - 1) as u64;
        const FULL: u64 = (DIR_BLOCK_SPACE - dirent_size(DIR_NAME_MAX)) as u64;
        let bytes = self.name_bytes + u64::from(self.count) * (DIRENT_HEADER_SIZE as u64 + PAD);
        bytes / FULL + 1
    }

    /// Writes the packed chain of directory `ino` into `blocks` (exactly [`Dir::blocks`] of
    /// them) with generation `gen`, each block through `write`. It allocates nothing: a commit
    /// calls it past its point of no return.
    pub fn write_chain(
        &self,
        ino: u32,
        gen: u64,
        blocks: &[u64],
        buf: &mut [u8; BLOCK_SIZE],
        mut write: impl FnMut(u64, &[u8; BLOCK_SIZE]) -> Result,
    ) -> Result {
        if blocks.len() != self.blocks() {
            return Err(EINVAL);
        }
        let mut iter = self.by_cookie.iter().peekable();
        for (n, &blk) in blocks.iter().enumerate() {
            let next = blocks.get(n + 1).copied().unwrap_or(0);
            // The same packing as `blocks`: as many entries as fit, in cookie order.
            let mut w = DirBlockWriter::new(buf, ino, next, gen);
            while let Some(&(&cookie, e)) = iter.peek() {
                let de = DirEntry {
                    cookie,
                    ino: e.ino,
                    dtype: e.dtype,
                    name: e.name(),
                };
                if !w.fits(de.name) {
                    break;
                }
                w.push(&de).map_err(|_| EINVAL)?;
                iter.next();
            }
            w.finish().map_err(|_| EINVAL)?;
            write(blk, buf)?;
        }
        Ok(())
    }
}
