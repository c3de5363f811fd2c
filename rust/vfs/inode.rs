// SPDX-License-Identifier: GPL-2.0

//! The inode views the trampolines hand out: [`Inode`], [`LockedInode`], [`UnheldInode`].

use super::write::{write_begin, write_end};
use super::*;

/// An inode of file system `T`.
///
/// # Invariants
///
/// The wrapped inode belongs to a `T` superblock and was set up by [`SuperBlock::iget`]: its
/// `i_private` is a `KBox<T::InodeData>` that lives until the inode is evicted.
#[repr(transparent)]
pub struct Inode<T: FileSystem>(Opaque<bindings::inode>, PhantomData<T>);

// SAFETY: `ihold`/`iput` are the inode's reference count; the last `iput` evicts it.
unsafe impl<T: FileSystem> AlwaysRefCounted for Inode<T> {
    fn inc_ref(&self) {
        // SAFETY: The existence of `&self` means a reference is held, so the inode is live.
        unsafe { bindings::ihold(self.0.get()) };
    }

    unsafe fn dec_ref(obj: ptr::NonNull<Self>) {
        // SAFETY: The caller gives up a reference it holds.
        unsafe { bindings::iput(obj.as_ptr().cast()) };
    }
}

impl<T: FileSystem> Inode<T> {
    /// # Safety
    ///
    /// `inode` must satisfy the type invariant while the reference is used.
    pub(super) unsafe fn from_raw<'a>(inode: *mut bindings::inode) -> &'a Self {
        // SAFETY: `Inode` is a transparent wrapper; the caller guarantees validity.
        unsafe { &*inode.cast::<Self>() }
    }

    /// The same inode, for a callback that takes [`UnheldInode`]: one that may not take a
    /// reference need not know that the caller holds one.
    pub(super) fn unheld(&self) -> &UnheldInode<T> {
        // SAFETY: `UnheldInode` is a transparent wrapper of `Inode`, whose invariant it asks
        // for only while the reference is used: `self` satisfies it for at least that long.
        unsafe { &*(self as *const Self).cast::<UnheldInode<T>>() }
    }

    /// The inode number.
    pub fn ino(&self) -> u64 {
        // SAFETY: `i_ino` does not change after the inode is set up.
        unsafe { (*self.0.get()).i_ino as u64 }
    }

    /// The size in bytes.
    pub fn size(&self) -> i64 {
        // SAFETY: `i_size_read` on 64-bit is a plain load of an aligned field.
        unsafe { ptr::read_volatile(ptr::addr_of!((*self.0.get()).i_size)) }
    }

    /// The file system's state for the inode.
    pub fn data(&self) -> &T::InodeData {
        // SAFETY: By the type invariant `i_private` is a live `KBox<T::InodeData>`.
        unsafe { &*(*self.0.get()).i_private.cast::<T::InodeData>() }
    }

    /// The superblock.
    pub fn super_block(&self) -> &SuperBlock<T> {
        // SAFETY: An inode's superblock outlives it, and by the type invariant it is a `T` one.
        unsafe { SuperBlock::from_raw((*self.0.get()).i_sb) }
    }

    pub(super) fn raw(&self) -> *mut bindings::inode {
        self.0.get()
    }

    /// The attributes as the VFS holds them now, each field read once (`READ_ONCE`): unless
    /// the caller holds the inode lock (a [`LockedInode`]), a `setattr` may run meanwhile, so
    /// the fields are not necessarily one consistent set.
    pub fn attrs(&self) -> InodeAttrs {
        let i = self.raw();
        // SAFETY: `i` is a live inode (the type invariant); every field is an aligned word read
        // with one volatile load, the kernel's `READ_ONCE`, so a concurrent writer (`setattr`
        // under the inode lock) makes the set inconsistent but no read torn.
        unsafe {
            InodeAttrs {
                mode: ptr::read_volatile(ptr::addr_of!((*i).i_mode)),
                nlink: ptr::read_volatile(ptr::addr_of!((*i).__bindgen_anon_1.i_nlink)),
                size: self.size(),
                uid: ptr::read_volatile(ptr::addr_of!((*i).i_uid.val)),
                gid: ptr::read_volatile(ptr::addr_of!((*i).i_gid.val)),
                atime: (
                    ptr::read_volatile(ptr::addr_of!((*i).i_atime_sec)),
                    ptr::read_volatile(ptr::addr_of!((*i).i_atime_nsec)),
                ),
                mtime: (
                    ptr::read_volatile(ptr::addr_of!((*i).i_mtime_sec)),
                    ptr::read_volatile(ptr::addr_of!((*i).i_mtime_nsec)),
                ),
                ctime: (
                    ptr::read_volatile(ptr::addr_of!((*i).i_ctime_sec)),
                    ptr::read_volatile(ptr::addr_of!((*i).i_ctime_nsec)),
                ),
            }
        }
    }
}

/// An inode whose lock (`inode_lock`, `i_rwsem` for writing) the caller holds: what changing
/// its size or dropping its page cache needs. Only the VFS glue makes one, in the callbacks the
/// VFS calls with the lock held ([`InodeOperations::set_size`], [`FileOperations::fallocate`]).
///
/// # Invariants
///
/// The wrapped inode satisfies the [`Inode`] invariant and its lock is held for writing for as
/// long as a reference to this exists.
#[repr(transparent)]
pub struct LockedInode<T: FileSystem>(Inode<T>);

impl<T: FileSystem> Deref for LockedInode<T> {
    type Target = Inode<T>;

    fn deref(&self) -> &Inode<T> {
        &self.0
    }
}

impl<T: FileSystem> LockedInode<T> {
    /// # Safety
    ///
    /// `inode` must satisfy the [`Inode`] invariant, and its lock must be held for writing
    /// while the reference is used.
    pub(super) unsafe fn from_raw<'a>(inode: *mut bindings::inode) -> &'a Self {
        // SAFETY: `LockedInode` is a transparent wrapper of `Inode`, itself of `bindings::inode`;
        // the caller guarantees the invariant.
        unsafe { &*inode.cast::<Self>() }
    }

    /// Sets the size (`i_size_write`, which needs the lock) and marks the inode dirty.
    pub fn set_size(&self, size: u64) -> Result {
        let size = i64::try_from(size).map_err(|_| EFBIG)?;
        // SAFETY: The inode is live and its lock held (the type invariant), as `i_size_write`
        // requires.
        unsafe {
            ffi::emfs_i_size_write(self.raw(), size);
            ffi::emfs_mark_inode_dirty(self.raw());
        }
        Ok(())
    }

    /// Sets the size and drops the page cache beyond it (`truncate_setsize`), waiting for
    /// writeback of what is dropped.
    pub fn truncate_setsize(&self, size: u64) -> Result {
        let size = i64::try_from(size).map_err(|_| EFBIG)?;
        // SAFETY: The inode is live and its lock held (the type invariant), as
        // `truncate_setsize` requires.
        unsafe { bindings::truncate_setsize(self.raw(), size) };
        Ok(())
    }

    /// Drops the page cache of the blocks inside `[start, end]` (inclusive), zeroing the parts
    /// of partial folios at the ends (`truncate_pagecache_range`).
    pub fn truncate_pagecache_range(&self, start: u64, end: u64) -> Result {
        let start = i64::try_from(start).map_err(|_| EINVAL)?;
        let end = i64::try_from(end).map_err(|_| EINVAL)?;
        // SAFETY: The inode is live and its lock held (the type invariant), which keeps new
        // writes out of the range while it is dropped.
        unsafe { bindings::truncate_pagecache_range(self.raw(), start, end) };
        Ok(())
    }
}

impl<T: Type> LockedInode<T> {
    /// Writes zeros over `[pos, pos + len)`, which must lie inside one block, through the page
    /// cache as a `write` would (space reserved, folio dirtied). Does not change the size.
    /// `EROFS` for a file system without a write side ([`AddressSpaceOperations::writeback_alloc`]):
    /// its mapping has no `dirty_folio`, which dirtying a folio calls.
    pub fn zero_range(&self, pos: u64, len: u64) -> Result {
        if !T::HAS_WRITEBACK_ALLOC {
            return Err(EROFS);
        }
        if len == 0 {
            return Ok(());
        }
        let bs = BLOCK_SIZE as u64;
        if pos % bs + len > bs {
            return Err(EINVAL);
        }
        let ipos = i64::try_from(pos).map_err(|_| EINVAL)?;
        let folio = write_begin::<T>(self, ipos, len as usize)?;
        // SAFETY: `write_begin` returned the locked folio containing the range.
        unsafe { ffi::emfs_folio_zero_range(folio, (pos % bs) as usize, len as usize) };
        // SAFETY: `folio` is the locked, referenced folio `write_begin` returned for this range
        // of this inode, whose lock is still held.
        unsafe { write_end::<T>(self, ipos, len as usize, len as usize, folio, false) };
        Ok(())
    }

    /// Before the size grows to `new_size`: zeros over the rest of the old last block, which
    /// becomes part of the file and which a shared mapping may have written past the end
    /// (what xfs does with `xfs_zero_range` from the old size). Every path that grows the size
    /// (truncate up, fallocate, a write past the end) calls this first.
    pub fn zero_eof_tail(&self, new_size: u64) -> Result {
        let bs = BLOCK_SIZE as u64;
        let old = self.size().max(0) as u64;
        if new_size <= old || old % bs == 0 {
            return Ok(());
        }
        self.zero_range(old, (old - old % bs + bs).min(new_size) - old)
    }
}

/// An inode a callback may use but must not take a reference to: at eviction its count is
/// already zero, and at writeback completion it may be (the writeback of its folios keeps it
/// alive, not a count), where `ihold` is not allowed. Unlike [`Inode`] it has no
/// `AlwaysRefCounted` and no way to reach one, so no [`ARef`] can be made from it. (Nor may
/// the callback look its own number up with [`SuperBlock::iget`]: that waits for the inode
/// being freed, or for the writeback that eviction waits for, and never returns.)
///
/// # Invariants
///
/// The wrapped inode satisfies the [`Inode`] invariant for as long as a reference to this
/// exists.
#[repr(transparent)]
pub struct UnheldInode<T: FileSystem>(Inode<T>);

impl<T: FileSystem> UnheldInode<T> {
    /// # Safety
    ///
    /// `inode` must satisfy the [`Inode`] invariant while the reference is used.
    pub(super) unsafe fn from_raw<'a>(inode: *mut bindings::inode) -> &'a Self {
        // SAFETY: `UnheldInode` is a transparent wrapper of `Inode`, itself of
        // `bindings::inode`; the caller guarantees the invariant.
        unsafe { &*inode.cast::<Self>() }
    }

    pub(super) fn raw(&self) -> *mut bindings::inode {
        self.0.raw()
    }

    /// The inode number.
    pub fn ino(&self) -> u64 {
        self.0.ino()
    }

    /// The size in bytes.
    pub fn size(&self) -> i64 {
        self.0.size()
    }

    /// The file system's state for the inode.
    pub fn data(&self) -> &T::InodeData {
        self.0.data()
    }

    /// The superblock.
    pub fn super_block(&self) -> &SuperBlock<T> {
        self.0.super_block()
    }

    /// The attributes ([`Inode::attrs`]).
    pub fn attrs(&self) -> InodeAttrs {
        self.0.attrs()
    }
}
