// SPDX-License-Identifier: GPL-2.0

//! The directory: `readdir` emission and the `lookup` and `setattr` trampolines (those that
//! change names are in `namei.rs`).

use super::*;
use core::sync::atomic::{AtomicU64, Ordering};

/// Emits directory entries into a `readdir` buffer.
///
/// # Invariants
///
/// `ctx` is the `dir_context` of the running `iterate_shared` call. `cookie` is null or the
/// open directory's own `AtomicU64` ([`dir_open_callback`]), live until the file is released,
/// after every call on it. Every access to it is atomic: two readings of one open directory may
/// run at once (a user's file descriptor is serialised by the position lock, but ksmbd may
/// serve two requests on one handle together), and neither may see the other's half-written
/// value.
pub struct DirEmitter<'a> {
    pub(super) ctx: *mut bindings::dir_context,
    pub(super) cookie: *const AtomicU64,
    pub(super) _p: PhantomData<&'a mut ()>,
}

impl DirEmitter<'_> {
    /// A number the file system keeps with this open directory between reads: 0 when the
    /// directory is opened, whenever `lseek` moves its position (as `generic_llseek_cookie`
    /// does for ext2's) and whenever a reading starts at position 0 (a rewind that bypassed
    /// `lseek`, as ksmbd's restart of a scan does). emfs keeps there the cookie its reading stops
    /// at, taken at the first read: without it, a program that renames each entry it reads
    /// would read forever (btrfs's 9b378f6ad48c). `None` if the directory was opened before
    /// its file system kept one (never, for a directory this module opened). Another reading
    /// of the same open directory may change it at any time.
    pub fn cookie(&self) -> Option<&AtomicU64> {
        // SAFETY: By the type invariant `cookie` is null or the open file's own `AtomicU64`,
        // live while the emitter (which lives only during the call) does; shared access to an
        // atomic is sound.
        unsafe { self.cookie.as_ref() }
    }

    /// The position to continue from.
    pub fn pos(&self) -> i64 {
        // SAFETY: By the type invariant `ctx` is valid.
        unsafe { (*self.ctx).pos }
    }

    /// Emits an entry; on success the position becomes `next_pos`. `false` when the buffer is
    /// full: stop and return.
    pub fn emit(&mut self, name: &[u8], ino: u64, ty: FileType, next_pos: i64) -> bool {
        // `d_type` is the `S_IFMT` bits shifted down (`S_DT`).
        let dt = u32::from(ty.mode_bits() >> 12);
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

/// After an operation changed directory `dir`'s entries: sets its size to what the file
/// system now says ([`InodeOperations::dir_size`]) and stamps its `mtime` and `ctime`.
///
/// # Safety
///
/// `dir` must be a live `T` directory, its lock held (the VFS holds it in every caller).
pub(super) unsafe fn entries_changed<T: Type>(dir: *mut bindings::inode) {
    // SAFETY: The caller guarantees `dir` is a live `T` inode.
    let dir_ref = unsafe { Inode::<T>::from_raw(dir) };
    if let Some(size) = T::dir_size(dir_ref) {
        // SAFETY: The caller guarantees `dir` is live and its lock held, as `i_size_write`
        // needs.
        unsafe { ffi::emfs_i_size_write(dir, size) };
    }
    // SAFETY: The caller guarantees `dir` is live and its lock held.
    unsafe { touch(dir, true) };
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
    let (dir, name) = unsafe { (Inode::<T>::from_raw(dir), dentry_name(dentry)) };
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
    let (pos, cookie) = unsafe { ((*ctx).pos, (*file).private_data.cast::<AtomicU64>()) };
    if pos == 0 {
        // SAFETY: `private_data` of a directory of this type is null or the `AtomicU64`
        // `dir_open_callback` allocated, live until release, after this call.
        if let Some(b) = unsafe { cookie.cast_const().as_ref() } {
            b.store(0, Ordering::Relaxed);
        }
    }
    // SAFETY: The file and context are valid for the call.
    if !unsafe { ffi::emfs_dir_emit_dots(file, ctx) } {
        return 0;
    }
    // SAFETY: An open file keeps its inode alive, and it is a `T` directory.
    let dir = unsafe { Inode::<T>::from_raw(ffi::emfs_file_inode(file)) };
    // INVARIANT: `ctx` is the running call's context; `private_data` of a directory of this
    // type is null or the `AtomicU64` `dir_open_callback` allocated, live until release.
    let mut emitter = DirEmitter {
        ctx,
        cookie: cookie.cast_const(),
        _p: PhantomData,
    };
    from_result(|| T::read_dir(dir, &mut emitter).map(|()| 0))
}

/// # Safety
///
/// Called by the VFS (`do_dentry_open`) for a directory of a `T` superblock being opened: the
/// file is used by nobody else yet.
pub(super) unsafe extern "C" fn dir_open_callback(
    _inode: *mut bindings::inode,
    file: *mut bindings::file,
) -> core::ffi::c_int {
    let Ok(cookie) = KBox::new(AtomicU64::new(0), GFP_KERNEL) else {
        return ENOMEM.to_errno();
    };
    // SAFETY: The file is being opened and is not shared yet; nothing else in this module sets
    // `private_data` of a directory.
    unsafe { (*file).private_data = KBox::into_raw(cookie).cast() };
    0
}

/// # Safety
///
/// Called by the VFS once, when the last reference to a directory file that
/// `dir_open_callback` opened goes.
pub(super) unsafe extern "C" fn dir_release_callback(
    _inode: *mut bindings::inode,
    file: *mut bindings::file,
) -> core::ffi::c_int {
    // SAFETY: The file is valid for the call and used by nobody else any more.
    let cookie = unsafe { (*file).private_data }.cast::<AtomicU64>();
    if !cookie.is_null() {
        // SAFETY: `dir_open_callback` made `cookie` with `KBox::into_raw`, and release is called
        // once: it is freed once.
        drop(unsafe { KBox::from_raw(cookie) });
    }
    0
}

/// # Safety
///
/// Called by `vfs_llseek` on a directory of a `T` superblock, serialised with the file's reads.
pub(super) unsafe extern "C" fn dir_llseek_callback(
    file: *mut bindings::file,
    offset: bindings::loff_t,
    whence: core::ffi::c_int,
) -> bindings::loff_t {
    // SAFETY: The file is valid for the call; `f_pos` is read as `generic_llseek_cookie` reads
    // it, under the position lock `vfs_llseek`'s callers hold.
    let (cookie, old) = unsafe { ((*file).private_data.cast::<AtomicU64>(), (*file).f_pos) };
    // SAFETY: `vfs_llseek` passes an open file.
    let new = unsafe { bindings::generic_file_llseek(file, offset, whence) };
    // A position that moved starts a new reading, as `generic_llseek_cookie` says (which
    // writes the cookie with a plain store: ours is an atomic, see `DirEmitter`).
    if new >= 0 && new != old {
        // SAFETY: `private_data` of a directory of this type is null or the `AtomicU64`
        // `dir_open_callback` allocated, live until release, after this call.
        if let Some(b) = unsafe { cookie.cast_const().as_ref() } {
            b.store(0, Ordering::Relaxed);
        }
    }
    new
}
