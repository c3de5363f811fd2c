// SPDX-License-Identifier: GPL-2.0

//! The operation tables as `#[vtable]` traits ([`FileSystem`], [`InodeOperations`],
//! [`FileOperations`], [`AddressSpaceOperations`]), [`Type`] for all four, and the `fallocate`
//! modes.

use super::*;

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
        Err(crate::kernel_ext::errno::eopnotsupp())
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
