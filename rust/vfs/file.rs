// SPDX-License-Identifier: GPL-2.0

//! The `file_operations` trampolines that hand an open file to the file system: `fsync` (of
//! files and directories) and `fallocate`.

use super::*;

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
        // SAFETY: `vfs_fsync_range` passes an open file, valid for the call.
        to_result(unsafe { bindings::file_write_and_wait_range(file, start, end) })?;
        // SAFETY: The open file keeps its inode live for the call, a `T` inode set up by `iget`.
        let inode = unsafe { Inode::<T>::from_raw(ffi::emfs_file_inode(file)) };
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
    // SAFETY: `vfs_fallocate` passes an open file, which keeps its inode live.
    let inode = unsafe { ffi::emfs_file_inode(file) };
    let (Ok(offset), Ok(len)) = (u64::try_from(offset), u64::try_from(len)) else {
        return EINVAL.to_errno() as kernel::ffi::c_long;
    };
    // SAFETY: The inode is live (see above); `fallocate` runs under its lock, as `truncate`
    // does, released below.
    unsafe { ffi::emfs_inode_lock(inode) };
    // SAFETY: The inode is a live `T` inode (its file is open), locked for writing until the
    // unlock below, after the last use of this reference.
    let locked = unsafe { LockedInode::<T>::from_raw(inode) };
    let r = T::fallocate(locked, mode as u32, offset, len);
    // SAFETY: Locked above by this function.
    unsafe { ffi::emfs_inode_unlock(inode) };
    match r {
        Ok(()) => 0,
        Err(e) => e.to_errno() as kernel::ffi::c_long,
    }
}
