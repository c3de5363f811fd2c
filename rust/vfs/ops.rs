// SPDX-License-Identifier: GPL-2.0

//! The operation tables of a file system type and the superblock trampolines.

use super::{dir::*, namei::*, read::*, write::*, *};

/// The operation tables of file system `T`.
pub(super) struct Tables<T>(PhantomData<T>);

impl<T: Type> Tables<T> {
    pub(super) const SUPER_OPS: bindings::super_operations = bindings::super_operations {
        evict_inode: Some(evict_inode_callback::<T>),
        dirty_inode: if T::HAS_DIRTY_INODE {
            Some(dirty_inode_callback::<T>)
        } else {
            None
        },
        put_super: Some(put_super_callback::<T>),
        sync_fs: if T::HAS_SYNC_FS {
            Some(sync_fs_callback::<T>)
        } else {
            None
        },
        statfs: if T::HAS_STATFS {
            Some(statfs_callback::<T>)
        } else {
            None
        },
        // Both or neither: the VFS calls `free_cached_objects` whenever the count was not zero.
        nr_cached_objects: if T::HAS_FREE_CACHED_OBJECTS {
            Some(nr_cached_objects_callback::<T>)
        } else {
            None
        },
        free_cached_objects: if T::HAS_FREE_CACHED_OBJECTS {
            Some(free_cached_objects_callback::<T>)
        } else {
            None
        },
        // SAFETY: `super_operations` holds only `Option` function pointers, for which all-zero
        // is `None`: the other operations are absent, and the VFS uses its default for them.
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    pub(super) const DIR_INODE_OPS: bindings::inode_operations = bindings::inode_operations {
        lookup: Some(lookup_callback::<T>),
        create: if T::HAS_CREATE {
            Some(create_callback::<T>)
        } else {
            None
        },
        mkdir: if T::HAS_CREATE {
            Some(mkdir_callback::<T>)
        } else {
            None
        },
        mknod: if T::HAS_CREATE {
            Some(mknod_callback::<T>)
        } else {
            None
        },
        symlink: if T::HAS_CREATE {
            Some(symlink_callback::<T>)
        } else {
            None
        },
        link: if T::HAS_LINK {
            Some(link_callback::<T>)
        } else {
            None
        },
        unlink: if T::HAS_UNLINK {
            Some(unlink_callback::<T>)
        } else {
            None
        },
        rmdir: if T::HAS_RMDIR {
            Some(rmdir_callback::<T>)
        } else {
            None
        },
        rename: if T::HAS_RENAME {
            Some(rename_callback::<T>)
        } else {
            None
        },
        setattr: if T::HAS_SET_SIZE {
            Some(setattr_callback::<T>)
        } else {
            None
        },
        // SAFETY: `inode_operations` holds only `Option` function pointers, for which all-zero
        // is `None`: the other operations are absent (generic `getattr` and `permission`, and
        // `EPERM` for those of the table above that the type does not implement).
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    /// A symlink's: `get_link` always (the path walk calls it without checking), and
    /// `setattr` for its owner and times.
    pub(super) const SYMLINK_INODE_OPS: bindings::inode_operations = bindings::inode_operations {
        get_link: Some(get_link_callback::<T>),
        setattr: if T::HAS_SET_SIZE {
            Some(setattr_callback::<T>)
        } else {
            None
        },
        // SAFETY: `inode_operations` holds only `Option` function pointers, for which all-zero
        // is `None`: the other operations are absent (generic `getattr` and `permission`).
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    /// FIFOs', sockets' and device nodes' (their file operations come from
    /// `init_special_inode`).
    pub(super) const SPECIAL_INODE_OPS: bindings::inode_operations = bindings::inode_operations {
        setattr: if T::HAS_SET_SIZE {
            Some(setattr_callback::<T>)
        } else {
            None
        },
        // SAFETY: `inode_operations` holds only `Option` function pointers, for which all-zero
        // is `None`: the other operations are absent (generic `getattr` and `permission`).
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    pub(super) const DIR_FILE_OPS: bindings::file_operations = bindings::file_operations {
        // A `u64` per open directory for the file system's reading ([`DirEmitter::bound`]).
        open: Some(dir_open_callback),
        release: Some(dir_release_callback),
        llseek: Some(dir_llseek_callback),
        read: Some(bindings::generic_read_dir),
        iterate_shared: Some(iterate_shared_callback::<T>),
        // Names are made durable with the rest: `FileSystem::fsync` on the directory.
        fsync: if T::HAS_FSYNC {
            Some(fsync_callback::<T>)
        } else {
            Some(bindings::noop_fsync)
        },
        // SAFETY: `file_operations` holds `Option` function pointers, the `owner` pointer and the
        // integer `fop_flags`, for which all-zero is `None`, null (no module reference taken)
        // and no flags: the other operations are absent.
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    pub(super) const FILE_INODE_OPS: bindings::inode_operations = bindings::inode_operations {
        setattr: if T::HAS_SET_SIZE {
            Some(setattr_callback::<T>)
        } else {
            None
        },
        // SAFETY: `inode_operations` holds only `Option` function pointers, for which all-zero
        // is `None`: the other operations are absent (generic `getattr` and `permission`).
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    pub(super) const FILE_OPS: bindings::file_operations = bindings::file_operations {
        llseek: if T::HAS_SEEK_HOLE_DATA {
            Some(llseek_callback::<T>)
        } else {
            Some(bindings::generic_file_llseek)
        },
        read_iter: Some(bindings::generic_file_read_iter),
        write_iter: if T::HAS_WRITEBACK_ALLOC {
            Some(bindings::generic_file_write_iter)
        } else {
            None
        },
        mmap: if T::HAS_WRITEBACK_ALLOC {
            Some(mmap_callback::<T>)
        } else {
            Some(bindings::generic_file_readonly_mmap)
        },
        open: Some(bindings::generic_file_open),
        fsync: if T::HAS_FSYNC {
            Some(fsync_callback::<T>)
        } else {
            None
        },
        fallocate: if T::HAS_FALLOCATE {
            Some(fallocate_callback::<T>)
        } else {
            None
        },
        splice_read: Some(bindings::filemap_splice_read),
        splice_write: if T::HAS_WRITEBACK_ALLOC {
            Some(bindings::iter_file_splice_write)
        } else {
            None
        },
        // SAFETY: `file_operations` holds `Option` function pointers, the `owner` pointer and the
        // integer `fop_flags`, for which all-zero is `None`, null (no module reference taken)
        // and no flags: the other operations are absent.
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    pub(super) const VM_OPS: bindings::vm_operations_struct = bindings::vm_operations_struct {
        fault: Some(bindings::filemap_fault),
        map_pages: Some(bindings::filemap_map_pages),
        page_mkwrite: Some(page_mkwrite_callback::<T>),
        // SAFETY: `vm_operations_struct` holds only `Option` function pointers, for which
        // all-zero is `None`: the other operations are absent (no `open`/`close`, and the
        // default behaviour for the rest).
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    pub(super) const AOPS: bindings::address_space_operations =
        bindings::address_space_operations {
            read_folio: Some(read_folio_callback::<T>),
            readahead: if T::HAS_READAHEAD {
                Some(readahead_callback::<T>)
            } else {
                None
            },
            release_folio: if T::HAS_RELEASE_FOLIO {
                Some(release_folio_callback::<T>)
            } else {
                None
            },
            invalidate_folio: if T::HAS_WRITEBACK_ALLOC {
                Some(invalidate_folio_callback::<T>)
            } else {
                None
            },
            write_begin: if T::HAS_WRITEBACK_ALLOC {
                Some(write_begin_callback::<T>)
            } else {
                None
            },
            write_end: if T::HAS_WRITEBACK_ALLOC {
                Some(write_end_callback::<T>)
            } else {
                None
            },
            dirty_folio: if T::HAS_WRITEBACK_ALLOC {
                Some(bindings::filemap_dirty_folio)
            } else {
                None
            },
            writepages: if T::HAS_WRITEBACK_ALLOC {
                Some(writepages_callback::<T>)
            } else {
                None
            },
            migrate_folio: if T::HAS_WRITEBACK_ALLOC {
                Some(ffi::emfs_migrate_folio)
            } else {
                None
            },
            // SAFETY: `address_space_operations` holds only `Option` function pointers, for which
            // all-zero is `None`: the other operations are absent (no `bmap`, no swap file).
            ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
        };
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
