// SPDX-License-Identifier: GPL-2.0

//! The write side: `write_begin`/`write_end` with a block reserved per dirty folio,
//! `page_mkwrite`, `writepages` with its write bios completed on the superblock's workqueue,
//! `invalidate_folio`, `fsync` and `fallocate`.

use super::*;

/// Gets the folio at `pos` locked for a write of `len` bytes in it, with a block reserved for
/// it and, if the write does not cover it, its old data read (or zeros past the end).
pub(super) fn write_begin<T: Type>(
    mapping: *mut bindings::address_space,
    pos: i64,
    len: usize,
) -> Result<*mut bindings::folio> {
    // SAFETY: `mapping` is the live mapping of a `T` regular file (callers hold the inode).
    let inode = unsafe { Inode::<T>::from_raw((*mapping).host) };
    // A write past the end makes the rest of the old last block part of the file, and a
    // shared mapping may have written there past the end: zeros first (what xfs does with
    // `xfs_zero_range` from the old size). The same block is handled below.
    let bs = BLOCK_SIZE as i64;
    let isize = inode.size();
    if pos > isize && isize % bs != 0 && pos / bs != isize / bs {
        inode.zero_range(isize as u64, (bs - isize % bs) as u64)?;
    }
    let mut err = 0;
    // SAFETY: As above.
    let folio = unsafe { ffi::emfs_write_begin_folio(mapping, pos, &mut err) };
    if folio.is_null() {
        return Err(Error::from_errno(err));
    }
    let give_up = |e: Error, reserved_here: bool| {
        // SAFETY: The folio is locked and referenced by us; a reservation taken here is
        // returned with its marker.
        unsafe {
            if reserved_here && ffi::emfs_folio_clear_reserved(folio) {
                T::unreserve(inode.super_block(), 1);
            }
            ffi::emfs_folio_unlock(folio);
            ffi::emfs_folio_put(folio);
        }
        e
    };
    let mut reserved_here = false;
    // SAFETY: The folio is locked.
    if !unsafe { ffi::emfs_folio_reserved(folio) } {
        T::reserve(inode.super_block(), 1).map_err(|e| give_up(e, false))?;
        // SAFETY: As above.
        unsafe { ffi::emfs_folio_set_reserved(folio) };
        reserved_here = true;
    }
    // SAFETY: As above.
    let (uptodate, fpos, fsize) = unsafe {
        (
            ffi::emfs_folio_test_uptodate(folio),
            ffi::emfs_folio_pos(folio),
            ffi::emfs_folio_size(folio),
        )
    };
    if !uptodate && len != fsize {
        if fpos >= inode.size() {
            // SAFETY: As above; nothing past the end is on disk.
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
            // SAFETY: As above; its data is read.
            unsafe { ffi::emfs_folio_mark_uptodate(folio) };
        }
    }
    if pos > isize && isize > fpos && isize % bs != 0 {
        // The write starts past the end inside the old last block: what lies between the
        // old end and the write was never part of the file.
        // SAFETY: As above; `[isize, pos)` is inside the folio.
        unsafe {
            ffi::emfs_folio_zero_range(folio, (isize - fpos) as usize, (pos - isize) as usize)
        };
    }
    Ok(folio)
}

/// Ends a write into a folio from [`write_begin`]: dirties it and, with `grow`, extends the
/// size. Returns `copied`.
pub(super) fn write_end<T: Type>(
    mapping: *mut bindings::address_space,
    pos: i64,
    len: usize,
    copied: usize,
    folio: *mut bindings::folio,
    grow: bool,
) -> usize {
    // SAFETY: `mapping` is the live mapping of a `T` regular file and `folio` the locked,
    // referenced folio `write_begin` returned; both references end here.
    unsafe {
        let inode = Inode::<T>::from_raw((*mapping).host);
        if !ffi::emfs_folio_test_uptodate(folio) {
            if copied < len {
                let from = (pos as usize) % ffi::emfs_folio_size(folio);
                ffi::emfs_folio_zero_range(folio, from + copied, len - copied);
            }
            ffi::emfs_folio_mark_uptodate(folio);
        }
        let end = pos + copied as i64;
        let grew = grow && copied > 0 && end > inode.size();
        if copied > 0 {
            if grew {
                ffi::emfs_i_size_write(inode.raw(), end);
            }
            bindings::folio_mark_dirty(folio);
        } else if !ffi::emfs_folio_test_dirty(folio) && ffi::emfs_folio_clear_reserved(folio) {
            T::unreserve(inode.super_block(), 1);
        }
        ffi::emfs_folio_unlock(folio);
        ffi::emfs_folio_put(folio);
        if grew {
            ffi::emfs_mark_inode_dirty(inode.raw());
        }
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
    match write_begin::<T>(mapping, pos, len as usize) {
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
    write_end::<T>(mapping, pos, len as usize, copied as usize, folio, true) as i32
}

/// # Safety
///
/// Called by the page cache with a locked folio of a `T` file being truncated or punched.
pub(super) unsafe extern "C" fn invalidate_folio_callback<T: Type>(
    folio: *mut bindings::folio,
    offset: usize,
    len: usize,
) {
    // SAFETY: The folio is locked, so its mapping and host are stable and live.
    unsafe {
        if offset == 0
            && len == ffi::emfs_folio_size(folio)
            && ffi::emfs_folio_clear_reserved(folio)
        {
            // Its dirty data is thrown away: the block it reserved will not be written.
            let inode = Inode::<T>::from_raw(ffi::emfs_folio_inode(folio));
            T::unreserve(inode.super_block(), 1);
        }
    }
}

/// # Safety
///
/// Called by the fault handler for a write fault on a shared mapping of a `T` file.
pub(super) unsafe extern "C" fn page_mkwrite_callback<T: Type>(
    vmf: *mut bindings::vm_fault,
) -> bindings::vm_fault_t {
    // SAFETY: The mapped file keeps its inode live; the folio is referenced by the fault.
    unsafe {
        let inode = ffi::emfs_vmf_inode(vmf);
        let inode_ref = Inode::<T>::from_raw(inode);
        let folio = ffi::emfs_vmf_folio(vmf);
        let sb = (*inode).i_sb;
        ffi::emfs_sb_start_pagefault(sb);
        bindings::file_update_time((*(*vmf).__bindgen_anon_1.vma).vm_file);
        ffi::emfs_folio_lock(folio);
        let ret = if ffi::emfs_folio_mapping(folio) != (*inode).i_mapping
            || ffi::emfs_folio_pos(folio) >= inode_ref.size()
        {
            // Truncated meanwhile: let the fault retry.
            ffi::emfs_folio_unlock(folio);
            bindings::vm_fault_reason_VM_FAULT_NOPAGE
        } else if !ffi::emfs_folio_reserved(folio)
            && T::reserve(inode_ref.super_block(), 1).is_err()
        {
            ffi::emfs_folio_unlock(folio);
            bindings::vm_fault_reason_VM_FAULT_SIGBUS
        } else {
            if !ffi::emfs_folio_reserved(folio) {
                ffi::emfs_folio_set_reserved(folio);
            }
            bindings::folio_mark_dirty(folio);
            ffi::emfs_folio_wait_stable(folio);
            bindings::vm_fault_reason_VM_FAULT_LOCKED
        };
        ffi::emfs_sb_end_pagefault(sb);
        ret as bindings::vm_fault_t
    }
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
    // SAFETY: As above.
    T::writeback_done(unsafe { Inode::from_raw(inode) }, ctx, to_result(status));
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
    inode: &Inode<T>,
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
    // SAFETY: `io` and `bio` are ours; the folios are locked (caller) and in the bio. From
    // `submit_bio` on, the completion owns `io`.
    unsafe {
        ffi::emfs_init_work(ptr::addr_of_mut!((*io).work), Some(write_work::<T>));
        for &folio in folios {
            ffi::emfs_folio_start_writeback(folio);
            ffi::emfs_folio_unlock(folio);
        }
        (*bio).bi_private = io.cast();
        (*bio).bi_end_io = Some(write_end_io::<T>);
        bindings::submit_bio(bio);
    }
    Ok(())
}

/// Most folios written by one bio: 256 KiB.
pub(super) const WRITE_BATCH: usize = 64;

/// Writes `folios` (locked, contiguous from `pos`): space from the file system, a bio per
/// contiguous allocation. Folios that cannot be written are redirtied and unlocked.
///
/// # Safety
///
/// As [`submit_write`]; `wbc` is the running writeback control.
pub(super) unsafe fn write_batch<T: Type>(
    inode: &Inode<T>,
    wbc: *mut bindings::writeback_control,
    pos: u64,
    folios: &[*mut bindings::folio],
) -> Result {
    let bs = BLOCK_SIZE as u64;
    let mut done = 0usize;
    let mut result = Ok(());
    while done < folios.len() {
        let rest = &folios[done..];
        // The reservations of these folios become the allocation.
        // SAFETY: The folios are locked.
        let reserved = rest
            .iter()
            .filter(|&&f| unsafe { ffi::emfs_folio_clear_reserved(f) })
            .count() as u64;
        let at = pos + done as u64 * bs;
        let granted = T::writeback_alloc(inode, at, rest.len() as u64 * bs, reserved);
        let (blk, len, ctx) = match granted {
            Ok(g) => g,
            Err(e) => {
                result = Err(e);
                break;
            }
        };
        let n = ((len / bs) as usize).clamp(1, rest.len());
        // SAFETY: As the caller guarantees.
        if let Err(ctx) = unsafe { submit_write(inode, &rest[..n], blk, ctx) } {
            T::writeback_done(inode, ctx, Err(ENOMEM));
            result = Err(ENOMEM);
            break;
        }
        done += n;
    }
    for &folio in &folios[done..] {
        // SAFETY: Locked folios we did not write: dirty again, for a later writeback.
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
    // SAFETY: Writeback holds the inode live.
    let inode = unsafe { Inode::<T>::from_raw((*mapping).host) };
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
            // Past the end (a truncate is dropping it): nothing to write.
            // SAFETY: As above.
            unsafe { ffi::emfs_folio_unlock(folio) };
            continue;
        }
        if fpos + fsize as i64 > isize {
            // The part past the end must reach the disk as zeros: a later extension reads it.
            let from = (isize - fpos) as usize;
            // SAFETY: As above.
            unsafe { ffi::emfs_folio_zero_range(folio, from, fsize - from) };
        }
        let fpos = fpos as u64;
        if n > 0 && (n == WRITE_BATCH || fpos != batch_pos + n as u64 * bs) {
            // SAFETY: The batch holds locked folios of this inode, contiguous from `batch_pos`.
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
        // SAFETY: As above.
        let r = unsafe { write_batch(inode, wbc, batch_pos, &batch[..n]) };
        result = result.and(r);
    }
    match result {
        Err(e) => e.to_errno(),
        Ok(()) => err,
    }
}

/// # Safety
///
/// Called by `vfs_fsync_range` on an open `T` file or directory.
pub(super) unsafe extern "C" fn fsync_callback<T: Type>(
    file: *mut bindings::file,
    start: bindings::loff_t,
    end: bindings::loff_t,
    datasync: core::ffi::c_int,
) -> core::ffi::c_int {
    from_result(|| {
        // SAFETY: The open file keeps its inode live.
        let inode = unsafe {
            to_result(bindings::file_write_and_wait_range(file, start, end))?;
            Inode::<T>::from_raw(ffi::emfs_file_inode(file))
        };
        let start = u64::try_from(start).map_err(|_| EINVAL)?;
        let end = u64::try_from(end).unwrap_or(u64::MAX);
        T::fsync(inode, start, end, datasync != 0)?;
        Ok(0)
    })
}

/// # Safety
///
/// Called by `vfs_fallocate` on an open `T` regular file.
pub(super) unsafe extern "C" fn fallocate_callback<T: Type>(
    file: *mut bindings::file,
    mode: core::ffi::c_int,
    offset: bindings::loff_t,
    len: bindings::loff_t,
) -> kernel::ffi::c_long {
    // SAFETY: The open file keeps its inode live.
    let inode = unsafe { ffi::emfs_file_inode(file) };
    // SAFETY: As above.
    let inode_ref = unsafe { Inode::<T>::from_raw(inode) };
    let (Ok(offset), Ok(len)) = (u64::try_from(offset), u64::try_from(len)) else {
        return EINVAL.to_errno() as kernel::ffi::c_long;
    };
    // SAFETY: The inode is live; `fallocate` runs under its lock, as `truncate` does.
    unsafe { ffi::emfs_inode_lock(inode) };
    let r = T::fallocate(inode_ref, mode as u32, offset, len);
    // SAFETY: Locked above.
    unsafe { ffi::emfs_inode_unlock(inode) };
    match r {
        Ok(()) => 0,
        Err(e) => e.to_errno() as kernel::ffi::c_long,
    }
}
