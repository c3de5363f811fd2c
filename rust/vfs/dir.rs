// SPDX-License-Identifier: GPL-2.0

//! The directory: `readdir` emission and the `lookup`, `create`, `unlink`, `rename` and
//! `setattr` trampolines.

use super::*;

/// Whether `mode` (an `S_IFMT` type and permission bits) names a regular file, the only kind of
/// inode this glue creates, unlinks or renames.
fn is_reg(mode: u16) -> bool {
    u32::from(mode) & bindings::S_IFMT == bindings::S_IFREG
}

/// Emits directory entries into a `readdir` buffer.
///
/// # Invariants
///
/// `ctx` is the `dir_context` of the running `iterate_shared` call.
pub struct DirEmitter<'a> {
    pub(super) ctx: *mut bindings::dir_context,
    pub(super) _p: PhantomData<&'a mut ()>,
}

impl DirEmitter<'_> {
    /// The position to continue from.
    pub fn pos(&self) -> i64 {
        // SAFETY: By the type invariant `ctx` is valid.
        unsafe { (*self.ctx).pos }
    }

    /// Emits an entry; on success the position becomes `next_pos`. `false` when the buffer is
    /// full: stop and return.
    pub fn emit(&mut self, name: &[u8], ino: u64, ty: InodeType, next_pos: i64) -> bool {
        let dt = match ty {
            InodeType::Dir => bindings::DT_DIR,
            InodeType::Reg => bindings::DT_REG,
        };
        let Ok(len) = i32::try_from(name.len()) else {
            return false;
        };
        // SAFETY: `ctx` is valid; `name` is valid for `len` bytes during the call.
        let ok = unsafe { ffi::emfs_dir_emit(self.ctx, name.as_ptr(), len, ino, dt) };
        if ok {
            // SAFETY: By the type invariant `ctx` is the running call's `dir_context`, valid for
            // writes and used by nobody else during the call.
            unsafe { (*self.ctx).pos = next_pos };
        }
        ok
    }
}

/// The name of a dentry, valid while the VFS holds the dentry's parent locked.
///
/// # Safety
///
/// `dentry` must be valid and its name stable for `'a`.
pub(super) unsafe fn dentry_name<'a>(dentry: *mut bindings::dentry) -> &'a [u8] {
    // SAFETY: The caller guarantees `dentry` is valid and its name stable for `'a` (this
    // function's `# Safety`): `d_name.name` points to `len` bytes that do not change meanwhile.
    unsafe {
        let q = &(*dentry).d_name;
        let len = q.__bindgen_anon_1.__bindgen_anon_1.len as usize;
        core::slice::from_raw_parts(q.name, len)
    }
}

/// Stamps `ctime` (and `mtime` with `mtime`) with the current time and marks the inode dirty.
///
/// # Safety
///
/// `inode` must be live, and its lock held (the VFS holds it in every caller).
pub(super) unsafe fn touch(inode: *mut bindings::inode, mtime: bool) {
    // SAFETY: The caller guarantees `inode` is live and locked (this function's `# Safety`).
    let ts = unsafe { bindings::inode_set_ctime_current(inode) };
    if mtime {
        // SAFETY: The caller guarantees `inode` is live and its lock, which serialises changes
        // of its times, held.
        unsafe {
            (*inode).i_mtime_sec = ts.tv_sec;
            (*inode).i_mtime_nsec = ts.tv_nsec as u32;
        }
    }
    // SAFETY: The caller guarantees `inode` is live.
    unsafe { ffi::emfs_mark_inode_dirty(inode) };
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
    // SAFETY: The directory is locked, so the dentry's name is stable; it is a `T` directory.
    let (dir_ref, name) = unsafe { (Inode::<T>::from_raw(dir), dentry_name(dentry)) };
    from_result(|| {
        if !is_reg(mode) {
            return Err(EINVAL);
        }
        // SAFETY: Reads the calling task's credentials.
        let owner = unsafe { (ffi::emfs_current_fsuid(), ffi::emfs_current_fsgid()) };
        let ino = T::create(dir_ref, name, mode & 0o7777, owner)?;
        let inode = dir_ref.super_block().iget(ino).inspect_err(|_| {
            // The name must not stay behind without the dentry the caller was told failed.
            T::create_aborted(dir_ref, ino);
        })?;
        // Only a regular file may get this dentry: a directory has at most one (the VFS's
        // locking assumes it), and `create` makes regular files. Whatever `ino` is, it is not
        // the new file `create_aborted` would undo.
        if !is_reg(inode.attrs().mode) {
            return Err(EIO);
        }
        // SAFETY: `dentry` is the negative dentry the VFS holds for the call; `d_instantiate`
        // takes the inode reference. The directory is live and locked, as `touch` needs.
        unsafe {
            bindings::d_instantiate(dentry, ARef::into_raw(inode).as_ptr().cast());
            touch(dir, true);
        }
        Ok(0)
    })
}

/// # Safety
///
/// Called by the VFS with a `T` directory, locked, and a positive dentry in it.
pub(super) unsafe extern "C" fn unlink_callback<T: Type>(
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
) -> core::ffi::c_int {
    // SAFETY: The VFS holds the directory and the dentry, whose inode is a `T` one, locked.
    let (dir_ref, inode) = unsafe { (Inode::<T>::from_raw(dir), ffi::emfs_d_inode(dentry)) };
    // SAFETY: `inode` is the inode of the positive dentry the VFS holds, so live for the call,
    // and a `T` inode set up by `iget` (our `lookup` or `create` instantiated the dentry).
    let inode_ref = unsafe { Inode::<T>::from_raw(inode) };
    from_result(|| {
        // A name whose inode has no link left is damage, not something to drop a link from
        // (`drop_nlink` warns).
        if inode_ref.attrs().nlink == 0 {
            return Err(EIO);
        }
        T::unlink(dir_ref, inode_ref)?;
        // SAFETY: Both inodes are live (held by the VFS) and locked by `vfs_unlink`, as
        // `drop_nlink` and `touch` need; `inode` has a link (checked above, under its lock).
        unsafe {
            bindings::drop_nlink(inode);
            touch(inode, false);
            touch(dir, true);
        }
        Ok(0)
    })
}

/// # Safety
///
/// Called by the VFS with `T` directories and dentries, locked, for `rename`.
pub(super) unsafe extern "C" fn rename_callback<T: Type>(
    _idmap: *mut bindings::mnt_idmap,
    old_dir: *mut bindings::inode,
    old_dentry: *mut bindings::dentry,
    _new_dir: *mut bindings::inode,
    new_dentry: *mut bindings::dentry,
    flags: core::ffi::c_uint,
) -> core::ffi::c_int {
    // `RENAME_NOREPLACE` is checked by the VFS; exchange and whiteout are not supported.
    if flags & !bindings::RENAME_NOREPLACE != 0 {
        return EINVAL.to_errno();
    }
    // SAFETY: The VFS holds both dentries and their inodes, all of this `T` file system, and
    // the directory (there is one) locked, so the names are stable.
    let (dir_ref, inode, target, new_name) = unsafe {
        (
            Inode::<T>::from_raw(old_dir),
            ffi::emfs_d_inode(old_dentry),
            ffi::emfs_d_inode(new_dentry),
            dentry_name(new_dentry),
        )
    };
    // SAFETY: `inode` is the inode of `old_dentry`, positive and held by the VFS, so live for
    // the call, and a `T` inode set up by `iget` (our `lookup` or `create` instantiated it).
    let inode_ref = unsafe { Inode::<T>::from_raw(inode) };
    // SAFETY: Called only if `target` is not null: then it is the inode of `new_dentry`, held
    // by the VFS, so live for the call, and a `T` inode set up by `iget`.
    let target_ref = (!target.is_null()).then(|| unsafe { Inode::<T>::from_raw(target) });
    from_result(|| {
        // This glue renames regular files only: `vfs_rename` does not lock a directory it
        // moves, whose times `touch` would then write unlocked, and a replaced directory would
        // need `clear_nlink`, not `drop_nlink`. A linked target is checked like `unlink`'s.
        let regular = |i: &Inode<T>| is_reg(i.attrs().mode);
        if !regular(inode_ref) || target_ref.is_some_and(|t| !regular(t) || t.attrs().nlink == 0) {
            return Err(EINVAL);
        }
        T::rename(dir_ref, inode_ref, new_name, target_ref)?;
        if !target.is_null() {
            // SAFETY: `target` is live (held by the VFS) and locked by `vfs_rename`, as
            // `drop_nlink` and `touch` need; it has a link (checked above, under its lock).
            unsafe {
                bindings::drop_nlink(target);
                touch(target, false);
            }
        }
        // SAFETY: `inode` (a regular file, checked above) and `old_dir` are live (held by the
        // VFS) and locked by `vfs_rename` (which locks a source that is not a directory), as
        // `touch` needs.
        unsafe {
            touch(inode, false);
            touch(old_dir, true);
        }
        Ok(0)
    })
}

/// # Safety
///
/// Called by `notify_change` with a dentry of a `T` inode, locked.
pub(super) unsafe extern "C" fn setattr_callback<T: Type>(
    idmap: *mut bindings::mnt_idmap,
    dentry: *mut bindings::dentry,
    attr: *mut bindings::iattr,
) -> core::ffi::c_int {
    from_result(|| {
        // SAFETY: `notify_change` passes a valid idmap, a dentry it holds and a valid `iattr`.
        to_result(unsafe { bindings::setattr_prepare(idmap, dentry, attr) })?;
        // SAFETY: The dentry is held, and positive: it is the one being changed.
        let inode = unsafe { ffi::emfs_d_inode(dentry) };
        // SAFETY: `notify_change` holds the inode lock for writing for the whole call, and the
        // inode is a live `T` inode (its dentry is held).
        let locked = unsafe { LockedInode::<T>::from_raw(inode) };
        // SAFETY: `attr` is valid for the call and only read here.
        let (valid, new_size) = unsafe { ((*attr).ia_valid, (*attr).ia_size) };
        if valid & bindings::ATTR_SIZE != 0 && new_size != locked.size() {
            let size = u64::try_from(new_size).map_err(|_| EINVAL)?;
            T::set_size(locked, size)?;
        }
        // SAFETY: `idmap` and `attr` are what `notify_change` passed, valid for the call;
        // `inode` is the live inode of the held dentry, whose lock `notify_change` holds, as
        // `setattr_copy` needs.
        unsafe { bindings::setattr_copy(idmap, inode, attr) };
        // SAFETY: The inode is live (see above).
        unsafe { ffi::emfs_mark_inode_dirty(inode) };
        Ok(0)
    })
}

/// # Safety
///
/// Called by the VFS with a directory inode of a `T` superblock and a negative dentry.
pub(super) unsafe extern "C" fn lookup_callback<T: Type>(
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    _flags: u32,
) -> *mut bindings::dentry {
    // SAFETY: The VFS holds the directory and the dentry for the call; the dentry's name is
    // stable while its parent's lock is held, which it is during lookup.
    let (dir, name) = unsafe {
        let q = &(*dentry).d_name;
        let len = q.__bindgen_anon_1.__bindgen_anon_1.len as usize;
        (
            Inode::<T>::from_raw(dir),
            core::slice::from_raw_parts(q.name, len),
        )
    };
    let inode = match T::lookup(dir, name) {
        Ok(Some(ino)) => match dir.super_block().iget(ino) {
            Ok(inode) => ARef::into_raw(inode).as_ptr().cast(),
            Err(e) => return e.to_ptr(),
        },
        Ok(None) => ptr::null_mut(),
        Err(e) => return e.to_ptr(),
    };
    // SAFETY: `d_splice_alias` takes the inode reference (or a null inode for a negative
    // dentry).
    unsafe { bindings::d_splice_alias(inode, dentry) }
}

/// # Safety
///
/// Called by the VFS with an open directory of a `T` superblock and its `dir_context`.
pub(super) unsafe extern "C" fn iterate_shared_callback<T: Type>(
    file: *mut bindings::file,
    ctx: *mut bindings::dir_context,
) -> core::ffi::c_int {
    // SAFETY: The file and context are valid for the call.
    if !unsafe { ffi::emfs_dir_emit_dots(file, ctx) } {
        return 0;
    }
    // SAFETY: An open file keeps its inode alive, and it is a `T` directory.
    let dir = unsafe { Inode::<T>::from_raw(ffi::emfs_file_inode(file)) };
    // INVARIANT: `ctx` is the running call's context.
    let mut emitter = DirEmitter {
        ctx,
        _p: PhantomData,
    };
    from_result(|| T::read_dir(dir, &mut emitter).map(|()| 0))
}
