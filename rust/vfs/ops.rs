// SPDX-License-Identifier: GPL-2.0

//! The operation tables of a file system type.

use super::{dir::*, file::*, namei::*, read::*, super_block::*, write::*, *};

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
        // A `u64` per open directory for the file system's reading ([`DirEmitter::cookie`]).
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
