// SPDX-License-Identifier: GPL-2.0

//! The write side: `write_begin`/`write_end` with a block reserved per dirty folio,
//! `page_mkwrite`, `writepages` with its write bios completed on the superblock's workqueue, and
//! `invalidate_folio`.

use super::bio::alloc_bio;
use super::ops::Tables;
use super::*;

/// Gets the folio at `pos` locked for a write of `len` bytes in it, with a block reserved for
/// it and, if the write does not cover it, its old data read (or zeros past the end).
pub(super) fn write_begin<T: Type>(
    inode: &LockedInode<T>,
    pos: i64,
    len: usize,
) -> Result<*mut bindings::folio> {
    // A write past the end makes the rest of the old last block part of the file: zeros first.
    inode.zero_eof_tail(u64::try_from(pos).map_err(|_| EINVAL)?)?;
    // SAFETY: The inode is live (the `LockedInode` invariant), and so is its mapping.
    let mapping = unsafe { (*inode.raw()).i_mapping };
    let mut err = 0;
    // SAFETY: `mapping` is live; the inode lock is held, as `write_begin_get_folio` needs.
    let folio = unsafe { ffi::emfs_write_begin_folio(mapping, pos, &mut err) };
    if folio.is_null() {
        return Err(Error::from_errno(err));
    }
    // The folio is now locked and referenced by us: every `unsafe` call below on it relies on
    // that, until `give_up` or the caller's `write_end` lets it go.
    let give_up = |e: Error, reserved_here: bool| {
        // SAFETY: The folio is locked and referenced by us (see above); a reservation taken
        // here is returned with its marker.
        unsafe {
            if reserved_here && ffi::emfs_folio_clear_reserved(folio) {
                T::unreserve(inode.unheld(), 1);
            }
            ffi::emfs_folio_unlock(folio);
            ffi::emfs_folio_put(folio);
        }
        e
    };
    let mut reserved_here = false;
    // A file system without `reserve` has no reservations, and its folios carry no marker.
    // SAFETY: The folio is locked, which the marker's test needs.
    if T::HAS_RESERVE && !unsafe { ffi::emfs_folio_reserved(folio) } {
        T::reserve(inode.unheld(), 1).map_err(|e| give_up(e, false))?;
        // SAFETY: The folio is locked, which setting the marker needs.
        unsafe { ffi::emfs_folio_set_reserved(folio) };
        reserved_here = true;
    }
    // SAFETY: The folio is referenced, so these reads of its state are of a live folio.
    let (uptodate, fpos, fsize) = unsafe {
        (
            ffi::emfs_folio_test_uptodate(folio),
            ffi::emfs_folio_pos(folio),
            ffi::emfs_folio_size(folio),
        )
    };
    if !uptodate && len != fsize {
        if fpos >= inode.size() {
            // SAFETY: The folio is locked and referenced; nothing past the end is on disk, so
            // zeros are its data.
            unsafe {
                ffi::emfs_folio_zero_range(folio, 0, fsize);
                ffi::emfs_folio_mark_uptodate(folio);
            }
        } else {
            // INVARIANT: Locked and not uptodate; we own it until `write_end`.
            let mut locked = LockedFolio {
                folio,
                _p: PhantomData,
            };
            T::read_folio(inode, &mut locked).map_err(|e| give_up(e, reserved_here))?;
            // SAFETY: The folio is locked and referenced, and its data was just read.
            unsafe { ffi::emfs_folio_mark_uptodate(folio) };
        }
    }
    Ok(folio)
}

/// Ends a write into a folio from [`write_begin`]: dirties it and, with `grow`, extends the
/// size. Returns the bytes taken: `copied`, or 0 for a short copy into a folio that was not
/// read (the caller copies again).
///
/// # Safety
///
/// `folio` is the locked, referenced folio [`write_begin`] returned for `pos` and `len` of
/// `inode`; this gives up both the lock and the reference.
pub(super) unsafe fn write_end<T: Type>(
    inode: &LockedInode<T>,
    pos: i64,
    len: usize,
    mut copied: usize,
    folio: *mut bindings::folio,
    grow: bool,
) -> usize {
    // SAFETY: The caller guarantees `folio` is locked and referenced by us.
    if !unsafe { ffi::emfs_folio_test_uptodate(folio) } {
        if copied < len {
            // `write_begin` did not read a folio the write covers whole, so the part the short
            // copy missed holds no data of the file: take nothing (as `block_write_end` does),
            // and the VFS retries with what the user could give, reading the folio first.
            copied = 0;
        } else {
            // SAFETY: The caller guarantees `folio` is locked and referenced by us.
            // `write_begin` leaves it not uptodate only for a write covering all of it, and all
            // of it was copied: all its data is valid.
            unsafe { ffi::emfs_folio_mark_uptodate(folio) };
        }
    }
    let end = pos + copied as i64;
    let grew = grow && copied > 0 && end > inode.size();
    if copied > 0 {
        if grew {
            // SAFETY: The inode lock is held (the `LockedInode` invariant), as `i_size_write`
            // requires.
            unsafe { ffi::emfs_i_size_write(inode.raw(), end) };
        }
        // SAFETY: The folio is locked and referenced (the caller's guarantee).
        unsafe { bindings::folio_mark_dirty(folio) };
    // SAFETY: The folio is locked and referenced (the caller's guarantee).
    } else if unsafe { !ffi::emfs_folio_test_dirty(folio) && ffi::emfs_folio_clear_reserved(folio) }
    {
        T::unreserve(inode.unheld(), 1);
    }
    // SAFETY: The caller handed over the lock and the reference, given up here; the folio is
    // not touched after this.
    unsafe {
        ffi::emfs_folio_unlock(folio);
        ffi::emfs_folio_put(folio);
    }
    if grew {
        // SAFETY: The inode is live (the `LockedInode` invariant).
        unsafe { ffi::emfs_mark_inode_dirty(inode.raw()) };
    }
    copied
}

/// # Safety
///
/// Called by `generic_perform_write` on a `T` regular file, inode locked.
pub(super) unsafe extern "C" fn write_begin_callback<T: Type>(
    _file: *mut bindings::file,
    mapping: *mut bindings::address_space,
    pos: bindings::loff_t,
    len: core::ffi::c_uint,
    foliop: *mut *mut bindings::folio,
    _fsdata: *mut *mut core::ffi::c_void,
) -> core::ffi::c_int {
    // SAFETY: `generic_perform_write` runs under the inode lock (taken by `write_iter`), on
    // the live mapping of a `T` regular file, so its host satisfies the `LockedInode` invariant.
    let inode = unsafe { LockedInode::<T>::from_raw((*mapping).host) };
    match write_begin::<T>(inode, pos, len as usize) {
        Ok(folio) => {
            // SAFETY: `foliop` is valid for writes.
            unsafe { *foliop = folio };
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// Called by `generic_perform_write` with the folio `write_begin_callback` returned.
pub(super) unsafe extern "C" fn write_end_callback<T: Type>(
    _file: *mut bindings::file,
    mapping: *mut bindings::address_space,
    pos: bindings::loff_t,
    len: core::ffi::c_uint,
    copied: core::ffi::c_uint,
    folio: *mut bindings::folio,
    _fsdata: *mut core::ffi::c_void,
) -> core::ffi::c_int {
    // SAFETY: `generic_perform_write` runs under the inode lock (taken by `write_iter`), on
    // the live mapping of a `T` regular file, so its host satisfies the `LockedInode` invariant.
    let inode = unsafe { LockedInode::<T>::from_raw((*mapping).host) };
    // SAFETY: `folio` is what `write_begin_callback` returned for this write (the caller's
    // contract), locked and referenced.
    unsafe { write_end::<T>(inode, pos, len as usize, copied as usize, folio, true) as i32 }
}

/// # Safety
///
/// Called by the page cache with a locked folio of a `T` file being truncated or punched.
pub(super) unsafe extern "C" fn invalidate_folio_callback<T: Type>(
    folio: *mut bindings::folio,
    offset: usize,
    len: usize,
) {
    // SAFETY: The page cache passes a locked folio, live for the call.
    let whole = offset == 0 && len == unsafe { ffi::emfs_folio_size(folio) };
    // SAFETY: The folio is locked, as detaching its private marker needs.
    if whole && unsafe { ffi::emfs_folio_clear_reserved(folio) } {
        // Its dirty data is thrown away: the block it reserved will not be written.
        // SAFETY: The folio is locked, so its mapping and host are stable and live; the host is
        // a `T` regular file set up by `iget` (these are its address space operations), whose
        // `i_private` lives until after its page cache is gone. At eviction its count is 0:
        // `UnheldInode`.
        let inode = unsafe { UnheldInode::<T>::from_raw(ffi::emfs_folio_inode(folio)) };
        T::unreserve(inode, 1);
    }
}

/// # Safety
///
/// Called by the fault handler for a write fault on a shared mapping of a `T` file.
pub(super) unsafe extern "C" fn page_mkwrite_callback<T: Type>(
    vmf: *mut bindings::vm_fault,
) -> bindings::vm_fault_t {
    // SAFETY: The fault handler passes a `vmf` valid for the call, whose vma maps a file (a
    // `T` regular file: these are its vm operations).
    let inode = unsafe { ffi::emfs_vmf_inode(vmf) };
    // SAFETY: The mapped file keeps its inode live for the call; it is a `T` regular file set
    // up by `iget`.
    let inode_ref = unsafe { Inode::<T>::from_raw(inode) };
    // SAFETY: `vmf` is valid for the call; its `page` is the faulting page, which the fault
    // holds a reference to.
    let folio = unsafe { ffi::emfs_vmf_folio(vmf) };
    // SAFETY: `inode` is live (see above).
    let sb = unsafe { (*inode).i_sb };
    // SAFETY: `sb` is the live superblock of the mapped file; the matching
    // `sb_end_pagefault` is below, on every path.
    unsafe { ffi::emfs_sb_start_pagefault(sb) };
    // SAFETY: `vmf` and its vma are valid for the call, and the vma maps a file, so `vm_file`
    // is an open file.
    unsafe { bindings::file_update_time((*(*vmf).__bindgen_anon_1.vma).vm_file) };
    // SAFETY: The folio is referenced by the fault, which holds no folio lock here.
    unsafe { ffi::emfs_folio_lock(folio) };
    // SAFETY: The folio is locked (just above), so its mapping is stable; `inode` is live.
    let moved = unsafe { ffi::emfs_folio_mapping(folio) != (*inode).i_mapping };
    // SAFETY: The folio is referenced and locked, so its index is stable.
    let ret = if moved || unsafe { ffi::emfs_folio_pos(folio) } >= inode_ref.size() {
        // Truncated meanwhile: let the fault retry.
        // SAFETY: Locked above by this function; the fault keeps its own reference.
        unsafe { ffi::emfs_folio_unlock(folio) };
        bindings::vm_fault_reason_VM_FAULT_NOPAGE
    } else {
        // SAFETY: The folio is locked, as reading its private marker needs.
        let reserved = !T::HAS_RESERVE || unsafe { ffi::emfs_folio_reserved(folio) };
        if !reserved && T::reserve(inode_ref.unheld(), 1).is_err() {
            // SAFETY: Locked above by this function; the fault keeps its own reference.
            unsafe { ffi::emfs_folio_unlock(folio) };
            bindings::vm_fault_reason_VM_FAULT_SIGBUS
        } else {
            if !reserved {
                // SAFETY: The folio is locked, as attaching its private marker needs; it has
                // none (tested above, under the same lock).
                unsafe { ffi::emfs_folio_set_reserved(folio) };
            }
            // SAFETY: The folio is locked, referenced, and still in `inode`'s mapping (checked
            // above), as `folio_mark_dirty` needs.
            unsafe { bindings::folio_mark_dirty(folio) };
            // SAFETY: The folio is locked and referenced. It stays locked on return
            // (`VM_FAULT_LOCKED`): the fault handler unlocks it.
            unsafe { ffi::emfs_folio_wait_stable(folio) };
            bindings::vm_fault_reason_VM_FAULT_LOCKED
        }
    };
    // SAFETY: Ends the `sb_start_pagefault` above; `sb` is still live (the mapped file).
    unsafe { ffi::emfs_sb_end_pagefault(sb) };
    ret as bindings::vm_fault_t
}

/// # Safety
///
/// Called by `mmap` on an open `T` regular file.
pub(super) unsafe extern "C" fn mmap_callback<T: Type>(
    file: *mut bindings::file,
    vma: *mut bindings::vm_area_struct,
) -> core::ffi::c_int {
    // SAFETY: The file and the new vma are valid for the call; the table is static.
    unsafe {
        ffi::emfs_file_accessed(file);
        (*vma).vm_ops = &Tables::<T>::VM_OPS;
    }
    0
}

/// A write bio in flight: handed to the bio as `bi_private`, completed on the workqueue.
///
/// # Invariants
///
/// `work` is initialised to run [`write_work::<T>`]; `bio` is the bio this was attached to,
/// whose folios (of `inode`) are under writeback until `write_work` ends it. The inode lives
/// until then: eviction waits for the writeback of every folio (`truncate_inode_pages_final`)
/// before it frees the inode. (No reference is taken: writeback may run on an inode nobody
/// holds, even one being evicted, where `ihold`/`igrab` are not allowed.)
#[repr(C)]
pub(super) struct WriteIo<T: Type> {
    pub(super) work: bindings::work_struct,
    pub(super) bio: *mut bindings::bio,
    pub(super) wq: *mut bindings::workqueue_struct,
    pub(super) inode: *mut bindings::inode,
    pub(super) ctx: T::WriteCtx,
}

/// # Safety
///
/// The completion of a bio set up by [`submit_write`].
pub(super) unsafe extern "C" fn write_end_io<T: Type>(bio: *mut bindings::bio) {
    // SAFETY: `bi_private` is the `WriteIo` of this bio; its workqueue lives until every write
    // completed (`put_super` flushes it). Interrupt context: the work runs the completion.
    unsafe {
        let io = (*bio).bi_private.cast::<WriteIo<T>>();
        ffi::emfs_queue_work((*io).wq, ptr::addr_of_mut!((*io).work));
    }
}

/// # Safety
///
/// Runs on the superblock's workqueue for a `WriteIo<T>` queued by [`write_end_io`].
pub(super) unsafe extern "C" fn write_work<T: Type>(work: *mut bindings::work_struct) {
    // SAFETY: `work` is the first field of a leaked `KBox<WriteIo<T>>` (`repr(C)`), which
    // nothing else refers to now.
    let io = unsafe { KBox::from_raw(work.cast::<WriteIo<T>>()) };
    let WriteIo {
        bio, inode, ctx, ..
    } = KBox::into_inner(io);
    // SAFETY: The bio completed. By the `WriteIo` invariant the inode is live while its folios
    // are under writeback, which they are until below.
    let status = unsafe { ffi::emfs_bio_status(bio) };
    // SAFETY: By the `WriteIo` invariant `inode` is a live `T` inode, set up by `iget`, while
    // the bio's folios are under writeback, which they are until after this call; its count
    // may be zero, hence `UnheldInode`.
    T::writeback_done(
        unsafe { UnheldInode::from_raw(inode) },
        ctx,
        to_result(status),
    );
    // SAFETY: The bio is ours; its folios end their writeback (after the file system recorded
    // it), then the bio goes. The inode is not touched after this.
    unsafe {
        ffi::emfs_bio_end_writeback(bio);
        bindings::bio_put(bio);
    }
}

/// Writes the locked folios `folios`, contiguous in `inode` from `pos`, to disk from block
/// `blk`, completing with `ctx`. Their writeback starts and they are unlocked.
///
/// # Safety
///
/// The folios must be locked, dirty-cleared for I/O by `writeback_iter`, of `inode`.
pub(super) unsafe fn submit_write<T: Type>(
    inode: &UnheldInode<T>,
    folios: &[*mut bindings::folio],
    blk: u64,
    ctx: T::WriteCtx,
) -> Result<(), T::WriteCtx> {
    let sb = inode.super_block();
    // SAFETY: A pure function.
    let opf = unsafe { ffi::emfs_data_write_opf() };
    let Ok(bio) = alloc_bio(sb.bdev(), blk, folios.len() as u16, opf) else {
        return Err(ctx);
    };
    let slot = {
        let _nofs = crate::kernel_ext::nofs::NoFsScope::enter();
        KBox::<WriteIo<T>>::new_uninit(GFP_KERNEL)
    };
    let Ok(slot) = slot else {
        // SAFETY: The bio is ours and empty.
        unsafe { bindings::bio_put(bio) };
        return Err(ctx);
    };
    let io = KBox::into_raw(KBox::write(
        slot,
        WriteIo {
            // SAFETY: All-zero is a valid not-yet-initialised `work_struct`.
            work: unsafe { core::mem::zeroed() },
            bio,
            wq: sb.info().wq,
            inode: inode.raw(),
            ctx,
        },
    ));
    // SAFETY: The bio is ours and has one vector per folio; the folios are locked (caller).
    let added = folios
        .iter()
        .all(|&f| unsafe { bindings::bio_add_folio(bio, f, ffi::emfs_folio_size(f), 0) });
    if !added {
        // SAFETY: Nothing was submitted: the bio and `io` are still ours.
        let io = unsafe {
            bindings::bio_put(bio);
            KBox::from_raw(io)
        };
        return Err(KBox::into_inner(io).ctx);
    }
    // SAFETY: `io` is ours (nothing submitted yet) and live; its zeroed `work` is initialised
    // here to run `write_work::<T>`, as the `WriteIo` invariant says.
    unsafe { ffi::emfs_init_work(ptr::addr_of_mut!((*io).work), Some(write_work::<T>)) };
    for &folio in folios {
        // SAFETY: The caller guarantees the folio is locked, cleared for I/O by
        // `writeback_iter` and of `inode`: its writeback starts (ended by the bio's completion)
        // and it is unlocked, as for any folio under writeback.
        unsafe {
            ffi::emfs_folio_start_writeback(folio);
            ffi::emfs_folio_unlock(folio);
        }
    }
    // SAFETY: `bio` is ours, unsubmitted, and holds the folios; `io` is its `WriteIo`. From
    // `submit_bio` on, the completion (`write_end_io`) owns `io` and the bio.
    unsafe {
        (*bio).bi_private = io.cast();
        (*bio).bi_end_io = Some(write_end_io::<T>);
        bindings::submit_bio(bio);
    }
    Ok(())
}

/// Most folios written by one bio: 256 KiB.
pub(super) const WRITE_BATCH: usize = 64;

/// The folios of a writeback batch, as [`AddressSpaceOperations::writeback_alloc`] sees them:
/// which hold a reservation (made when they were dirtied).
///
/// # Invariants
///
/// `folios` are locked by the running writeback for as long as this exists, so their
/// reservation markers do not change.
pub struct Reserved<'a> {
    folios: &'a [*mut bindings::folio],
}

impl Reserved<'_> {
    /// How many of the first `blocks` folios hold a reservation.
    pub fn in_prefix(&self, blocks: u64) -> u64 {
        let n = usize::try_from(blocks).unwrap_or(usize::MAX);
        self.folios
            .iter()
            .take(n)
            // SAFETY: By the type invariant the folio is locked, as reading its marker needs.
            .filter(|&&f| unsafe { ffi::emfs_folio_reserved(f) })
            .count() as u64
    }
}

/// Writes `folios` (locked, contiguous from `pos`): space from the file system, a bio per
/// contiguous allocation. Folios that cannot be written are redirtied and unlocked.
///
/// # Safety
///
/// As [`submit_write`]; `wbc` is the running writeback control.
pub(super) unsafe fn write_batch<T: Type>(
    inode: &UnheldInode<T>,
    wbc: *mut bindings::writeback_control,
    pos: u64,
    folios: &[*mut bindings::folio],
) -> Result {
    let bs = BLOCK_SIZE as u64;
    let mut done = 0usize;
    let mut result = Ok(());
    while done < folios.len() {
        let rest = &folios[done..];
        let at = pos + done as u64 * bs;
        // INVARIANT: The caller guarantees the folios are locked.
        let reserved = Reserved { folios: rest };
        let granted = T::writeback_alloc(inode, at, rest.len() as u64 * bs, &reserved);
        let (blk, len, ctx) = match granted {
            Ok(g) => g,
            Err(e) => {
                result = Err(e);
                break;
            }
        };
        let n = ((len / bs) as usize).clamp(1, rest.len());
        // The reservations of the granted prefix became the allocation: their markers go.
        // Folios past it keep theirs (they may be redirtied below, still promised space).
        let mut had = [false; WRITE_BATCH];
        for (h, &f) in had.iter_mut().zip(&rest[..n]) {
            // SAFETY: The caller guarantees the folios are locked, as clearing needs.
            *h = unsafe { ffi::emfs_folio_clear_reserved(f) };
        }
        // SAFETY: The caller guarantees `folios` are locked, cleared for I/O by
        // `writeback_iter` and of `inode` (this function's `# Safety`), so `rest[..n]` are too.
        if let Err(ctx) = unsafe { submit_write(inode, &rest[..n], blk, ctx) } {
            // Not written: the folios are redirtied below with the promises they had.
            for (&h, &f) in had.iter().zip(&rest[..n]) {
                if h {
                    // SAFETY: The folio is still locked (nothing was submitted), as setting
                    // the marker needs, and has none (cleared just above).
                    unsafe { ffi::emfs_folio_set_reserved(f) };
                }
            }
            T::writeback_cancel(inode, ctx);
            result = Err(ENOMEM);
            break;
        }
        done += n;
    }
    for &folio in &folios[done..] {
        // Folios we did not write: dirty again, for a later writeback.
        // SAFETY: The caller guarantees these folios are locked by the running writeback and
        // `wbc` is its control; not submitted, they are still ours to redirty and unlock.
        unsafe {
            bindings::folio_redirty_for_writepage(wbc, folio);
            ffi::emfs_folio_unlock(folio);
        }
    }
    result
}

/// # Safety
///
/// Called by writeback with the mapping of a `T` regular file.
pub(super) unsafe extern "C" fn writepages_callback<T: Type>(
    mapping: *mut bindings::address_space,
    wbc: *mut bindings::writeback_control,
) -> core::ffi::c_int {
    // SAFETY: Writeback holds the inode live while it runs (`I_SYNC`), though perhaps with no
    // reference at all (`write_inode_now` from `iput_final`): hence `UnheldInode`.
    let inode = unsafe { UnheldInode::<T>::from_raw((*mapping).host) };
    let bs = BLOCK_SIZE as u64;
    let mut batch = [ptr::null_mut::<bindings::folio>(); WRITE_BATCH];
    let mut n = 0usize;
    let mut batch_pos = 0u64;
    let mut err: core::ffi::c_int = 0;
    let mut result = Ok(());
    let mut folio = ptr::null_mut();
    loop {
        // SAFETY: The iterator protocol: pass back the previous folio (unlocked or held by our
        // batch), get the next dirty one locked and cleared for I/O.
        folio = unsafe { bindings::writeback_iter(mapping, wbc, folio, &mut err) };
        if folio.is_null() {
            break;
        }
        // SAFETY: The folio is locked.
        let (fpos, fsize) = unsafe { (ffi::emfs_folio_pos(folio), ffi::emfs_folio_size(folio)) };
        let isize = inode.size();
        if fpos >= isize {
            // Past the end (a truncate is dropping it): nothing to write, and, no longer
            // dirty, nothing to keep its reservation for (a clean folio keeps none).
            // SAFETY: `writeback_iter` returned the folio locked, as clearing its marker needs.
            if unsafe { ffi::emfs_folio_clear_reserved(folio) } {
                T::unreserve(inode, 1);
            }
            // SAFETY: `writeback_iter` returned the folio locked, and it is not in the batch:
            // unlocking it is ours to do.
            unsafe { ffi::emfs_folio_unlock(folio) };
            continue;
        }
        if fpos + fsize as i64 > isize {
            // The part past the end must reach the disk as zeros: a later extension reads it.
            let from = (isize - fpos) as usize;
            // SAFETY: The folio is locked (from `writeback_iter`), and `[from, fsize)` is inside
            // it: `fpos < isize < fpos + fsize` gives `0 < from < fsize`.
            unsafe { ffi::emfs_folio_zero_range(folio, from, fsize - from) };
        }
        let fpos = fpos as u64;
        if n > 0 && (n == WRITE_BATCH || fpos != batch_pos + n as u64 * bs) {
            // SAFETY: The batch holds folios of this inode that `writeback_iter` returned locked
            // and cleared for I/O, contiguous from `batch_pos`; `wbc` is the running control.
            let r = unsafe { write_batch(inode, wbc, batch_pos, &batch[..n]) };
            result = result.and(r);
            n = 0;
        }
        if n == 0 {
            batch_pos = fpos;
        }
        batch[n] = folio;
        n += 1;
    }
    if n > 0 {
        // SAFETY: The batch holds folios of this inode that `writeback_iter` returned locked
        // and cleared for I/O, contiguous from `batch_pos`; `wbc` is the running control.
        let r = unsafe { write_batch(inode, wbc, batch_pos, &batch[..n]) };
        result = result.and(r);
    }
    match result {
        Err(e) => e.to_errno(),
        Ok(()) => err,
    }
}
