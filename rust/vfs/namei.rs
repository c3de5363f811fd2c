// SPDX-License-Identifier: GPL-2.0

//! The operations that change names: `create`, `mkdir`, `mknod`, `symlink`, `link`, `unlink`,
//! `rmdir` and `rename`; and `get_link`.
//!
//! The file system changes its own metadata ([`InodeOperations`]); the trampolines then keep
//! the VFS's inodes in step: link counts (`inc_nlink`, `drop_nlink`, `clear_nlink`), times,
//! and the dentry of a new name. Each writes only what the VFS holds locked for it: the
//! directories of the call always, an inode the call names only where `fs/namei.c` locks it.
//! A link count that would go below what the operation needs (damaged metadata) fails the call
//! with `EIO` before anything changes, instead of the VFS's warning.

use super::dir::{dentry_name, entries_changed, touch};
use super::*;

/// What [`InodeOperations::create`] makes.
#[derive(Clone, Copy, Debug)]
pub struct NewInode<'a> {
    /// The type.
    pub ty: FileType,
    /// The 12 permission bits, the caller's umask already applied.
    pub perm: u16,
    /// Owner: the task's fsuid.
    pub uid: u32,
    /// Group: the task's fsgid, or the directory's group if the directory is set-group-ID.
    pub gid: u32,
    /// A device node's device number (the kernel's `dev_t`); otherwise 0.
    pub rdev: u32,
    /// A symlink's target (1 to `PATH_MAX - 1` bytes, no NUL); otherwise empty.
    pub target: &'a [u8],
}

/// `rename`'s flags, those the VFS passes to a file system.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RenameFlags(u32);

impl RenameFlags {
    /// Fail if the new name exists (checked by the VFS).
    pub const NOREPLACE: u32 = bindings::RENAME_NOREPLACE;
    /// Swap the two names' inodes.
    pub const EXCHANGE: u32 = bindings::RENAME_EXCHANGE;
    /// Leave a whiteout at the old name.
    pub const WHITEOUT: u32 = bindings::RENAME_WHITEOUT;

    /// All the flags, with the kernel's values (`include/uapi/linux/fs.h`).
    pub fn bits(self) -> u32 {
        self.0
    }

    /// Whether `flag` (one of the constants above) is set.
    pub fn contains(self, flag: u32) -> bool {
        self.0 & flag != 0
    }
}

/// The owner a new inode made in `dir` by the calling task gets (`inode_init_owner`'s rule):
/// the task's fsuid, and the directory's group if it is set-group-ID, else the task's fsgid.
/// For inodes a file system makes itself, a whiteout say; `create` gets it in [`NewInode`].
pub fn new_owner<T: FileSystem>(dir: &Inode<T>) -> (u32, u32) {
    // SAFETY: Reads the calling task's own credentials, live while it runs.
    let (uid, fsgid) = unsafe { (ffi::emfs_current_fsuid(), ffi::emfs_current_fsgid()) };
    let parent = dir.attrs();
    let gid = if parent.mode & S_ISGID != 0 {
        parent.gid
    } else {
        fsgid
    };
    (uid, gid)
}

/// `S_ISGID` of a mode.
const S_ISGID: u16 = 0o2000;

/// Makes `dentry`'s name in `dir` for a new inode of type `ty` and instantiates the dentry
/// with it.
///
/// # Safety
///
/// `dir` must be a live `T` directory, locked for the call, and `dentry` a negative dentry in
/// it that the VFS holds for the call.
unsafe fn make_node<T: Type>(
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    ty: FileType,
    mode: bindings::umode_t,
    rdev: u32,
    target: &[u8],
) -> Result {
    // SAFETY: The caller guarantees `dir` is a live `T` directory and `dentry` held in it, with
    // the directory locked, so the dentry's name is stable for the call.
    let (dir_ref, name) = unsafe { (Inode::<T>::from_raw(dir), dentry_name(dentry)) };
    let (uid, gid) = new_owner(dir_ref);
    // A set-group-ID directory gives a new subdirectory its bit too (`inode_init_owner`'s rule;
    // the VFS has already stripped what the caller may not set).
    let sgid = if ty == FileType::Dir && dir_ref.attrs().mode & S_ISGID != 0 {
        S_ISGID
    } else {
        0
    };
    let new = NewInode {
        ty,
        perm: (mode & 0o7777) | sgid,
        uid,
        gid,
        rdev,
        target,
    };
    let ino = T::create(dir_ref, name, &new)?;
    let (inode, fresh) = dir_ref.super_block().iget_inner(ino).inspect_err(|_| {
        // The name must not stay behind without the dentry the caller was told failed.
        T::create_aborted(dir_ref, name, ino);
    })?;
    // An inode found in the cache is not the one just made (a directory must not get a second
    // dentry: the VFS's locking assumes one), nor is one of another type.
    if !fresh || FileType::from_mode(inode.attrs().mode) != Some(ty) {
        return Err(EIO);
    }
    // SAFETY: `dentry` is the negative dentry the VFS holds for the call; `d_instantiate` takes
    // the inode reference. The directory, a `T` one, is live and locked, as `inc_nlink` and
    // `entries_changed` need; a directory being made in has links (the VFS refuses dead
    // directories), so `inc_nlink` does not warn.
    unsafe {
        bindings::d_instantiate(dentry, ARef::into_raw(inode).as_ptr().cast());
        if ty == FileType::Dir {
            bindings::inc_nlink(dir);
        }
        entries_changed::<T>(dir);
    }
    Ok(())
}

/// # Safety
///
/// Called by the VFS with a `T` directory, locked, and a negative dentry in it.
pub(super) unsafe extern "C" fn create_callback<T: Type>(
    _idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    mode: bindings::umode_t,
    _excl: bool,
) -> core::ffi::c_int {
    from_result(|| {
        if FileType::from_mode(mode) != Some(FileType::Reg) {
            return Err(EINVAL);
        }
        // SAFETY: The VFS holds `dir`, a `T` directory, locked, and the negative `dentry` in it.
        unsafe { make_node::<T>(dir, dentry, FileType::Reg, mode, 0, &[]) }?;
        Ok(0)
    })
}

/// # Safety
///
/// Called by the VFS with a `T` directory, locked, and a negative dentry in it.
pub(super) unsafe extern "C" fn mkdir_callback<T: Type>(
    _idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    mode: bindings::umode_t,
) -> core::ffi::c_int {
    from_result(|| {
        // SAFETY: The VFS holds `dir`, a `T` directory, locked, and the negative `dentry` in it.
        unsafe { make_node::<T>(dir, dentry, FileType::Dir, mode, 0, &[]) }?;
        Ok(0)
    })
}

/// # Safety
///
/// Called by the VFS with a `T` directory, locked, and a negative dentry in it.
pub(super) unsafe extern "C" fn mknod_callback<T: Type>(
    _idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    mode: bindings::umode_t,
    rdev: bindings::dev_t,
) -> core::ffi::c_int {
    from_result(|| {
        // `mknod(2)` of a regular file goes to `create`; only the special types come here.
        let (ty, rdev) = match FileType::from_mode(mode) {
            Some(ty @ (FileType::CharDev | FileType::BlockDev)) => (ty, rdev),
            Some(ty @ (FileType::Fifo | FileType::Socket)) => (ty, 0),
            _ => return Err(EINVAL),
        };
        // SAFETY: The VFS holds `dir`, a `T` directory, locked, and the negative `dentry` in it.
        unsafe { make_node::<T>(dir, dentry, ty, mode, rdev, &[]) }?;
        Ok(0)
    })
}

/// # Safety
///
/// Called by the VFS with a `T` directory, locked, a negative dentry in it and a C string.
pub(super) unsafe extern "C" fn symlink_callback<T: Type>(
    _idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    symname: *const kernel::ffi::c_char,
) -> core::ffi::c_int {
    // SAFETY: `symname` is the NUL-terminated target the VFS copied in (`getname`), valid for
    // the call.
    let target = unsafe { CStr::from_char_ptr(symname) }.as_bytes();
    from_result(|| {
        // SAFETY: The VFS holds `dir`, a `T` directory, locked, and the negative `dentry` in it.
        unsafe { make_node::<T>(dir, dentry, FileType::Symlink, 0o777, 0, target) }?;
        Ok(0)
    })
}

/// # Safety
///
/// Called by `vfs_link` with a positive `T` dentry, whose inode it holds locked, and a `T`
/// directory, locked, with a negative dentry in it.
pub(super) unsafe extern "C" fn link_callback<T: Type>(
    old_dentry: *mut bindings::dentry,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
) -> core::ffi::c_int {
    // SAFETY: `old_dentry` is positive and held by the VFS for the call.
    let inode = unsafe { ffi::emfs_d_inode(old_dentry) };
    // SAFETY: `dir` is a live, locked `T` directory, so the new dentry's name is stable; `inode`
    // is the live `T` inode of a held dentry, set up by `iget`.
    let (dir_ref, inode_ref, name) = unsafe {
        (
            Inode::<T>::from_raw(dir),
            Inode::<T>::from_raw(inode),
            dentry_name(dentry),
        )
    };
    from_result(|| {
        let a = inode_ref.attrs();
        // `vfs_link` refuses both already; checked again under the inode lock, as
        // `inc_nlink` (which warns on an inode without links) needs.
        if FileType::from_mode(a.mode) == Some(FileType::Dir) {
            return Err(EPERM);
        }
        if a.nlink == 0 {
            return Err(ENOENT);
        }
        T::link(dir_ref, inode_ref, name)?;
        // SAFETY: `inode` is live and locked by `vfs_link`, with a link (checked above), as
        // `inc_nlink` needs; `ihold` gives the reference `d_instantiate` takes for the negative
        // `dentry` the VFS holds. The directory, a `T` one, is live and locked, as
        // `entries_changed` needs.
        unsafe {
            bindings::inc_nlink(inode);
            bindings::ihold(inode);
            bindings::d_instantiate(dentry, inode);
            touch(inode, false);
            entries_changed::<T>(dir);
        }
        Ok(0)
    })
}

/// Removes `dentry`'s name from `dir`: `unlink` of a non-directory, or (`rmdir`) of a
/// directory.
///
/// # Safety
///
/// `dir` must be a live `T` directory, locked for the call, and `dentry` a positive dentry in
/// it that the VFS holds for the call, its inode locked (as `vfs_unlink` and `vfs_rmdir` do).
unsafe fn remove_name<T: Type>(
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    rmdir: bool,
) -> Result {
    // SAFETY: The caller guarantees the directory and the dentry are held and locked, so the
    // name is stable; the dentry is positive.
    let (dir_ref, inode, name) = unsafe {
        (
            Inode::<T>::from_raw(dir),
            ffi::emfs_d_inode(dentry),
            dentry_name(dentry),
        )
    };
    // SAFETY: `inode` is the inode of the positive dentry the VFS holds, so live for the call,
    // and a `T` inode set up by `iget`.
    let inode_ref = unsafe { Inode::<T>::from_raw(inode) };
    if rmdir {
        // The parent counts this subdirectory: below 3 links it cannot lose one.
        if dir_ref.attrs().nlink < 3 {
            return Err(EIO);
        }
        T::rmdir(dir_ref, name, inode_ref)?;
    } else {
        // A name whose inode has no link left is damage, not something to drop a link from
        // (`drop_nlink` warns).
        if inode_ref.attrs().nlink == 0 {
            return Err(EIO);
        }
        T::unlink(dir_ref, name, inode_ref)?;
    }
    // SAFETY: Both inodes are live (held by the VFS) and locked (the caller's guarantee), as
    // `clear_nlink`, `drop_nlink`, `touch` and `entries_changed` (`dir` is a `T` directory)
    // need; `inode` has a link for `unlink`, `dir` at least 3 for `rmdir` (checked above,
    // under their locks).
    unsafe {
        if rmdir {
            bindings::clear_nlink(inode);
            bindings::drop_nlink(dir);
        } else {
            bindings::drop_nlink(inode);
        }
        touch(inode, false);
        entries_changed::<T>(dir);
    }
    Ok(())
}

/// # Safety
///
/// Called by `vfs_unlink` with a `T` directory, locked, and a positive dentry in it whose
/// inode it holds locked.
pub(super) unsafe extern "C" fn unlink_callback<T: Type>(
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
) -> core::ffi::c_int {
    // SAFETY: `vfs_unlink` holds `dir`, a `T` directory, and the positive `dentry` in it, both
    // locked with the dentry's inode.
    from_result(|| unsafe { remove_name::<T>(dir, dentry, false) }.map(|()| 0))
}

/// # Safety
///
/// Called by `vfs_rmdir` with a `T` directory, locked, and a positive dentry in it of a
/// directory it holds locked.
pub(super) unsafe extern "C" fn rmdir_callback<T: Type>(
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
) -> core::ffi::c_int {
    // SAFETY: `vfs_rmdir` holds `dir`, a `T` directory, and the positive `dentry` in it, both
    // locked with the dentry's inode.
    from_result(|| unsafe { remove_name::<T>(dir, dentry, true) }.map(|()| 0))
}

/// # Safety
///
/// Called by `vfs_rename` with `T` directories and dentries, locked as it says.
pub(super) unsafe extern "C" fn rename_callback<T: Type>(
    _idmap: *mut bindings::mnt_idmap,
    old_dir: *mut bindings::inode,
    old_dentry: *mut bindings::dentry,
    new_dir: *mut bindings::inode,
    new_dentry: *mut bindings::dentry,
    flags: core::ffi::c_uint,
) -> core::ffi::c_int {
    let known = RenameFlags::NOREPLACE | RenameFlags::EXCHANGE | RenameFlags::WHITEOUT;
    if flags & !known != 0 {
        return EINVAL.to_errno();
    }
    let flags = RenameFlags(flags);
    let exchange = flags.contains(RenameFlags::EXCHANGE);
    // SAFETY: The VFS holds both directories locked (`lock_rename`) and both dentries, all of
    // this `T` file system, so the names are stable; the old dentry is positive.
    let (old_dir_ref, new_dir_ref, inode, target, old_name, new_name) = unsafe {
        (
            Inode::<T>::from_raw(old_dir),
            Inode::<T>::from_raw(new_dir),
            ffi::emfs_d_inode(old_dentry),
            ffi::emfs_d_inode(new_dentry),
            dentry_name(old_dentry),
            dentry_name(new_dentry),
        )
    };
    // SAFETY: `inode` is the inode of `old_dentry`, positive and held by the VFS, so live for
    // the call, and a `T` inode set up by `iget`.
    let inode_ref = unsafe { Inode::<T>::from_raw(inode) };
    // SAFETY: Called only if `target` is not null: then it is the inode of `new_dentry`, held
    // by the VFS, so live for the call, and a `T` inode set up by `iget`.
    let target_ref = (!target.is_null()).then(|| unsafe { Inode::<T>::from_raw(target) });
    let is_dir = |i: &Inode<T>| FileType::from_mode(i.attrs().mode) == Some(FileType::Dir);
    let moves_dir = is_dir(inode_ref);
    let target_dir = target_ref.is_some_and(is_dir);
    let cross = old_dir != new_dir;
    // What `vfs_rename` locks besides the two directories: the source unless it is a
    // directory staying in its directory, the target unless it is a directory that an
    // exchange keeps in its directory.
    let source_locked = !moves_dir || cross;
    let target_locked = !target_dir || cross || !exchange;
    from_result(|| {
        // Which directory loses a subdirectory (and must have one to lose), and which gains.
        let (loses, gains) = match (exchange, target_ref) {
            (false, Some(t)) => {
                // The target loses its name (a directory, all of its links).
                if t.attrs().nlink == 0 || (target_dir && new_dir_ref.attrs().nlink < 3) {
                    return Err(EIO);
                }
                match (moves_dir && cross, target_dir) {
                    (true, true) => (Some(old_dir), None),
                    (true, false) => (Some(old_dir), Some(new_dir)),
                    (false, true) => (Some(new_dir), None),
                    (false, false) => (None, None),
                }
            }
            (false, None) if moves_dir && cross => (Some(old_dir), Some(new_dir)),
            (true, Some(_)) if cross && moves_dir != target_dir => {
                if moves_dir {
                    (Some(old_dir), Some(new_dir))
                } else {
                    (Some(new_dir), Some(old_dir))
                }
            }
            _ => (None, None),
        };
        // SAFETY: `d` is one of the two directories the VFS holds for the call, a live `T`
        // inode.
        let nlink = |d: *mut bindings::inode| unsafe { Inode::<T>::from_raw(d) }.attrs().nlink;
        if loses.is_some_and(|d| nlink(d) < 3) {
            return Err(EIO);
        }
        if gains.is_some_and(|d| nlink(d) == 0) {
            return Err(ENOENT);
        }
        T::rename(
            old_dir_ref,
            old_name,
            inode_ref,
            new_dir_ref,
            new_name,
            target_ref,
            flags,
        )?;
        if !exchange && !target.is_null() {
            // SAFETY: Without `EXCHANGE`, `vfs_rename` locks a target; it is live (held by the
            // VFS) and has a link (checked above, under its lock), as `drop_nlink` needs.
            unsafe {
                if target_dir {
                    bindings::clear_nlink(target);
                } else {
                    bindings::drop_nlink(target);
                }
            }
        }
        // SAFETY: Both directories are live and locked by `lock_rename`, as `drop_nlink`,
        // `inc_nlink` and `entries_changed` (both are `T` directories) need; the one that loses a
        // link has at least 3, the one that gains has links (both checked above, under their
        // locks).
        unsafe {
            if let Some(d) = loses {
                bindings::drop_nlink(d);
            }
            if let Some(d) = gains {
                bindings::inc_nlink(d);
            }
            entries_changed::<T>(old_dir);
            entries_changed::<T>(new_dir);
        }
        if source_locked {
            // SAFETY: `inode` is live (held by the VFS) and, here, locked by `vfs_rename`.
            unsafe { touch(inode, false) };
        }
        if !target.is_null() && target_locked {
            // SAFETY: `target` is live (held by the VFS) and, here, locked by `vfs_rename`.
            unsafe { touch(target, false) };
        }
        Ok(0)
    })
}

/// # Safety
///
/// Called by the path walk with a `T` symlink inode and, outside RCU walk, its dentry; `done`
/// is valid for writes.
pub(super) unsafe extern "C" fn get_link_callback<T: Type>(
    dentry: *mut bindings::dentry,
    inode: *mut bindings::inode,
    done: *mut bindings::delayed_call,
) -> *const kernel::ffi::c_char {
    // Reading the target may sleep: not in an RCU walk (no dentry), which retries.
    if dentry.is_null() {
        return ECHILD.to_ptr::<kernel::ffi::c_char>().cast_const();
    }
    // SAFETY: Outside RCU walk the caller holds the dentry, which keeps its inode, a `T` one set
    // up by `iget`, live for the call.
    let inode_ref = unsafe { Inode::<T>::from_raw(inode) };
    let link = (|| {
        let mut target = T::get_link(inode_ref)?;
        if target.is_empty() || target.contains(&0) {
            return Err(EIO);
        }
        target.push(0, GFP_KERNEL)?;
        Ok(target)
    })();
    match link {
        Ok(target) => {
            // The buffer holds at least the NUL pushed above, so it is a `kmalloc` allocation
            // (not the dangling pointer of an empty vector): `kfree_link` frees it.
            let (buf, _, _) = target.into_raw_parts();
            // SAFETY: The caller guarantees `done` is valid for writes; the path walk calls
            // `kfree_link(buf)` once it is done with the string.
            unsafe {
                (*done).fn_ = Some(bindings::kfree_link);
                (*done).arg = buf.cast();
            }
            buf.cast()
        }
        Err(e) => e.to_ptr::<kernel::ffi::c_char>().cast_const(),
    }
}
