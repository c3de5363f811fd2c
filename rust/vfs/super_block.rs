// SPDX-License-Identifier: GPL-2.0

//! The superblock: its state (`s_fs_info`), the inode cache (`iget`), mount and unmount
//! (`fill_super`, `mount`, `kill_sb`) and the `super_operations` trampolines.

use super::bio::{read_block, submit_read, write_block, Bdev};
use super::ops::Tables;
use super::*;

/// What a superblock's `s_fs_info` points to: the file system's state and the workqueue that
/// completes its writes.
///
/// # Invariants
///
/// `wq` is a live workqueue until `kill_sb` destroys it, after every write completed.
pub(super) struct SbInfo<T> {
    data: T,
    pub(super) wq: *mut bindings::workqueue_struct,
}

/// A mounted superblock of file system `T`.
///
/// # Invariants
///
/// The wrapped `super_block` is live, was set up by this module's `fill_super` for `T`, and
/// its `s_fs_info` is a `KBox<SbInfo<T>>` leaked by it.
#[repr(transparent)]
pub struct SuperBlock<T: FileSystem>(Opaque<bindings::super_block>, PhantomData<T>);

impl<T: FileSystem> SuperBlock<T> {
    /// # Safety
    ///
    /// `sb` must satisfy the type invariant for as long as the reference is used.
    pub(super) unsafe fn from_raw<'a>(sb: *mut bindings::super_block) -> &'a Self {
        // SAFETY: `SuperBlock` is a transparent wrapper; the caller guarantees validity.
        unsafe { &*sb.cast::<Self>() }
    }

    /// The per-mount state `fill_super` returned.
    pub fn data(&self) -> &T {
        &self.info().data
    }

    pub(super) fn info(&self) -> &SbInfo<T> {
        // SAFETY: By the type invariant `s_fs_info` is a live `KBox<SbInfo<T>>`, freed only in
        // `kill_sb`, after the last user of the superblock.
        unsafe { &*(*self.0.get()).s_fs_info.cast::<SbInfo<T>>() }
    }

    pub(super) fn bdev(&self) -> Bdev<'_> {
        // SAFETY: By the type invariant the superblock is live.
        let ptr = unsafe { (*self.0.get()).s_bdev };
        // INVARIANT: A mounted superblock holds its device open until it goes, which outlives
        // this borrow.
        Bdev {
            ptr,
            _p: PhantomData,
        }
    }

    /// Writes block `blk` and waits; with `fua` the device cache is flushed first and the block
    /// is on stable storage when this returns (a commit's superblock).
    pub fn write_block(&self, blk: u64, buf: &[u8; BLOCK_SIZE], fua: bool) -> Result {
        write_block(self.bdev(), blk, buf, fua)
    }

    /// Flushes the device's volatile write cache.
    pub fn flush(&self) -> Result {
        // SAFETY: The device is live.
        to_result(unsafe { bindings::blkdev_issue_flush(self.bdev().ptr) })
    }

    /// Whether the file system is mounted read-only.
    pub fn is_read_only(&self) -> bool {
        // SAFETY: By the type invariant the superblock is live.
        unsafe { ffi::emfs_sb_rdonly(self.0.get()) }
    }

    /// Reads block `blk`.
    pub fn read_block(&self, blk: u64) -> Result<KBox<[u8; BLOCK_SIZE]>> {
        read_block(self.bdev(), blk)
    }

    /// Reads `len` bytes from block `blk` on into `folio` at byte `offset`.
    pub fn read_into_folio(
        &self,
        folio: &mut LockedFolio<'_>,
        offset: usize,
        blk: u64,
        len: usize,
    ) -> Result {
        if len == 0 || len % 512 != 0 || offset.checked_add(len).map_or(true, |e| e > folio.size())
        {
            return Err(EINVAL);
        }
        let f = folio.folio;
        // SAFETY: The folio is locked by the caller of `read_folio` and stays so until we end
        // the read; the range is inside it (checked above).
        submit_read(self.bdev(), blk, |bio| unsafe {
            bindings::bio_add_folio(bio, f, len, offset)
        })
    }
}

impl<T: Type> SuperBlock<T> {
    /// Gets inode `ino` from the inode cache, reading it with [`FileSystem::read_inode`] if it
    /// is not there.
    pub fn iget(&self, ino: u64) -> Result<ARef<Inode<T>>> {
        self.iget_inner(ino).map(|(inode, _)| inode)
    }

    /// The inode and whether it was read now (not found in the cache).
    pub(super) fn iget_inner(&self, ino: u64) -> Result<(ARef<Inode<T>>, bool)> {
        // SAFETY: The superblock is live; `iget_locked` returns a referenced inode or null.
        let inode = unsafe { bindings::iget_locked(self.0.get(), ino as _) };
        if inode.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: `inode` is valid and referenced (the reference is handed to the `ARef`).
        if !unsafe { ffi::emfs_inode_is_new(inode) } {
            // SAFETY: A cached inode was set up by a previous `iget`, so it is a `T` inode; the
            // reference from `iget_locked` becomes the `ARef`'s.
            let cached = unsafe { ARef::from_raw(ptr::NonNull::new_unchecked(inode.cast())) };
            return Ok((cached, false));
        }
        let set_up = T::read_inode(self, ino).map(|params| {
            // SAFETY: A new, locked inode is ours to initialise until `unlock_new_inode`.
            unsafe { init_inode::<T>(inode, params) }
        });
        match set_up {
            Ok(()) => {
                // SAFETY: `inode` is the new (`I_NEW`, locked) inode `iget_locked` returned, still
                // referenced by us, and `init_inode` set it up completely: it may be unlocked.
                unsafe { bindings::unlock_new_inode(inode) };
                // SAFETY: The inode is a `T` inode now; the reference becomes the `ARef`'s.
                let new = unsafe { ARef::from_raw(ptr::NonNull::new_unchecked(inode.cast())) };
                Ok((new, true))
            }
            Err(e) => {
                // SAFETY: A new inode that could not be read (no `i_private`, which eviction
                // accepts) is unhashed and released; leaking it would leave a busy inode at
                // unmount.
                unsafe { bindings::iget_failed(inode) };
                Err(e)
            }
        }
    }
}

/// # Safety
///
/// `inode` must be a new (`I_NEW`, locked) inode of a `T` superblock.
unsafe fn init_inode<T: Type>(inode: *mut bindings::inode, p: InodeParams<T::InodeData>) {
    let mode = p.ty.mode_bits() | (p.perm & 0o7777);
    // Fields are written one by one through the raw pointer, never through a `&mut` to the
    // whole inode: it is already in the inode hash, where others may look at `i_state` and
    // take `i_lock` while it is `I_NEW`.
    let iop = match p.ty {
        FileType::Dir => &Tables::<T>::DIR_INODE_OPS,
        FileType::Reg => &Tables::<T>::FILE_INODE_OPS,
        FileType::Symlink => &Tables::<T>::SYMLINK_INODE_OPS,
        _ => &Tables::<T>::SPECIAL_INODE_OPS,
    };
    // SAFETY: The caller guarantees the inode is new (`I_NEW`) and locked: until
    // `unlock_new_inode` these fields are ours alone to write, and nobody reads them.
    unsafe {
        (*inode).i_mode = mode;
        (*inode).i_op = iop;
        (*inode).i_size = p.size;
        (*inode).i_uid = bindings::kuid_t { val: p.uid };
        (*inode).i_gid = bindings::kgid_t { val: p.gid };
        (*inode).i_atime_sec = p.atime.0;
        (*inode).i_atime_nsec = p.atime.1;
        (*inode).i_mtime_sec = p.mtime.0;
        (*inode).i_mtime_nsec = p.mtime.1;
        (*inode).i_ctime_sec = p.ctime.0;
        (*inode).i_ctime_nsec = p.ctime.1;
    }
    match p.ty {
        // SAFETY: The inode is new and locked, so `i_fop` is ours to write; the table is
        // static.
        FileType::Dir => unsafe { (*inode).__bindgen_anon_3.i_fop = &Tables::<T>::DIR_FILE_OPS },
        // SAFETY: The inode is new and locked, so `i_fop` is ours to write; the table is
        // static.
        FileType::Reg => unsafe { (*inode).__bindgen_anon_3.i_fop = &Tables::<T>::FILE_OPS },
        // A symlink is never opened: the default (`no_open_fops`) stays.
        FileType::Symlink => {}
        // SAFETY: The inode is new and locked, as `init_special_inode` (which sets the mode, the
        // device number and the file operations of the type) needs; `mode` is of one of the
        // four special types, the only ones it accepts without a warning.
        _ => unsafe { bindings::init_special_inode(inode, mode, p.rdev) },
    }
    if p.ty == FileType::Reg {
        // SAFETY: A new inode's `i_mapping` is its own `i_data`, live with it and, like the
        // inode, not used by anyone else yet; the table is static.
        let mapping = unsafe { (*inode).i_mapping };
        // SAFETY: `mapping` is the new inode's live mapping, not used by anyone else yet.
        unsafe { (*mapping).a_ops = &Tables::<T>::AOPS };
        // Clean folios carry no private data: ask for `release_folio` anyway.
        if T::HAS_RELEASE_FOLIO {
            // SAFETY: `mapping` is the new inode's live mapping.
            unsafe { ffi::emfs_mapping_set_release_always(mapping) };
        }
    }
    // SAFETY: The caller guarantees `inode` is a live, new inode, ours to initialise, as
    // `set_nlink` needs.
    unsafe { bindings::set_nlink(inode, p.nlink) };
    // SAFETY: The box is leaked into `i_private`, never moved out of: it is taken back (and
    // dropped in place) in `evict_inode_callback`, so the pinning guarantee holds.
    let data = KBox::into_raw(unsafe { Pin::into_inner_unchecked(p.data) });
    // SAFETY: The caller guarantees the inode is new and locked, so nobody reads `i_private`
    // yet.
    unsafe { (*inode).i_private = data.cast() };
}

/// # Safety
///
/// Called by `mount_bdev` with a new superblock on an open block device.
unsafe extern "C" fn fill_super_callback<T: Type>(
    sb: *mut bindings::super_block,
    _data: *mut core::ffi::c_void,
    _silent: core::ffi::c_int,
) -> core::ffi::c_int {
    from_result(|| {
        // SAFETY: `mount_bdev` passes a live, new superblock on an open block device, with
        // `s_umount` held for writing, as `sb_set_blocksize` needs.
        if unsafe { bindings::sb_set_blocksize(sb, T::BLOCK_SIZE as i32) } == 0 {
            return Err(EINVAL);
        }
        // SAFETY: `sb` is live and new: `mount_bdev` holds `s_umount` and it is not yet
        // `SB_BORN`, so its fields are ours to set until we return. The table is static.
        unsafe {
            (*sb).s_magic = T::MAGIC as _;
            (*sb).s_op = &Tables::<T>::SUPER_OPS;
            (*sb).s_maxbytes = i64::MAX;
            (*sb).s_time_gran = 1;
        }
        // INVARIANT: `sb` is being filled by `mount_bdev`.
        let data = T::fill_super(&BlockReader { sb })?;
        if data.read_only() {
            // SAFETY: `sb` is live and new (`s_umount` held, not `SB_BORN`): its flags are ours
            // to set until we return.
            unsafe { ffi::emfs_sb_set_rdonly(sb) };
        }
        // The completion workqueue is named after the type: "<name>-endio".
        // SAFETY: `T::NAME` is a `'static` C string.
        let wq = unsafe { ffi::emfs_alloc_workqueue(T::NAME.as_char_ptr()) };
        if wq.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: `wq` is live until `kill_sb` destroys it.
        let info = KBox::new(SbInfo { data, wq }, GFP_KERNEL).inspect_err(|_| {
            // SAFETY: Nothing was queued on it.
            unsafe { bindings::destroy_workqueue(wq) };
        })?;
        // SAFETY: `sb` is live and new (`s_umount` held, not `SB_BORN`): its fields are ours to
        // set until we return. The leaked `KBox` is taken back by `kill_sb_callback`.
        unsafe { (*sb).s_fs_info = KBox::into_raw(info).cast() };
        // SAFETY: The superblock now satisfies the `SuperBlock` invariant.
        let root = unsafe { SuperBlock::<T>::from_raw(sb) }.iget(T::ROOT_INO)?;
        // SAFETY: `d_make_root` takes the inode reference, and drops it itself on failure.
        let dentry = unsafe { bindings::d_make_root(ARef::into_raw(root).as_ptr().cast()) };
        if dentry.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: `sb` is live and new (`s_umount` held, not `SB_BORN`): its fields are ours to
        // set until we return. `s_root` keeps the dentry's reference, dropped at unmount.
        unsafe { (*sb).s_root = dentry };
        Ok(0)
    })
}

/// # Safety
///
/// Called by the VFS for `mount -t <T::NAME>`.
pub(super) unsafe extern "C" fn mount_callback<T: Type>(
    fs_type: *mut bindings::file_system_type,
    flags: core::ffi::c_int,
    dev_name: *const kernel::ffi::c_char,
    data: *mut core::ffi::c_void,
) -> *mut bindings::dentry {
    // SAFETY: The arguments come from the VFS as they are.
    unsafe {
        bindings::mount_bdev(
            fs_type,
            flags,
            dev_name,
            data,
            Some(fill_super_callback::<T>),
        )
    }
}

/// # Safety
///
/// Called by the VFS when the last reference to a `T` superblock goes.
pub(super) unsafe extern "C" fn kill_sb_callback<T: Type>(sb: *mut bindings::super_block) {
    // SAFETY: The VFS passes the live superblock being killed; it stays live until
    // `kill_block_super`.
    let info = unsafe { (*sb).s_fs_info };
    // SAFETY: `sb` is a live superblock of a `FS_REQUIRES_DEV` type, set up by `mount_bdev`,
    // whose last reference went: what `kill_block_super` takes. It evicts every inode
    // (dropping their data) and calls `put_super`.
    unsafe { bindings::kill_block_super(sb) };
    if !info.is_null() {
        // SAFETY: A non-null `s_fs_info` is the `KBox<SbInfo<T>>` `fill_super_callback`
        // leaked, taken back once here; the superblock is gone, so nothing can reach it any more.
        let info = unsafe { KBox::from_raw(info.cast::<SbInfo<T>>()) };
        // SAFETY: By the `SbInfo` invariant `wq` is live, and it is idle: `put_super` flushed it
        // and nothing queues work after that (or the mount failed before any write).
        unsafe { bindings::destroy_workqueue(info.wq) };
        drop(info);
    }
}

/// # Safety
///
/// Called by the VFS when an inode of a `T` superblock is dirtied.
pub(super) unsafe extern "C" fn dirty_inode_callback<T: Type>(
    inode: *mut bindings::inode,
    _flags: core::ffi::c_int,
) {
    // A new inode being set up has no data yet.
    // SAFETY: The VFS passes an inode live for the call. Its `i_private` is written only before
    // `unlock_new_inode` (`init_inode`) and at eviction, so this read does not race a write.
    if unsafe { (*inode).i_private.is_null() } {
        return;
    }
    // SAFETY: The inode is live for the call and set up (its data is set, checked above). It may
    // be dirtied by someone who holds no reference (`UnheldInode`).
    T::dirty_inode(unsafe { UnheldInode::<T>::from_raw(inode) });
}

/// # Safety
///
/// Called by `sync_filesystem` with a mounted `T` superblock.
pub(super) unsafe extern "C" fn sync_fs_callback<T: Type>(
    sb: *mut bindings::super_block,
    wait: core::ffi::c_int,
) -> core::ffi::c_int {
    // SAFETY: The superblock is live and set up.
    let sb = unsafe { SuperBlock::<T>::from_raw(sb) };
    from_result(|| T::sync_fs(sb, wait != 0).map(|()| 0))
}

/// # Safety
///
/// Called by the super block's shrinker (`super_cache_count`, `super_cache_scan`), which runs
/// only for a super block whose `fill_super` succeeded (`SB_BORN`) and is freed, waiting for
/// running calls, before `kill_sb`.
pub(super) unsafe extern "C" fn nr_cached_objects_callback<T: Type>(
    sb: *mut bindings::super_block,
    _sc: *mut bindings::shrink_control,
) -> kernel::ffi::c_long {
    // SAFETY: `SB_BORN` is set, so `fill_super` set the superblock up for `T`, and `kill_sb`,
    // which frees `s_fs_info`, cannot run before this call returns (see `# Safety`).
    let sb = unsafe { SuperBlock::<T>::from_raw(sb) };
    kernel::ffi::c_long::try_from(T::nr_cached_objects(sb)).unwrap_or(kernel::ffi::c_long::MAX)
}

/// # Safety
///
/// As [`nr_cached_objects_callback`]; `sc` is the shrinker's control block for the call.
pub(super) unsafe extern "C" fn free_cached_objects_callback<T: Type>(
    sb: *mut bindings::super_block,
    sc: *mut bindings::shrink_control,
) -> kernel::ffi::c_long {
    // SAFETY: As in `nr_cached_objects_callback`: the superblock is set up for `T` and stays
    // until the call returns; `sc` is valid for reads during the call.
    let (sb, nr) = unsafe { (SuperBlock::<T>::from_raw(sb), (*sc).nr_to_scan) };
    kernel::ffi::c_long::try_from(T::free_cached_objects(sb, nr))
        .unwrap_or(kernel::ffi::c_long::MAX)
}

/// # Safety
///
/// Called by `generic_shutdown_super` after the inodes were evicted.
pub(super) unsafe extern "C" fn put_super_callback<T: Type>(sb: *mut bindings::super_block) {
    // SAFETY: The superblock is live and set up; every write was submitted before
    // `sync_filesystem` returned, so flushing the workqueue ends the last completions (and the
    // inode references they hold).
    let sb = unsafe { SuperBlock::<T>::from_raw(sb) };
    // SAFETY: By the `SbInfo` invariant the workqueue is live.
    unsafe { ffi::emfs_flush_workqueue(sb.info().wq) };
    T::put_super(sb);
}

/// # Safety
///
/// Called by the VFS with an inode of a `T` superblock being evicted.
pub(super) unsafe extern "C" fn evict_inode_callback<T: Type>(inode: *mut bindings::inode) {
    // Its page cache goes first, then the file system's record of it (deleted if it has no
    // link), then the inode, then our state (which nothing can reach any more).
    // SAFETY: The VFS passes a live inode being evicted, whose `i_data` is its page cache.
    unsafe { bindings::truncate_inode_pages_final(ptr::addr_of_mut!((*inode).i_data)) };
    // SAFETY: The inode is live; nobody else uses it while it is evicted.
    let data = unsafe { (*inode).i_private };
    if !data.is_null() {
        // SAFETY: A `T` inode with its `i_private` set satisfies the `Inode` invariant until
        // the `KBox` is dropped below, after this call. Its count is 0: `UnheldInode`.
        T::evict(unsafe { UnheldInode::<T>::from_raw(inode) });
    }
    // SAFETY: The inode is live, its page cache gone (above), as `clear_inode` requires.
    unsafe { bindings::clear_inode(inode) };
    if !data.is_null() {
        // SAFETY: Nobody else uses the evicted inode; `i_private` was set by `iget` to a
        // leaked `KBox<T::InodeData>`, taken back once here (the field is cleared first).
        unsafe {
            (*inode).i_private = ptr::null_mut();
            drop(KBox::from_raw(data.cast::<T::InodeData>()));
        }
    }
}

/// # Safety
///
/// Called by the VFS with a dentry of a mounted `T` superblock and a buffer to fill.
pub(super) unsafe extern "C" fn statfs_callback<T: Type>(
    dentry: *mut bindings::dentry,
    buf: *mut bindings::kstatfs,
) -> core::ffi::c_int {
    // SAFETY: The dentry pins its superblock, which is a set-up `T` one.
    let sb = unsafe { SuperBlock::<T>::from_raw((*dentry).d_sb) };
    from_result(|| {
        let st = T::statfs(sb)?;
        // SAFETY: `buf` is valid for writes during the call.
        unsafe {
            ffi::emfs_fill_statfs(
                buf,
                T::MAGIC as _,
                T::BLOCK_SIZE as _,
                st.blocks,
                st.free_blocks,
                st.avail_blocks,
                st.files,
                st.free_files,
                st.name_max as _,
            )
        };
        Ok(0)
    })
}
