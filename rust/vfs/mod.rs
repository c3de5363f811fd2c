// SPDX-License-Identifier: GPL-2.0

//! A block-device file system, as far as emfs needs it: registration and mount on a block
//! device, inodes from an inode cache, a tree of directories (lookup, readdir, create, mkdir,
//! mknod, symlink, link, unlink, rmdir, rename with its flags), symlinks and special files,
//! and regular files through the page cache: `read_folio`/`readahead`, buffered writes
//! (`write_begin`/`write_end` with a block reserved per dirty folio), shared writable mmap
//! (`page_mkwrite`), `writepages` (space from the file system, one bio per contiguous run,
//! completion on a workqueue), `release_folio`/`invalidate_folio`, `fsync`, `fallocate`,
//! `truncate`, `sync_fs`.
//!
//! A dirty folio that holds a block reservation carries a private marker (`folio->private`):
//! the reservation is handed to the allocation at writeback, or returned when the folio is
//! invalidated.
//!
//! Each operation table is a `#[vtable]` trait, as 6.12's `block::mq::Operations` is:
//! [`FileSystem`] (`super_operations`, and what the other tables share), [`InodeOperations`],
//! [`FileOperations`] and [`AddressSpaceOperations`]; a file system implements all four
//! ([`Type`]). The `extern "C"` trampolines call them with safe views of the C objects, in the
//! spirit of Wedson Almeida Filho's VFS RFC for Rust (never merged).
//!
//! C headers: [`include/linux/fs.h`](srctree/include/linux/fs.h),
//! [`include/linux/pagemap.h`](srctree/include/linux/pagemap.h),
//! [`include/linux/bio.h`](srctree/include/linux/bio.h)

// What every file of the module takes with `use super::*`.
use super::ffi;
use core::{marker::PhantomData, ops::Deref, ptr};
use kernel::{
    bindings,
    error::{from_result, to_result},
    prelude::*,
    str::CStr,
    types::{ARef, AlwaysRefCounted, Opaque},
    ThisModule,
};

mod bio;
mod dir;
mod file;
mod inode;
mod namei;
mod ops;
mod read;
mod registration;
mod super_block;
mod traits;
mod types;
mod write;

pub use bio::BlockReader;
pub use dir::DirEmitter;
pub use inode::{Inode, LockedInode, UnheldInode};
pub use namei::{new_owner, NewInode, RenameFlags};
pub use read::{LockedFolio, ReadBatch, Readahead, ReadaheadFolio, READ_BIO_BLOCKS};
pub use registration::Registration;
pub use super_block::SuperBlock;
pub use traits::{
    falloc, AddressSpaceOperations, FileOperations, FileSystem, InodeOperations, Type,
};
pub use types::{now, FileType, InodeAttrs, InodeParams, StatFs};
pub use write::Reserved;

/// The only block size the glue supports: the page size (one folio per block).
pub const BLOCK_SIZE: usize = bindings::PAGE_SIZE;
