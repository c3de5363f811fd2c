// SPDX-License-Identifier: GPL-2.0

//! The read side: folios locked for reading, readahead batches and large read bios, and the
//! `read_folio`, `readahead`, `release_folio` and `llseek` (`SEEK_DATA`, `SEEK_HOLE`)
//! trampolines.

use super::bio::alloc_read_bio;
use super::*;
use core::sync::atomic::{AtomicU64, Ordering};

/// A folio locked for reading, handed to [`FileSystem::read_folio`].
///
/// # Invariants
///
/// `folio` is locked and not uptodate; the trampoline ends the read when the callback returns.
pub struct LockedFolio<'a> {
    pub(super) folio: *mut bindings::folio,
    pub(super) _p: PhantomData<&'a ()>,
}

impl LockedFolio<'_> {
    /// The file position of the folio's first byte.
    pub fn pos(&self) -> i64 {
        // SAFETY: By the type invariant the folio is locked, so its index is stable.
        unsafe { ffi::emfs_folio_pos(self.folio) }
    }

    /// The folio's size in bytes.
    pub fn size(&self) -> usize {
        // SAFETY: By the type invariant the folio is locked (and so referenced), so its size
        // is stable.
        unsafe { ffi::emfs_folio_size(self.folio) }
    }

    /// Fills `[offset, offset + len)` of the folio with zeros.
    pub fn zero(&mut self, offset: usize, len: usize) -> Result {
        if offset.checked_add(len).map_or(true, |e| e > self.size()) {
            return Err(EINVAL);
        }
        // SAFETY: The folio is locked and ours to fill; the range is inside it.
        unsafe { ffi::emfs_folio_zero_range(self.folio, offset, len) };
        Ok(())
    }
}

/// The folios of a readahead request.
///
/// # Invariants
///
/// `rac` is the `readahead_control` of the running `readahead` call.
pub struct Readahead<'a> {
    pub(super) rac: *mut bindings::readahead_control,
    pub(super) _p: PhantomData<&'a mut ()>,
}

impl Readahead<'_> {
    /// The next folio to read, locked; `None` at the end of the batch.
    pub fn next_folio(&mut self) -> Option<ReadaheadFolio> {
        // SAFETY: By the type invariant `rac` is valid for the call.
        let folio = unsafe { ffi::emfs_readahead_folio(self.rac) };
        if folio.is_null() {
            return None;
        }
        // INVARIANT: `readahead_folio` returns a locked folio the page cache holds. (Built only
        // for a real folio: its drop ends a read.)
        Some(ReadaheadFolio { folio })
    }
}

/// A locked folio of a readahead batch. Dropped unfinished, its read ends as failed (a later
/// `read_folio` retries it).
///
/// # Invariants
///
/// `folio` is locked, not uptodate, held by the page cache, and this object is the only one
/// that will end its read.
pub struct ReadaheadFolio {
    pub(super) folio: *mut bindings::folio,
}

impl ReadaheadFolio {
    /// The file position of the folio's first byte.
    pub fn pos(&self) -> i64 {
        // SAFETY: By the type invariant the folio is locked, so its index is stable.
        unsafe { ffi::emfs_folio_pos(self.folio) }
    }

    /// The folio's size in bytes.
    pub fn size(&self) -> usize {
        // SAFETY: By the type invariant the folio is locked (and so referenced), so its size
        // is stable.
        unsafe { ffi::emfs_folio_size(self.folio) }
    }

    fn finish(self, ok: bool) {
        // SAFETY: By the type invariant we end the read, once: `self` is forgotten.
        unsafe { ffi::folio_end_read(self.folio, ok) };
        core::mem::forget(self);
    }

    /// Fills the folio with zeros and ends its read.
    pub fn zero_and_finish(self) {
        // SAFETY: The folio is locked and ours to fill.
        unsafe { ffi::emfs_folio_zero_range(self.folio, 0, self.size()) };
        self.finish(true);
    }

    /// Reads the folio synchronously with `read` (as `read_folio` would) and ends its read.
    pub fn read_with(self, read: impl FnOnce(&mut LockedFolio<'_>) -> Result) -> Result {
        // INVARIANT: The folio is locked and not uptodate; we end the read below.
        let mut locked = LockedFolio {
            folio: self.folio,
            _p: PhantomData,
        };
        let r = read(&mut locked);
        self.finish(r.is_ok());
        r
    }
}

impl Drop for ReadaheadFolio {
    fn drop(&mut self) {
        // SAFETY: By the type invariant nobody else ends the read.
        unsafe { ffi::folio_end_read(self.folio, false) };
    }
}

/// The read bios [`ReadBatch`] submitted, by size: entry `k` counts those of `2^k` to
/// `2^(k+1) - 1` blocks (at most 256 blocks, `BIO_MAX_VECS` folios of one block). Statistics,
/// global to the module.
pub static READ_BIO_BLOCKS: [AtomicU64; 9] = [const { AtomicU64::new(0) }; 9];

/// Gathers whole folios whose data is contiguous on disk into large read bios, submitted
/// asynchronously; their completion ends the reads.
///
/// # Invariants
///
/// `bio`, if not null, is an unsubmitted read bio we own, set to end the reads of its folios on
/// completion, whose data ends at block `next_blk` and holds `blocks` blocks.
pub struct ReadBatch<'a, T: Type> {
    pub(super) sb: &'a SuperBlock<T>,
    pub(super) bio: *mut bindings::bio,
    pub(super) next_blk: u64,
    pub(super) blocks: u64,
}

impl<'a, T: Type> ReadBatch<'a, T> {
    /// An empty batch on `sb`'s device.
    pub fn new(sb: &'a SuperBlock<T>) -> Self {
        Self {
            sb,
            bio: ptr::null_mut(),
            next_blk: 0,
            blocks: 0,
        }
    }

    /// Reads `folio` from block `blk` on: into the open bio if it continues it on disk and has
    /// room, else into a new one (the open one is submitted).
    pub fn add(&mut self, folio: ReadaheadFolio, blk: u64) -> Result {
        let size = folio.size();
        let blocks = (size / BLOCK_SIZE) as u64;
        if !self.bio.is_null() && blk == self.next_blk {
            // SAFETY: By the type invariant `bio` is ours and unsubmitted; the folio is locked,
            // and if it is added its read is ended by the bio's completion.
            if unsafe { bindings::bio_add_folio(self.bio, folio.folio, size, 0) } {
                self.next_blk += blocks;
                self.blocks += blocks;
                core::mem::forget(folio);
                return Ok(());
            }
        }
        self.submit();
        let bio = alloc_read_bio(self.sb.bdev(), blk, bindings::BIO_MAX_VECS as u16)?;
        // SAFETY: `bio` is new and ours; the folio is locked, and once added its read is ended
        // by the bio's completion.
        let added = unsafe {
            ffi::emfs_bio_set_read_end_io(bio);
            bindings::bio_add_folio(bio, folio.folio, size, 0)
        };
        if !added {
            // SAFETY: The bio holds nothing; we drop it. The folio is ended by its drop.
            unsafe { bindings::bio_put(bio) };
            return Err(EIO);
        }
        core::mem::forget(folio);
        // INVARIANT: A new unsubmitted bio ending at `blk + blocks`, holding `blocks`.
        self.bio = bio;
        self.next_blk = blk + blocks;
        self.blocks = blocks;
        Ok(())
    }

    /// Submits the open bio, if any.
    pub fn submit(&mut self) {
        if !self.bio.is_null() {
            // SAFETY: By the type invariant the bio is ours and unsubmitted; its completion ends
            // the reads and puts it.
            unsafe { bindings::submit_bio(self.bio) };
            let k = (self.blocks.max(1).ilog2() as usize).min(READ_BIO_BLOCKS.len() - 1);
            READ_BIO_BLOCKS[k].fetch_add(1, Ordering::Relaxed);
            // INVARIANT: No open bio.
            self.bio = ptr::null_mut();
        }
    }
}

impl<T: Type> Drop for ReadBatch<'_, T> {
    fn drop(&mut self) {
        self.submit();
    }
}

/// # Safety
///
/// Called by the page cache with a locked, not uptodate folio of a `T` regular file.
pub(super) unsafe extern "C" fn read_folio_callback<T: Type>(
    _file: *mut bindings::file,
    folio: *mut bindings::folio,
) -> core::ffi::c_int {
    // SAFETY: The folio is locked, so its mapping and host inode are stable and live, and the
    // host is a set-up `T` regular file. Its count is not 0: every caller of `read_folio` holds
    // the file open (read, fault, fadvise, khugepaged) or the inode locked (`write_begin`), so
    // `&Inode`, which allows `ihold`, is sound.
    let inode = unsafe { Inode::<T>::from_raw(ffi::emfs_folio_inode(folio)) };
    // INVARIANT: The folio is locked and not uptodate; we end the read below.
    let mut locked = LockedFolio {
        folio,
        _p: PhantomData,
    };
    let result = T::read_folio(inode, &mut locked);
    // SAFETY: Marks the folio uptodate on success and unlocks it, ending our ownership.
    unsafe { ffi::folio_end_read(folio, result.is_ok()) };
    match result {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// Called by the page cache with a readahead request on a `T` regular file.
pub(super) unsafe extern "C" fn readahead_callback<T: Type>(rac: *mut bindings::readahead_control) {
    // SAFETY: The request's mapping and host inode are live during the call, and the inode is
    // a set-up `T` regular file. Readahead runs for a holder of the open file (read, fault,
    // fadvise), so the count is not 0 and `&Inode`, which allows `ihold`, is sound.
    let inode = unsafe { Inode::<T>::from_raw(ffi::emfs_readahead_inode(rac)) };
    // INVARIANT: `rac` is the running request.
    let mut ra = Readahead {
        rac,
        _p: PhantomData,
    };
    // Folios it did not take are removed from the page cache by the caller; a failed one is
    // read again by `read_folio` when someone needs it.
    let _ = T::readahead(inode, &mut ra);
}

/// # Safety
///
/// Called by the page cache with a locked folio of a `T` regular file that it wants to free.
pub(super) unsafe extern "C" fn release_folio_callback<T: Type>(
    folio: *mut bindings::folio,
    _gfp: bindings::gfp_t,
) -> bool {
    // SAFETY: The folio is locked, so its mapping and host inode are stable and live; the inode
    // may have no reference (reclaim of an unused cached inode): `UnheldInode`.
    let (inode, pos, len, busy) = unsafe {
        (
            UnheldInode::<T>::from_raw(ffi::emfs_folio_inode(folio)),
            ffi::emfs_folio_pos(folio),
            ffi::emfs_folio_size(folio),
            ffi::emfs_folio_test_dirty(folio) || ffi::emfs_folio_test_writeback(folio),
        )
    };
    // As `btrfs_release_folio`: data not on disk yet keeps its folio (and its maps).
    if busy {
        return false;
    }
    // SAFETY: The page cache passes the folio locked, as reading its private marker needs.
    if unsafe { ffi::emfs_folio_reserved(folio) } {
        // A clean folio holds no reservation (writeback and truncate give them back); should
        // one be left, keep the folio: giving it back takes the file system's lock, which
        // this reclaim may have been entered under.
        return false;
    }
    T::release_folio(inode, pos as u64, len as u64)
}

/// # Safety
///
/// Called by `vfs_llseek` on an open `T` regular file.
pub(super) unsafe extern "C" fn llseek_callback<T: Type>(
    file: *mut bindings::file,
    offset: bindings::loff_t,
    whence: core::ffi::c_int,
) -> bindings::loff_t {
    let hole = match u32::try_from(whence) {
        Ok(bindings::SEEK_DATA) => false,
        Ok(bindings::SEEK_HOLE) => true,
        // SAFETY: `vfs_llseek` passes an open file; the other kinds of seek are the VFS's.
        _ => return unsafe { bindings::generic_file_llseek(file, offset, whence) },
    };
    // SAFETY: `vfs_llseek` passes an open file, which keeps its inode live.
    let raw = unsafe { ffi::emfs_file_inode(file) };
    // SAFETY: The inode is live (see above); unlocked below, by this function.
    unsafe { ffi::emfs_inode_lock_shared(raw) };
    let r = (|| {
        // SAFETY: The inode is a live `T` regular inode (its file is open, with these
        // operations), set up by `iget`; the reference ends with this closure.
        let inode = unsafe { Inode::<T>::from_raw(raw) };
        let size = u64::try_from(inode.size()).map_err(|_| EIO)?;
        let offset = u64::try_from(offset).map_err(|_| ENXIO)?;
        if offset >= size {
            return Err(ENXIO);
        }
        // Dirty data has no extents yet: write it back. The shared lock keeps `write` out from
        // here on (not writes through a shared mapping, which a seek may miss, as elsewhere).
        // The mapping's helper, not the file's: a writeback error is left for `fsync` to
        // report (`file_write_and_wait_range` would consume it for this file).
        // SAFETY: The inode is live (see above), and its `i_mapping` with it.
        to_result(unsafe {
            ffi::emfs_filemap_write_and_wait_range((*raw).i_mapping, offset as i64, i64::MAX)
        })?;
        let pos = T::seek_hole_data(inode, offset, hole)?;
        // Data lies before the size; a hole may be the end of the file.
        if pos < offset || pos > size || (!hole && pos == size) {
            return Err(EIO);
        }
        i64::try_from(pos).map_err(|_| EIO)
    })();
    // SAFETY: Locked above by this function.
    unsafe { ffi::emfs_inode_unlock_shared(raw) };
    match r {
        // SAFETY: `file` is open for the call; `vfs_setpos` checks the position.
        Ok(pos) => unsafe { ffi::emfs_vfs_setpos(file, pos) },
        Err(e) => e.to_errno().into(),
    }
}
