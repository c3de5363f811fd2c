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

mod dir;
mod namei;
mod ops;
mod read;
mod write;

pub use dir::DirEmitter;
pub use namei::{new_owner, NewInode, RenameFlags};
use ops::Tables;
pub use read::{LockedFolio, ReadBatch, Readahead, ReadaheadFolio, READ_BIO_BLOCKS};
pub use write::Reserved;
use write::{write_begin, write_end};

/// The only block size the glue supports: the page size (one folio per block).
pub const BLOCK_SIZE: usize = bindings::PAGE_SIZE;

/// A file system type: its superblock operations (`super_operations`) and what the other
/// tables share. Optional methods (those with a default body) leave their table entry empty
/// unless implemented, as `#[vtable]` traits do in the kernel crate (`HAS_*` constants).
#[vtable]
pub trait FileSystem: Sized + Send + Sync + 'static {
    /// The type's name, as `mount -t` takes it.
    const NAME: &'static CStr;
    /// `s_magic`.
    const MAGIC: u64;
    /// Inode number of the root directory.
    const ROOT_INO: u64;
    /// The most links an inode may have (`s_max_links`, which the VFS enforces in `link`,
    /// `mkdir` and `rename`); 0 for no limit.
    const MAX_LINKS: u32;
    /// The file system's block size in bytes. This glue writes one folio per block and never
    /// enables large folios, so it supports only [`BLOCK_SIZE`] (the page size); a type that
    /// declares another does not build (checked in [`Registration::new`]).
    const BLOCK_SIZE: usize;
    /// Per-inode state, kept in `i_private` and dropped when the inode is evicted.
    type InodeData: Send + Sync;

    /// Reads and checks the on-disk superblock; returns the per-mount state.
    fn fill_super(dev: &BlockReader) -> Result<Self>;

    /// Reads inode `ino` for the inode cache.
    fn read_inode(sb: &SuperBlock<Self>, ino: u64) -> Result<InodeParams<Self::InodeData>>;

    /// Space and inode counts for `statfs`.
    fn statfs(sb: &SuperBlock<Self>) -> Result<StatFs> {
        let _ = sb;
        Err(EINVAL)
    }

    /// What a write bio carries from [`FileSystem::writeback_alloc`] to
    /// [`FileSystem::writeback_done`].
    type WriteCtx: Send;

    /// Whether the mount must be read-only (say, metadata errors were found at mount).
    fn read_only(&self) -> bool {
        false
    }

    /// The in-memory inode changed (size, times, link count, owner, mode): take a copy for the
    /// next commit.
    fn dirty_inode(inode: &UnheldInode<Self>) {
        let _ = inode;
    }

    /// The inode is being evicted, its page cache already gone. One without links is deleted.
    /// Its count is zero: no reference may be taken ([`UnheldInode`]).
    fn evict(inode: &UnheldInode<Self>) {
        let _ = inode;
    }

    /// `sync_fs`: commits what is not on disk; with `wait`, durably.
    fn sync_fs(sb: &SuperBlock<Self>, wait: bool) -> Result {
        let _ = (sb, wait);
        Ok(())
    }

    /// The last call before the superblock goes, after every inode is evicted.
    fn put_super(sb: &SuperBlock<Self>) {
        let _ = sb;
    }

    /// How many objects of the file system's own caches [`FileSystem::free_cached_objects`]
    /// could free (`nr_cached_objects`): the super block's shrinker divides its scan between
    /// these, dentries and inodes in proportion. Consulted only by a type that implements
    /// `free_cached_objects`. Runs in memory reclaim from any task and without `s_umount`: it
    /// must not sleep, allocate, or take a lock that is held while allocating.
    fn nr_cached_objects(sb: &SuperBlock<Self>) -> usize {
        let _ = sb;
        0
    }

    /// Frees about `nr_to_scan` objects of those caches (`free_cached_objects`) and returns how
    /// many went. Runs in memory reclaim, under `s_umount` held shared, only for allocations
    /// that may enter file systems (`__GFP_FS`), and never during unmount (the VFS frees the
    /// shrinker before `kill_sb`); the same rules as [`FileSystem::nr_cached_objects`].
    fn free_cached_objects(sb: &SuperBlock<Self>, nr_to_scan: usize) -> usize {
        let _ = (sb, nr_to_scan);
        0
    }
}

/// The `inode_operations` of directories, regular files, symlinks and special files.
///
/// The glue keeps the VFS's link counts (`i_nlink`) in step with what these methods did: a new
/// name adds one to its inode, a new subdirectory one to its parent, and so on; the file system
/// keeps its own copy of its metadata the same way.
#[vtable]
pub trait InodeOperations: FileSystem {
    /// Finds `name` in directory `dir`; `None` if it is not there.
    fn lookup(dir: &Inode<Self>, name: &[u8]) -> Result<Option<u64>>;

    /// Creates `name` in `dir` for a new inode as `new` describes (`create`, `mkdir`, `mknod`
    /// and `symlink` all end here); returns its inode number, for [`SuperBlock::iget`], which
    /// must bring in that new inode with the type asked for (else the call fails with `EIO`).
    /// A new directory has 2 links, anything else 1.
    fn create(dir: &Inode<Self>, name: &[u8], new: &NewInode<'_>) -> Result<u64> {
        let _ = (dir, name, new);
        Err(EROFS)
    }

    /// The inode [`InodeOperations::create`] made as `name` in `dir` could not be brought in
    /// (out of memory): undo the creation. Nothing else refers to `ino`.
    fn create_aborted(dir: &Inode<Self>, name: &[u8], ino: u64) {
        let _ = (dir, name, ino);
    }

    /// Adds the name `name` in `dir` for `inode`, which is not a directory (`link`; the VFS
    /// refuses directories and enforces [`FileSystem::MAX_LINKS`]).
    fn link(dir: &Inode<Self>, inode: &Inode<Self>, name: &[u8]) -> Result {
        let _ = (dir, inode, name);
        Err(EPERM)
    }

    /// Removes the name `name` of `inode`, not a directory, from `dir`. The inode lives on,
    /// with a link less, until evicted.
    fn unlink(dir: &Inode<Self>, name: &[u8], inode: &Inode<Self>) -> Result {
        let _ = (dir, name, inode);
        Err(EROFS)
    }

    /// Removes the directory `inode`, named `name` in `dir`: `ENOTEMPTY` unless it is empty.
    fn rmdir(dir: &Inode<Self>, name: &[u8], inode: &Inode<Self>) -> Result {
        let _ = (dir, name, inode);
        Err(EPERM)
    }

    /// Renames `inode`, named `old_name` in `old_dir`, to `new_name` in `new_dir`. `target` is
    /// the inode `new_name` names now, if any: replaced by `inode` (which the VFS allows only
    /// between two directories or two non-directories, and for a directory only when it is
    /// empty as the file system says: `ENOTEMPTY`), or, with [`RenameFlags::EXCHANGE`], swapped
    /// with it. With [`RenameFlags::WHITEOUT`] `old_name` is left naming a new whiteout (a
    /// character device 0:0). The VFS has checked the rest (a directory is not moved into its
    /// own subtree, `NOREPLACE`, `EXCHANGE`'s second name exists, [`FileSystem::MAX_LINKS`]).
    fn rename(
        old_dir: &Inode<Self>,
        old_name: &[u8],
        inode: &Inode<Self>,
        new_dir: &Inode<Self>,
        new_name: &[u8],
        target: Option<&Inode<Self>>,
        flags: RenameFlags,
    ) -> Result {
        let _ = (old_dir, old_name, inode, new_dir, new_name, target, flags);
        Err(EROFS)
    }

    /// The size of directory `dir` after an operation of this trait changed its entries; the
    /// trampolines set it while the VFS holds the directory locked. `None` leaves it as it is.
    fn dir_size(dir: &Inode<Self>) -> Option<i64> {
        let _ = dir;
        None
    }

    /// A symlink's target: 1 to `PATH_MAX - 1` bytes, no NUL.
    fn get_link(inode: &Inode<Self>) -> Result<KVec<u8>> {
        let _ = inode;
        Err(EIO)
    }

    /// `truncate`: changes the size of `inode` (called with the inode locked).
    fn set_size(inode: &LockedInode<Self>, size: u64) -> Result {
        let _ = (inode, size);
        Err(EROFS)
    }
}

/// The `file_operations` of the directory and of regular files (reads, writes, splice and
/// mmap are the page cache's generic ones, on [`AddressSpaceOperations`]).
#[vtable]
pub trait FileOperations: FileSystem {
    /// Emits the entries of `dir` from `emitter.pos()` on (after `.` and `..`).
    fn read_dir(dir: &Inode<Self>, emitter: &mut DirEmitter<'_>) -> Result;

    /// `fsync`/`fdatasync` of `[start, end]` (inclusive), after the range was written and
    /// waited for.
    fn fsync(inode: &Inode<Self>, start: u64, end: u64, datasync: bool) -> Result {
        let _ = (inode, start, end, datasync);
        Ok(())
    }

    /// `fallocate` (called with the inode locked).
    fn fallocate(inode: &LockedInode<Self>, mode: u32, offset: u64, len: u64) -> Result {
        let _ = (inode, mode, offset, len);
        Err(super::errno::eopnotsupp())
    }

    /// `lseek`'s `SEEK_DATA` (`hole` false) and `SEEK_HOLE` (`hole` true): the first offset at or
    /// after `offset` that lies in data, or in a hole (the end of the file is one). Called with
    /// the inode locked shared (which keeps `write` out, not writes through a shared mapping),
    /// its dirty data written back, and `offset` below the size; `ENXIO` if no data follows. A
    /// result outside `[offset, size]`, or data at `size`, fails the call with `EIO`. Without
    /// it, the VFS's default treats the whole file as data.
    fn seek_hole_data(inode: &Inode<Self>, offset: u64, hole: bool) -> Result<u64> {
        let _ = (inode, offset, hole);
        Err(EINVAL)
    }
}

/// The `address_space_operations` of regular files. [`AddressSpaceOperations::writeback_alloc`]
/// stands for the whole write side: without it files are read-only (no `write_iter`, no
/// writable mappings, no writeback).
#[vtable]
pub trait AddressSpaceOperations: FileSystem {
    /// Fills a locked folio of `inode`'s page cache from disk.
    fn read_folio(inode: &Inode<Self>, folio: &mut LockedFolio<'_>) -> Result;

    /// Reads a batch of folios ahead of use (`readahead`): each folio the batch hands out must
    /// be added to a [`ReadBatch`], zeroed, or read synchronously with
    /// [`ReadaheadFolio::read_with`]; one dropped unfinished is ended as failed.
    fn readahead(inode: &Inode<Self>, ra: &mut Readahead<'_>) -> Result {
        let _ = (inode, ra);
        Ok(())
    }

    /// The page cache is about to drop the clean folio at `[pos, pos + len)` of `inode`
    /// (reclaim, `drop_caches`, `fadvise(DONTNEED)`): release what is cached for it. Returns
    /// whether the folio may go. Dirty folios and folios under writeback never get here. The
    /// inode may have no reference (reclaim of an unused cached inode).
    fn release_folio(inode: &UnheldInode<Self>, pos: u64, len: u64) -> bool {
        let _ = (inode, pos, len);
        true
    }

    /// Reserves space for `blocks` folios of `inode` being dirtied: what writing them back and
    /// committing that can need, data and metadata; `ENOSPC` if it is not there.
    fn reserve(inode: &UnheldInode<Self>, blocks: u64) -> Result {
        let _ = (inode, blocks);
        Ok(())
    }

    /// Returns the reservation of `blocks` folios of `inode` that will not be written (the
    /// folio was truncated, or not dirtied).
    fn unreserve(inode: &UnheldInode<Self>, blocks: u64) {
        let _ = (inode, blocks);
    }

    /// Writeback of the dirty range `[pos, pos + len)` of `inode`: allocates disk space for a
    /// prefix of it. Returns the first block, the length granted (a multiple of the block size,
    /// not zero) and what the completion needs. `reserved` tells how many blocks of the prefix
    /// granted were reserved when dirtied ([`Reserved::in_prefix`]): those reservations, and
    /// only those, become the allocation; the rest of the range keeps its own. Nobody may hold
    /// the inode (`write_inode_now` of an inode being freed): no reference may be taken.
    fn writeback_alloc(
        inode: &UnheldInode<Self>,
        pos: u64,
        len: u64,
        reserved: &Reserved<'_>,
    ) -> Result<(u64, u64, Self::WriteCtx)> {
        let _ = (inode, pos, len, reserved);
        Err(EROFS)
    }

    /// An allocation [`AddressSpaceOperations::writeback_alloc`] granted was not written (no
    /// memory for its bio): give it back, and give back to its folios, which stay dirty with
    /// their markers, the reservations it took over. By default, as a failed write.
    fn writeback_cancel(inode: &UnheldInode<Self>, ctx: Self::WriteCtx) {
        Self::writeback_done(inode, ctx, Err(ENOMEM))
    }

    /// A write bio completed (in process context, on the superblock's workqueue), before its
    /// folios end their writeback. Nobody may hold the inode: no reference may be taken
    /// ([`UnheldInode`]).
    fn writeback_done(inode: &UnheldInode<Self>, ctx: Self::WriteCtx, result: Result) {
        let _ = (inode, ctx, result);
    }
}

/// Everything a file system type implements; what [`Registration`] takes.
pub trait Type: FileSystem + InodeOperations + FileOperations + AddressSpaceOperations {}

impl<T: FileSystem + InodeOperations + FileOperations + AddressSpaceOperations> Type for T {}

/// `fallocate` modes.
pub mod falloc {
    /// Do not change the file size.
    pub const KEEP_SIZE: u32 = 0x01;
    /// Deallocate the range (with `KEEP_SIZE`).
    pub const PUNCH_HOLE: u32 = 0x02;
}

/// An inode's attributes as the VFS holds them.
#[derive(Clone, Copy, Debug)]
pub struct InodeAttrs {
    /// Type and permission bits.
    pub mode: u16,
    /// Link count.
    pub nlink: u32,
    /// Size in bytes.
    pub size: i64,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Access time (seconds, nanoseconds).
    pub atime: (i64, u32),
    /// Modification time.
    pub mtime: (i64, u32),
    /// Change time.
    pub ctime: (i64, u32),
}

/// The current time (seconds, nanoseconds).
pub fn now() -> (i64, u32) {
    let mut ts = bindings::timespec64::default();
    // SAFETY: `ts` is valid for writes.
    unsafe { bindings::ktime_get_real_ts64(&mut ts) };
    (ts.tv_sec, ts.tv_nsec as u32)
}

/// What `statfs` reports (in 4 KiB blocks).
#[derive(Clone, Copy, Debug, Default)]
pub struct StatFs {
    /// Size of the file system.
    pub blocks: u64,
    /// Free blocks.
    pub free_blocks: u64,
    /// Blocks an unprivileged write can still get: the free ones less what the file system
    /// keeps for itself.
    pub avail_blocks: u64,
    /// Inode slots.
    pub files: u64,
    /// Free inode slots.
    pub free_files: u64,
    /// Longest name.
    pub name_max: u64,
}

/// The type of an inode: the seven of POSIX.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    /// A directory.
    Dir,
    /// A regular file.
    Reg,
    /// A symbolic link.
    Symlink,
    /// A FIFO.
    Fifo,
    /// A socket.
    Socket,
    /// A character device.
    CharDev,
    /// A block device.
    BlockDev,
}

impl FileType {
    /// The type of `mode` (its `S_IFMT` bits); `None` for none of the seven.
    pub fn from_mode(mode: u16) -> Option<Self> {
        match u32::from(mode) & bindings::S_IFMT {
            bindings::S_IFDIR => Some(Self::Dir),
            bindings::S_IFREG => Some(Self::Reg),
            bindings::S_IFLNK => Some(Self::Symlink),
            bindings::S_IFIFO => Some(Self::Fifo),
            bindings::S_IFSOCK => Some(Self::Socket),
            bindings::S_IFCHR => Some(Self::CharDev),
            bindings::S_IFBLK => Some(Self::BlockDev),
            _ => None,
        }
    }

    /// The `S_IFMT` bits of the type.
    pub fn mode_bits(self) -> u16 {
        let bits = match self {
            Self::Dir => bindings::S_IFDIR,
            Self::Reg => bindings::S_IFREG,
            Self::Symlink => bindings::S_IFLNK,
            Self::Fifo => bindings::S_IFIFO,
            Self::Socket => bindings::S_IFSOCK,
            Self::CharDev => bindings::S_IFCHR,
            Self::BlockDev => bindings::S_IFBLK,
        };
        // The `S_IF*` constants all fit in the 16 bits of `umode_t`.
        bits as u16
    }
}

/// What a new in-memory inode is made from.
pub struct InodeParams<D> {
    /// The type.
    pub ty: FileType,
    /// The 12 permission bits (others are ignored).
    pub perm: u16,
    /// A device node's device number (the kernel's `dev_t`); otherwise 0.
    pub rdev: u32,
    /// Size in bytes.
    pub size: i64,
    /// Link count.
    pub nlink: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Access time (seconds, nanoseconds).
    pub atime: (i64, u32),
    /// Modification time.
    pub mtime: (i64, u32),
    /// Change time.
    pub ctime: (i64, u32),
    /// The file system's own state for the inode, allocated and pinned by the file system
    /// (its only allocation: the inode keeps this box until it is evicted).
    pub data: Pin<KBox<D>>,
}

/// Reads blocks of the device being mounted (before the superblock is set up).
///
/// # Invariants
///
/// `sb` is a superblock being filled by `mount_bdev`, whose `s_bdev` is open.
pub struct BlockReader {
    sb: *mut bindings::super_block,
}

impl BlockReader {
    fn bdev(&self) -> Bdev<'_> {
        // SAFETY: By the type invariant `sb` is live.
        let ptr = unsafe { (*self.sb).s_bdev };
        // INVARIANT: By the type invariant `s_bdev` is open while the mount is being set up,
        // which outlives this borrow.
        Bdev {
            ptr,
            _p: PhantomData,
        }
    }

    /// Reads block `blk` (4 KiB) into a new buffer.
    pub fn read_block(&self, blk: u64) -> Result<KBox<[u8; BLOCK_SIZE]>> {
        read_block(self.bdev(), blk)
    }

    /// Whether the mount is read-only (`mount -o ro`).
    pub fn is_read_only(&self) -> bool {
        // SAFETY: By the type invariant the superblock is live.
        unsafe { ffi::emfs_sb_rdonly(self.sb) }
    }

    /// The device's size in blocks.
    pub fn blocks(&self) -> u64 {
        // SAFETY: By the type invariant `s_bdev` is an open block device; `bd_nr_sectors` is
        // read atomically by the C accessors, and a plain aligned load is what they do.
        let sectors =
            unsafe { ptr::read_volatile(ptr::addr_of!((*(*self.sb).s_bdev).bd_nr_sectors)) };
        sectors / (BLOCK_SIZE as u64 / 512)
    }
}

/// An open block device, borrowed from the superblock (or the mount being set up) that holds
/// it open.
///
/// # Invariants
///
/// `ptr` is an open block device for `'a`.
#[derive(Clone, Copy)]
struct Bdev<'a> {
    ptr: *mut bindings::block_device,
    _p: PhantomData<&'a ()>,
}

/// Reads block `blk` of `bdev` with a bio.
fn read_block(bdev: Bdev<'_>, blk: u64) -> Result<KBox<[u8; BLOCK_SIZE]>> {
    let buf = KBox::new([0u8; BLOCK_SIZE], GFP_KERNEL)?;
    let addr: *const [u8; BLOCK_SIZE] = &*buf;
    // SAFETY: Any address may be passed: the helper looks the page up only if `virt_addr_valid`
    // says the address is in the linear map, and returns null otherwise.
    let page = unsafe { ffi::emfs_virt_to_page(addr.cast()) };
    // A 4096-byte kmalloc buffer is naturally aligned (guaranteed since 5.4) and in the linear
    // map, so it is exactly `page`; anything else is refused rather than assumed.
    if page.is_null() || addr as usize % BLOCK_SIZE != 0 {
        return Err(EINVAL);
    }
    // SAFETY: `page` stays allocated (owned by `buf`) until the bio completed, since
    // `submit_read` waits.
    submit_read(bdev, blk, |bio| unsafe {
        bindings::bio_add_page(bio, page, BLOCK_SIZE as u32, 0) == BLOCK_SIZE as i32
    })?;
    Ok(buf)
}

/// Allocates a bio with operation `opf` for up to `nr_vecs` segments, starting at block `blk`
/// of `bdev`.
fn alloc_bio(
    bdev: Bdev<'_>,
    blk: u64,
    nr_vecs: u16,
    opf: bindings::blk_opf_t,
) -> Result<*mut bindings::bio> {
    let sector = blk.checked_mul(BLOCK_SIZE as u64 / 512).ok_or(EINVAL)?;
    // SAFETY: `bdev.ptr` is an open device (the `Bdev` invariant); `fs_bio_set` is the
    // kernel's bio set for file systems, and with a sleeping GFP mask the allocation comes
    // from its mempool.
    let bio = unsafe {
        bindings::bio_alloc_bioset(
            bdev.ptr,
            nr_vecs,
            opf,
            ffi::emfs_gfp_nofs(),
            ptr::addr_of_mut!(bindings::fs_bio_set),
        )
    };
    if bio.is_null() {
        return Err(ENOMEM);
    }
    // SAFETY: `bio` is a new bio we own.
    unsafe { (*bio).bi_iter.bi_sector = sector };
    Ok(bio)
}

/// Allocates a read bio for up to `nr_vecs` segments, starting at block `blk` of `bdev`.
fn alloc_read_bio(bdev: Bdev<'_>, blk: u64, nr_vecs: u16) -> Result<*mut bindings::bio> {
    alloc_bio(bdev, blk, nr_vecs, bindings::req_op_REQ_OP_READ)
}

/// Allocates a read bio at block `blk` of `bdev`, lets `add` attach memory, submits and waits.
fn submit_read(bdev: Bdev<'_>, blk: u64, add: impl FnOnce(*mut bindings::bio) -> bool) -> Result {
    submit_wait(bdev, blk, bindings::req_op_REQ_OP_READ, add)
}

/// Allocates a bio with operation `opf` at block `blk` of `bdev`, lets `add` attach memory,
/// submits and waits.
fn submit_wait(
    bdev: Bdev<'_>,
    blk: u64,
    opf: bindings::blk_opf_t,
    add: impl FnOnce(*mut bindings::bio) -> bool,
) -> Result {
    let bio = alloc_bio(bdev, blk, 1, opf)?;
    let added = add(bio);
    let ret = if added {
        // SAFETY: `bio` is ours, unsubmitted, with its memory attached by `add`;
        // `submit_bio_wait` returns when the I/O completed.
        unsafe { bindings::submit_bio_wait(bio) }
    } else {
        -(bindings::EIO as i32)
    };
    // SAFETY: `bio` is ours and not in flight (its I/O, if submitted, completed above), so
    // nothing refers to the memory attached to it; this drops our reference.
    unsafe { bindings::bio_put(bio) };
    to_result(ret)
}

/// Writes one block from `buf` to block `blk` of `bdev` and waits; with `fua`, the cache is
/// flushed first and the block is on stable storage when this returns. `buf` must be one page
/// of the linear map (a page-aligned `kmalloc` buffer); anything else is `EINVAL`.
fn write_block(bdev: Bdev<'_>, blk: u64, buf: &[u8; BLOCK_SIZE], fua: bool) -> Result {
    let addr: *const [u8; BLOCK_SIZE] = buf;
    if addr as usize % BLOCK_SIZE != 0 {
        return Err(EINVAL);
    }
    // SAFETY: Any address may be passed: the helper looks the page up only if `virt_addr_valid`
    // says the address is in the linear map, and returns null otherwise (a page-aligned static
    // of the module or a buffer on a vmapped stack is not, and `virt_to_page` of it would name
    // an unrelated page).
    let page = unsafe { ffi::emfs_virt_to_page(addr.cast()) };
    if page.is_null() {
        return Err(EINVAL);
    }
    // The buffer is page-aligned and `BLOCK_SIZE` (the page size) long, in the linear map: it
    // is exactly `page`.
    // SAFETY: A pure function of its argument.
    let opf = unsafe { ffi::emfs_write_opf(fua) };
    // SAFETY: `buf` is borrowed until `submit_wait` returned, after the I/O.
    submit_wait(bdev, blk, opf, |bio| unsafe {
        bindings::bio_add_page(bio, page, BLOCK_SIZE as u32, 0) == BLOCK_SIZE as i32
    })
}

/// What a superblock's `s_fs_info` points to: the file system's state and the workqueue that
/// completes its writes.
///
/// # Invariants
///
/// `wq` is a live workqueue until `kill_sb` destroys it, after every write completed.
struct SbInfo<T> {
    data: T,
    wq: *mut bindings::workqueue_struct,
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
    unsafe fn from_raw<'a>(sb: *mut bindings::super_block) -> &'a Self {
        // SAFETY: `SuperBlock` is a transparent wrapper; the caller guarantees validity.
        unsafe { &*sb.cast::<Self>() }
    }

    /// The per-mount state `fill_super` returned.
    pub fn data(&self) -> &T {
        &self.info().data
    }

    fn info(&self) -> &SbInfo<T> {
        // SAFETY: By the type invariant `s_fs_info` is a live `KBox<SbInfo<T>>`, freed only in
        // `kill_sb`, after the last user of the superblock.
        unsafe { &*(*self.0.get()).s_fs_info.cast::<SbInfo<T>>() }
    }

    fn bdev(&self) -> Bdev<'_> {
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
    fn iget_inner(&self, ino: u64) -> Result<(ARef<Inode<T>>, bool)> {
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

/// An inode of file system `T`.
///
/// # Invariants
///
/// The wrapped inode belongs to a `T` superblock and was set up by [`SuperBlock::iget`]: its
/// `i_private` is a `KBox<T::InodeData>` that lives until the inode is evicted.
#[repr(transparent)]
pub struct Inode<T: FileSystem>(Opaque<bindings::inode>, PhantomData<T>);

// SAFETY: `ihold`/`iput` are the inode's reference count; the last `iput` evicts it.
unsafe impl<T: FileSystem> AlwaysRefCounted for Inode<T> {
    fn inc_ref(&self) {
        // SAFETY: The existence of `&self` means a reference is held, so the inode is live.
        unsafe { bindings::ihold(self.0.get()) };
    }

    unsafe fn dec_ref(obj: ptr::NonNull<Self>) {
        // SAFETY: The caller gives up a reference it holds.
        unsafe { bindings::iput(obj.as_ptr().cast()) };
    }
}

impl<T: FileSystem> Inode<T> {
    /// # Safety
    ///
    /// `inode` must satisfy the type invariant while the reference is used.
    unsafe fn from_raw<'a>(inode: *mut bindings::inode) -> &'a Self {
        // SAFETY: `Inode` is a transparent wrapper; the caller guarantees validity.
        unsafe { &*inode.cast::<Self>() }
    }

    /// The same inode, for a callback that takes [`UnheldInode`]: one that may not take a
    /// reference need not know that the caller holds one.
    pub(super) fn unheld(&self) -> &UnheldInode<T> {
        // SAFETY: `UnheldInode` is a transparent wrapper of `Inode`, whose invariant it asks
        // for only while the reference is used: `self` satisfies it for at least that long.
        unsafe { &*(self as *const Self).cast::<UnheldInode<T>>() }
    }

    /// The inode number.
    pub fn ino(&self) -> u64 {
        // SAFETY: `i_ino` does not change after the inode is set up.
        unsafe { (*self.0.get()).i_ino as u64 }
    }

    /// The size in bytes.
    pub fn size(&self) -> i64 {
        // SAFETY: `i_size_read` on 64-bit is a plain load of an aligned field.
        unsafe { ptr::read_volatile(ptr::addr_of!((*self.0.get()).i_size)) }
    }

    /// The file system's state for the inode.
    pub fn data(&self) -> &T::InodeData {
        // SAFETY: By the type invariant `i_private` is a live `KBox<T::InodeData>`.
        unsafe { &*(*self.0.get()).i_private.cast::<T::InodeData>() }
    }

    /// The superblock.
    pub fn super_block(&self) -> &SuperBlock<T> {
        // SAFETY: An inode's superblock outlives it, and by the type invariant it is a `T` one.
        unsafe { SuperBlock::from_raw((*self.0.get()).i_sb) }
    }

    fn raw(&self) -> *mut bindings::inode {
        self.0.get()
    }

    /// The attributes as the VFS holds them now, each field read once (`READ_ONCE`): unless
    /// the caller holds the inode lock (a [`LockedInode`]), a `setattr` may run meanwhile, so
    /// the fields are not necessarily one consistent set.
    pub fn attrs(&self) -> InodeAttrs {
        let i = self.raw();
        // SAFETY: `i` is a live inode (the type invariant); every field is an aligned word read
        // with one volatile load, the kernel's `READ_ONCE`, so a concurrent writer (`setattr`
        // under the inode lock) makes the set inconsistent but no read torn.
        unsafe {
            InodeAttrs {
                mode: ptr::read_volatile(ptr::addr_of!((*i).i_mode)),
                nlink: ptr::read_volatile(ptr::addr_of!((*i).__bindgen_anon_1.i_nlink)),
                size: self.size(),
                uid: ptr::read_volatile(ptr::addr_of!((*i).i_uid.val)),
                gid: ptr::read_volatile(ptr::addr_of!((*i).i_gid.val)),
                atime: (
                    ptr::read_volatile(ptr::addr_of!((*i).i_atime_sec)),
                    ptr::read_volatile(ptr::addr_of!((*i).i_atime_nsec)),
                ),
                mtime: (
                    ptr::read_volatile(ptr::addr_of!((*i).i_mtime_sec)),
                    ptr::read_volatile(ptr::addr_of!((*i).i_mtime_nsec)),
                ),
                ctime: (
                    ptr::read_volatile(ptr::addr_of!((*i).i_ctime_sec)),
                    ptr::read_volatile(ptr::addr_of!((*i).i_ctime_nsec)),
                ),
            }
        }
    }
}

/// An inode whose lock (`inode_lock`, `i_rwsem` for writing) the caller holds: what changing
/// its size or dropping its page cache needs. Only the VFS glue makes one, in the callbacks the
/// VFS calls with the lock held ([`InodeOperations::set_size`], [`FileOperations::fallocate`]).
///
/// # Invariants
///
/// The wrapped inode satisfies the [`Inode`] invariant and its lock is held for writing for as
/// long as a reference to this exists.
#[repr(transparent)]
pub struct LockedInode<T: FileSystem>(Inode<T>);

impl<T: FileSystem> Deref for LockedInode<T> {
    type Target = Inode<T>;

    fn deref(&self) -> &Inode<T> {
        &self.0
    }
}

impl<T: FileSystem> LockedInode<T> {
    /// # Safety
    ///
    /// `inode` must satisfy the [`Inode`] invariant, and its lock must be held for writing
    /// while the reference is used.
    unsafe fn from_raw<'a>(inode: *mut bindings::inode) -> &'a Self {
        // SAFETY: `LockedInode` is a transparent wrapper of `Inode`, itself of `bindings::inode`;
        // the caller guarantees the invariant.
        unsafe { &*inode.cast::<Self>() }
    }

    /// Sets the size (`i_size_write`, which needs the lock) and marks the inode dirty.
    pub fn set_size(&self, size: u64) -> Result {
        let size = i64::try_from(size).map_err(|_| EFBIG)?;
        // SAFETY: The inode is live and its lock held (the type invariant), as `i_size_write`
        // requires.
        unsafe {
            ffi::emfs_i_size_write(self.raw(), size);
            ffi::emfs_mark_inode_dirty(self.raw());
        }
        Ok(())
    }

    /// Sets the size and drops the page cache beyond it (`truncate_setsize`), waiting for
    /// writeback of what is dropped.
    pub fn truncate_setsize(&self, size: u64) -> Result {
        let size = i64::try_from(size).map_err(|_| EFBIG)?;
        // SAFETY: The inode is live and its lock held (the type invariant), as
        // `truncate_setsize` requires.
        unsafe { bindings::truncate_setsize(self.raw(), size) };
        Ok(())
    }

    /// Drops the page cache of the blocks inside `[start, end]` (inclusive), zeroing the parts
    /// of partial folios at the ends (`truncate_pagecache_range`).
    pub fn truncate_pagecache_range(&self, start: u64, end: u64) -> Result {
        let start = i64::try_from(start).map_err(|_| EINVAL)?;
        let end = i64::try_from(end).map_err(|_| EINVAL)?;
        // SAFETY: The inode is live and its lock held (the type invariant), which keeps new
        // writes out of the range while it is dropped.
        unsafe { bindings::truncate_pagecache_range(self.raw(), start, end) };
        Ok(())
    }
}

impl<T: Type> LockedInode<T> {
    /// Writes zeros over `[pos, pos + len)`, which must lie inside one block, through the page
    /// cache as a `write` would (space reserved, folio dirtied). Does not change the size.
    /// `EROFS` for a file system without a write side ([`AddressSpaceOperations::writeback_alloc`]):
    /// its mapping has no `dirty_folio`, which dirtying a folio calls.
    pub fn zero_range(&self, pos: u64, len: u64) -> Result {
        if !T::HAS_WRITEBACK_ALLOC {
            return Err(EROFS);
        }
        if len == 0 {
            return Ok(());
        }
        let bs = BLOCK_SIZE as u64;
        if pos % bs + len > bs {
            return Err(EINVAL);
        }
        let ipos = i64::try_from(pos).map_err(|_| EINVAL)?;
        let folio = write_begin::<T>(self, ipos, len as usize)?;
        // SAFETY: `write_begin` returned the locked folio containing the range.
        unsafe { ffi::emfs_folio_zero_range(folio, (pos % bs) as usize, len as usize) };
        // SAFETY: `folio` is the locked, referenced folio `write_begin` returned for this range
        // of this inode, whose lock is still held.
        unsafe { write_end::<T>(self, ipos, len as usize, len as usize, folio, false) };
        Ok(())
    }

    /// Before the size grows to `new_size`: zeros over the rest of the old last block, which
    /// becomes part of the file and which a shared mapping may have written past the end
    /// (what xfs does with `xfs_zero_range` from the old size). Every path that grows the size
    /// (truncate up, fallocate, a write past the end) calls this first.
    pub fn zero_eof_tail(&self, new_size: u64) -> Result {
        let bs = BLOCK_SIZE as u64;
        let old = self.size().max(0) as u64;
        if new_size <= old || old % bs == 0 {
            return Ok(());
        }
        self.zero_range(old, (old - old % bs + bs).min(new_size) - old)
    }
}

/// An inode a callback may use but must not take a reference to: at eviction its count is
/// already zero, and at writeback completion it may be (the writeback of its folios keeps it
/// alive, not a count), where `ihold` is not allowed. Unlike [`Inode`] it has no
/// `AlwaysRefCounted` and no way to reach one, so no [`ARef`] can be made from it. (Nor may
/// the callback look its own number up with [`SuperBlock::iget`]: that waits for the inode
/// being freed, or for the writeback that eviction waits for, and never returns.)
///
/// # Invariants
///
/// The wrapped inode satisfies the [`Inode`] invariant for as long as a reference to this
/// exists.
#[repr(transparent)]
pub struct UnheldInode<T: FileSystem>(Inode<T>);

impl<T: FileSystem> UnheldInode<T> {
    /// # Safety
    ///
    /// `inode` must satisfy the [`Inode`] invariant while the reference is used.
    unsafe fn from_raw<'a>(inode: *mut bindings::inode) -> &'a Self {
        // SAFETY: `UnheldInode` is a transparent wrapper of `Inode`, itself of
        // `bindings::inode`; the caller guarantees the invariant.
        unsafe { &*inode.cast::<Self>() }
    }

    fn raw(&self) -> *mut bindings::inode {
        self.0.raw()
    }

    /// The inode number.
    pub fn ino(&self) -> u64 {
        self.0.ino()
    }

    /// The size in bytes.
    pub fn size(&self) -> i64 {
        self.0.size()
    }

    /// The file system's state for the inode.
    pub fn data(&self) -> &T::InodeData {
        self.0.data()
    }

    /// The superblock.
    pub fn super_block(&self) -> &SuperBlock<T> {
        self.0.super_block()
    }

    /// The attributes ([`Inode::attrs`]).
    pub fn attrs(&self) -> InodeAttrs {
        self.0.attrs()
    }
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
unsafe extern "C" fn mount_callback<T: Type>(
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
unsafe extern "C" fn kill_sb_callback<T: Type>(sb: *mut bindings::super_block) {
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

/// A registered file system type; unregistered on drop.
///
/// The `file_system_type` is allocated apart from this object, because a superblock keeps
/// pointing at it (`s_type`) until it is unmounted, and unregistering does not wait for that.
/// Each superblock holds the module (`owner`), so while the module is being unloaded none
/// exists and none is being made: then the type is freed. Dropped at any other time (a mount
/// may exist), the type is unregistered but its memory, and its lockdep keys, stay: a small
/// leak instead of a use-after-free.
///
/// # Invariants
///
/// `fs` points to a `file_system_type` allocated by [`Registration::new`] for `T` of `module`,
/// with its lockdep keys registered, and registered with `register_filesystem` while this
/// object lives.
///
/// # Examples
///
/// ```ignore
/// // `MyFs` implements `FileSystem`, `InodeOperations`, `FileOperations` and
/// // `AddressSpaceOperations` (each `#[vtable]`: what it leaves out keeps the VFS default).
/// let reg = Registration::<MyFs>::new(module)?;
/// // `mount -t <MyFs::NAME>` works until `reg` is dropped.
/// ```
pub struct Registration<T: Type> {
    fs: ptr::NonNull<bindings::file_system_type>,
    module: &'static ThisModule,
    _p: PhantomData<T>,
}

// SAFETY: The registration is only used to unregister, which any thread may do.
unsafe impl<T: Type> Send for Registration<T> {}
// SAFETY: `&Registration` gives access to nothing.
unsafe impl<T: Type> Sync for Registration<T> {}

impl<T: Type> Registration<T> {
    /// Registers `T` as a file system type of `module`.
    pub fn new(module: &'static ThisModule) -> Result<Self> {
        const {
            assert!(
                T::BLOCK_SIZE == BLOCK_SIZE,
                "the VFS glue supports only page-sized blocks"
            )
        };
        // SAFETY: All-zero is a valid `file_system_type`: null pointers, `None` function
        // pointers, zero integers, and lockdep keys that are registered below before any use.
        let fs: bindings::file_system_type = unsafe { core::mem::zeroed() };
        let ft = KBox::into_raw(KBox::new(fs, GFP_KERNEL)?);
        // SAFETY: `ft` was just allocated and initialised, and nothing else knows it until it is
        // registered below: its fields are ours to write. The name and the module are `'static`.
        unsafe {
            (*ft).name = T::NAME.as_char_ptr();
            (*ft).fs_flags = bindings::FS_REQUIRES_DEV as i32;
            (*ft).mount = Some(mount_callback::<T>);
            (*ft).kill_sb = Some(kill_sb_callback::<T>);
            (*ft).owner = module.as_ptr();
        }
        // The type is not static memory: lockdep must know its keys.
        // SAFETY: `ft` is initialised and not registered yet; its keys stay put until `drop`
        // frees them (or forever).
        unsafe { ffi::emfs_fs_type_register_keys(ft) };
        // SAFETY: `ft` is fully initialised with its lockdep keys registered; it stays allocated
        // at least until `drop` unregisters it. Its callbacks are this module's code: the
        // module's exit drops the registration first (the "Safety model" of `rust/mod.rs`: an
        // owner that is forgotten is the assumption accepted there).
        if let Err(e) = to_result(unsafe { bindings::register_filesystem(ft) }) {
            // SAFETY: The registration failed, so nothing else has seen `ft`: its keys are
            // unused, and the box is ours again.
            unsafe {
                ffi::emfs_fs_type_unregister_keys(ft);
                drop(KBox::from_raw(ft));
            }
            return Err(e);
        }
        // INVARIANT: `ft` was allocated, its keys registered, and registered, above.
        Ok(Self {
            // SAFETY: `KBox::into_raw` never returns null.
            fs: unsafe { ptr::NonNull::new_unchecked(ft) },
            module,
            _p: PhantomData,
        })
    }
}

impl<T: Type> Drop for Registration<T> {
    fn drop(&mut self) {
        let ft = self.fs.as_ptr();
        // SAFETY: By the type invariant the type is registered.
        unsafe { bindings::unregister_filesystem(ft) };
        // SAFETY: `module` is `'static`; the helper only reads its state.
        if unsafe { ffi::emfs_module_going(self.module.as_ptr()) } {
            // SAFETY: The module is being unloaded, so its count is zero: no superblock of the
            // type exists (each holds the module from mount to `kill_sb`) and no mount of it is
            // on its way (one holds the module from `get_fs_type` on), and none can start (the
            // type is unregistered). Nothing uses `ft` or its keys any more.
            unsafe {
                ffi::emfs_fs_type_unregister_keys(ft);
                drop(KBox::from_raw(ft));
            }
        }
    }
}
