// SPDX-License-Identifier: GPL-2.0

//! A block-device file system, as far as emfs needs it: registration and mount on a block
//! device, inodes from an inode cache, one directory (lookup, readdir, create, unlink, rename),
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
//! The shape follows Wedson Almeida Filho's VFS RFC for Rust (never merged): a [`FileSystem`]
//! trait whose methods the `extern "C"` trampolines here call with safe views of the C objects.
//!
//! C headers: [`include/linux/fs.h`](srctree/include/linux/fs.h),
//! [`include/linux/pagemap.h`](srctree/include/linux/pagemap.h),
//! [`include/linux/bio.h`](srctree/include/linux/bio.h)

use super::ffi;
use core::{marker::PhantomData, ptr};
use kernel::{
    bindings, c_str,
    error::{from_result, to_result},
    init::PinInit,
    prelude::*,
    str::CStr,
    types::{ARef, AlwaysRefCounted, Opaque},
    ThisModule,
};

/// Block size: the only one supported.
pub const BLOCK_SIZE: usize = 4096;

/// What a file system implements: the operations of its superblock, directory, file and
/// address-space tables. Optional methods (those with a default body) leave their table entry
/// empty unless implemented, as `#[vtable]` traits do in the kernel crate (`HAS_*` constants);
/// [`FileSystem::writeback_alloc`] stands for the whole write side (without it, files are
/// read-only: no `write_iter`, no writable mappings, no writeback).
#[vtable]
pub trait FileSystem: Sized + Send + Sync + 'static {
    /// The type's name, as `mount -t` takes it.
    const NAME: &'static CStr;
    /// `s_magic`.
    const MAGIC: u64;
    /// Inode number of the root directory.
    const ROOT_INO: u64;
    /// Per-inode state, kept in `i_private` and dropped when the inode is evicted.
    type InodeData: Send + Sync;

    /// Reads and checks the on-disk superblock; returns the per-mount state.
    fn fill_super(dev: &BlockReader) -> Result<Self>;

    /// Reads inode `ino` for the inode cache.
    fn read_inode(sb: &SuperBlock<Self>, ino: u64) -> Result<InodeParams<Self::InodeData>>;

    /// Finds `name` in directory `dir`; `None` if it is not there.
    fn lookup(dir: &Inode<Self>, name: &[u8]) -> Result<Option<u64>>;

    /// Emits the entries of `dir` from `emitter.pos()` on (after `.` and `..`).
    fn read_dir(dir: &Inode<Self>, emitter: &mut DirEmitter<'_>) -> Result;

    /// Fills a locked folio of `inode`'s page cache from disk.
    fn read_folio(inode: &Inode<Self>, folio: &mut LockedFolio<'_>) -> Result;

    /// Space and inode counts for `statfs`.
    fn statfs(sb: &SuperBlock<Self>) -> Result<StatFs> {
        let _ = sb;
        Err(EINVAL)
    }

    /// Reads a batch of folios ahead of use (`readahead`): each folio the batch hands out must
    /// be added to a [`ReadBatch`], zeroed, or read synchronously with
    /// [`ReadaheadFolio::read_with`]; one dropped unfinished is ended as failed.
    fn readahead(inode: &Inode<Self>, ra: &mut Readahead<'_>) -> Result {
        let _ = (inode, ra);
        Ok(())
    }

    /// The page cache is about to drop the clean folio at `[pos, pos + len)` of `inode`
    /// (reclaim, `drop_caches`, `fadvise(DONTNEED)`): release what is cached for it. Returns
    /// whether the folio may go. Dirty folios and folios under writeback never get here.
    fn release_folio(inode: &Inode<Self>, pos: u64, len: u64) -> bool {
        let _ = (inode, pos, len);
        true
    }

    /// What a write bio carries from [`FileSystem::writeback_alloc`] to
    /// [`FileSystem::writeback_done`].
    type WriteCtx: Send;

    /// Whether the mount must be read-only (say, metadata errors were found at mount).
    fn read_only(&self) -> bool {
        false
    }

    /// Creates regular file `name` in `dir`; returns its inode number, for [`SuperBlock::iget`].
    fn create(dir: &Inode<Self>, name: &[u8], perm: u16, owner: (u32, u32)) -> Result<u64> {
        let _ = (dir, name, perm, owner);
        Err(EROFS)
    }

    /// Removes `inode`'s name from `dir`. The inode lives on, with no link, until evicted.
    fn unlink(dir: &Inode<Self>, inode: &Inode<Self>) -> Result {
        let _ = (dir, inode);
        Err(EROFS)
    }

    /// Renames `inode` to `new_name`; `replaced` is the inode that name belonged to, which
    /// loses it.
    fn rename(
        dir: &Inode<Self>,
        inode: &Inode<Self>,
        new_name: &[u8],
        replaced: Option<&Inode<Self>>,
    ) -> Result {
        let _ = (dir, inode, new_name, replaced);
        Err(EROFS)
    }

    /// The in-memory inode changed (size, times, link count, owner, mode): take a copy for the
    /// next commit.
    fn dirty_inode(inode: &Inode<Self>) {
        let _ = inode;
    }

    /// The inode is being evicted, its page cache already gone. One without links is deleted.
    fn evict(inode: &Inode<Self>) {
        let _ = inode;
    }

    /// `truncate`: changes the size of `inode` (called with the inode locked).
    fn set_size(inode: &Inode<Self>, size: u64) -> Result {
        let _ = (inode, size);
        Err(EROFS)
    }

    /// Reserves `blocks` blocks of space for folios being dirtied; `ENOSPC` if there are none.
    fn reserve(sb: &SuperBlock<Self>, blocks: u64) -> Result {
        let _ = (sb, blocks);
        Ok(())
    }

    /// Returns a reservation that will not be used (the folio was truncated, or not dirtied).
    fn unreserve(sb: &SuperBlock<Self>, blocks: u64) {
        let _ = (sb, blocks);
    }

    /// Writeback of the dirty range `[pos, pos + len)` of `inode`, `reserved` of whose blocks
    /// were reserved: allocates disk space for a prefix of it. Returns the first block, the
    /// length granted (a multiple of the block size, not zero) and what the completion needs.
    fn writeback_alloc(
        inode: &Inode<Self>,
        pos: u64,
        len: u64,
        reserved: u64,
    ) -> Result<(u64, u64, Self::WriteCtx)> {
        let _ = (inode, pos, len, reserved);
        Err(EROFS)
    }

    /// A write bio completed (in process context, on the superblock's workqueue), before its
    /// folios end their writeback.
    fn writeback_done(inode: &Inode<Self>, ctx: Self::WriteCtx, result: Result) {
        let _ = (inode, ctx, result);
    }

    /// `fsync`/`fdatasync` of `[start, end]` (inclusive), after the range was written and
    /// waited for.
    fn fsync(inode: &Inode<Self>, start: u64, end: u64, datasync: bool) -> Result {
        let _ = (inode, start, end, datasync);
        Ok(())
    }

    /// `fallocate` (called with the inode locked).
    fn fallocate(inode: &Inode<Self>, mode: u32, offset: u64, len: u64) -> Result {
        let _ = (inode, mode, offset, len);
        Err(super::errno::eopnotsupp())
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
}

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
    /// Inode slots.
    pub files: u64,
    /// Free inode slots.
    pub free_files: u64,
    /// Longest name.
    pub name_max: u64,
}

/// The kind of an inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InodeType {
    /// A directory.
    Dir,
    /// A regular file.
    Reg,
}

/// What a new in-memory inode is made from.
pub struct InodeParams<D> {
    /// Directory or regular file.
    pub ty: InodeType,
    /// Permission bits.
    pub perm: u16,
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
    /// The file system's own state for the inode.
    pub data: D,
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
    /// Reads block `blk` (4 KiB) into a new buffer.
    pub fn read_block(&self, blk: u64) -> Result<KBox<[u8; BLOCK_SIZE]>> {
        // SAFETY: By the type invariant `sb` and its `s_bdev` are valid.
        let bdev = unsafe { (*self.sb).s_bdev };
        read_block(bdev, blk)
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

/// Reads block `blk` of `bdev` with a bio.
fn read_block(bdev: *mut bindings::block_device, blk: u64) -> Result<KBox<[u8; BLOCK_SIZE]>> {
    let buf = KBox::new([0u8; BLOCK_SIZE], GFP_KERNEL)?;
    let addr: *const [u8; BLOCK_SIZE] = &*buf;
    // SAFETY: A 4096-byte kmalloc buffer is naturally aligned (guaranteed since 5.4), so it
    // is exactly one page of the linear map.
    let page = unsafe { ffi::emfs_virt_to_page(addr.cast()) };
    // SAFETY: `bdev` is open; `page` stays allocated (owned by `buf`) until the bio completed,
    // since `submit_read` waits.
    submit_read(bdev, blk, |bio| unsafe {
        bindings::bio_add_page(bio, page, BLOCK_SIZE as u32, 0) == BLOCK_SIZE as i32
    })?;
    Ok(buf)
}

/// Allocates a bio with operation `opf` for up to `nr_vecs` segments, starting at block `blk`
/// of `bdev`.
fn alloc_bio(
    bdev: *mut bindings::block_device,
    blk: u64,
    nr_vecs: u16,
    opf: bindings::blk_opf_t,
) -> Result<*mut bindings::bio> {
    let sector = blk.checked_mul(BLOCK_SIZE as u64 / 512).ok_or(EINVAL)?;
    // SAFETY: `bdev` is an open device (callers hold its superblock); `fs_bio_set` is the
    // kernel's bio set for file systems, and with a sleeping GFP mask the allocation comes
    // from its mempool.
    let bio = unsafe {
        bindings::bio_alloc_bioset(
            bdev,
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
fn alloc_read_bio(
    bdev: *mut bindings::block_device,
    blk: u64,
    nr_vecs: u16,
) -> Result<*mut bindings::bio> {
    alloc_bio(bdev, blk, nr_vecs, bindings::req_op_REQ_OP_READ)
}

/// Allocates a read bio at block `blk` of `bdev`, lets `add` attach memory, submits and waits.
fn submit_read(
    bdev: *mut bindings::block_device,
    blk: u64,
    add: impl FnOnce(*mut bindings::bio) -> bool,
) -> Result {
    submit_wait(bdev, blk, bindings::req_op_REQ_OP_READ, add)
}

/// Allocates a bio with operation `opf` at block `blk` of `bdev`, lets `add` attach memory,
/// submits and waits.
fn submit_wait(
    bdev: *mut bindings::block_device,
    blk: u64,
    opf: bindings::blk_opf_t,
    add: impl FnOnce(*mut bindings::bio) -> bool,
) -> Result {
    let bio = alloc_bio(bdev, blk, 1, opf)?;
    let added = add(bio);
    // SAFETY: `bio` is ours; `submit_bio_wait` returns when the I/O completed, after which
    // nothing refers to the memory attached to it. `bio_put` drops our reference.
    let ret = unsafe {
        let ret = if added {
            bindings::submit_bio_wait(bio)
        } else {
            -(bindings::EIO as i32)
        };
        bindings::bio_put(bio);
        ret
    };
    to_result(ret)
}

/// Writes one block from `buf` to block `blk` of `bdev` and waits; with `fua`, the cache is
/// flushed first and the block is on stable storage when this returns.
fn write_block(
    bdev: *mut bindings::block_device,
    blk: u64,
    buf: &[u8; BLOCK_SIZE],
    fua: bool,
) -> Result {
    let addr: *const [u8; BLOCK_SIZE] = buf;
    if addr as usize % BLOCK_SIZE != 0 {
        return Err(EINVAL);
    }
    // SAFETY: The buffer is page-aligned (checked) kernel memory, one page of the linear map.
    let page = unsafe { ffi::emfs_virt_to_page(addr.cast()) };
    // SAFETY: A pure function of its argument.
    let opf = unsafe { ffi::emfs_write_opf(fua) };
    // SAFETY: `bdev` is open; `buf` is borrowed until `submit_wait` returned, after the I/O.
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

    fn bdev(&self) -> *mut bindings::block_device {
        // SAFETY: By the type invariant the superblock and its device are live.
        unsafe { (*self.0.get()).s_bdev }
    }

    /// Writes block `blk` and waits; with `fua` the device cache is flushed first and the block
    /// is on stable storage when this returns (a commit's superblock).
    pub fn write_block(&self, blk: u64, buf: &[u8; BLOCK_SIZE], fua: bool) -> Result {
        write_block(self.bdev(), blk, buf, fua)
    }

    /// Flushes the device's volatile write cache.
    pub fn flush(&self) -> Result {
        // SAFETY: The device is live.
        to_result(unsafe { bindings::blkdev_issue_flush(self.bdev()) })
    }

    /// Whether the file system is mounted read-only.
    pub fn is_read_only(&self) -> bool {
        // SAFETY: By the type invariant the superblock is live.
        unsafe { ffi::emfs_sb_rdonly(self.0.get()) }
    }

    /// Reads block `blk`.
    pub fn read_block(&self, blk: u64) -> Result<KBox<[u8; BLOCK_SIZE]>> {
        // SAFETY: By the type invariant the superblock and its device are live.
        read_block(unsafe { (*self.0.get()).s_bdev }, blk)
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
        // SAFETY: By the type invariant the device is live.
        let bdev = unsafe { (*self.0.get()).s_bdev };
        let f = folio.folio;
        // SAFETY: The folio is locked by the caller of `read_folio` and stays so until we end
        // the read; the range is inside it (checked above).
        submit_read(bdev, blk, |bio| unsafe {
            bindings::bio_add_folio(bio, f, len, offset)
        })
    }

    /// Gets inode `ino` from the inode cache, reading it with [`FileSystem::read_inode`] if it
    /// is not there.
    pub fn iget(&self, ino: u64) -> Result<ARef<Inode<T>>> {
        // SAFETY: The superblock is live; `iget_locked` returns a referenced inode or null.
        let inode = unsafe { bindings::iget_locked(self.0.get(), ino as _) };
        if inode.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: `inode` is valid and referenced (the reference is handed to the `ARef`).
        if !unsafe { ffi::emfs_inode_is_new(inode) } {
            // SAFETY: A cached inode was set up by a previous `iget`, so it is a `T` inode; the
            // reference from `iget_locked` becomes the `ARef`'s.
            return Ok(unsafe { ARef::from_raw(ptr::NonNull::new_unchecked(inode.cast())) });
        }
        match T::read_inode(self, ino) {
            Ok(params) => {
                // SAFETY: A new, locked inode is ours to initialise until `unlock_new_inode`.
                unsafe { init_inode::<T>(inode, params)? };
                // SAFETY: As above; the inode is fully set up.
                unsafe { bindings::unlock_new_inode(inode) };
                // SAFETY: The inode is a `T` inode now; the reference becomes the `ARef`'s.
                Ok(unsafe { ARef::from_raw(ptr::NonNull::new_unchecked(inode.cast())) })
            }
            Err(e) => {
                // SAFETY: A new inode that could not be read is unhashed and released.
                unsafe { bindings::iget_failed(inode) };
                Err(e)
            }
        }
    }
}

/// # Safety
///
/// `inode` must be a new (`I_NEW`, locked) inode of a `T` superblock.
unsafe fn init_inode<T: FileSystem>(
    inode: *mut bindings::inode,
    p: InodeParams<T::InodeData>,
) -> Result {
    let data = KBox::new(p.data, GFP_KERNEL);
    // SAFETY: The caller guarantees the inode is new and ours to initialise.
    unsafe {
        let i = &mut *inode;
        match p.ty {
            InodeType::Dir => {
                i.i_mode = (bindings::S_IFDIR as u16) | (p.perm & 0o7777);
                i.i_op = &Tables::<T>::DIR_INODE_OPS;
                i.__bindgen_anon_3.i_fop = &Tables::<T>::DIR_FILE_OPS;
            }
            InodeType::Reg => {
                i.i_mode = (bindings::S_IFREG as u16) | (p.perm & 0o7777);
                i.i_op = &Tables::<T>::FILE_INODE_OPS;
                i.__bindgen_anon_3.i_fop = &Tables::<T>::FILE_OPS;
                (*i.i_mapping).a_ops = &Tables::<T>::AOPS;
                // Clean folios carry no private data: ask for `release_folio` anyway.
                if T::HAS_RELEASE_FOLIO {
                    ffi::emfs_mapping_set_release_always(i.i_mapping);
                }
            }
        }
        i.i_size = p.size;
        i.i_uid = bindings::kuid_t { val: p.uid };
        i.i_gid = bindings::kgid_t { val: p.gid };
        i.i_atime_sec = p.atime.0;
        i.i_atime_nsec = p.atime.1;
        i.i_mtime_sec = p.mtime.0;
        i.i_mtime_nsec = p.mtime.1;
        i.i_ctime_sec = p.ctime.0;
        i.i_ctime_nsec = p.ctime.1;
        bindings::set_nlink(inode, p.nlink);
    }
    let data = data?;
    // SAFETY: As above; `i_private` is released in `evict_inode`.
    unsafe { (*inode).i_private = KBox::into_raw(data).cast() };
    Ok(())
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

    /// The attributes as the VFS holds them now.
    pub fn attrs(&self) -> InodeAttrs {
        // SAFETY: The fields are plain words; callers that need a consistent set hold the inode
        // lock or run where the VFS serialises changes (`dirty_inode`).
        unsafe {
            let i = &*self.raw();
            InodeAttrs {
                mode: i.i_mode,
                nlink: ptr::read_volatile(ptr::addr_of!(i.__bindgen_anon_1.i_nlink)),
                size: self.size(),
                uid: i.i_uid.val,
                gid: i.i_gid.val,
                atime: (i.i_atime_sec, i.i_atime_nsec),
                mtime: (i.i_mtime_sec, i.i_mtime_nsec),
                ctime: (i.i_ctime_sec, i.i_ctime_nsec),
            }
        }
    }

    /// Sets the size (`i_size_write`) and marks the inode dirty. Callers hold the inode lock.
    pub fn set_size(&self, size: u64) -> Result {
        let size = i64::try_from(size).map_err(|_| EFBIG)?;
        // SAFETY: The inode is live; the caller holds its lock, which `i_size_write` needs.
        unsafe {
            ffi::emfs_i_size_write(self.raw(), size);
            ffi::emfs_mark_inode_dirty(self.raw());
        }
        Ok(())
    }

    /// Sets the size and drops the page cache beyond it (`truncate_setsize`), waiting for
    /// writeback of what is dropped. Callers hold the inode lock.
    pub fn truncate_setsize(&self, size: u64) -> Result {
        let size = i64::try_from(size).map_err(|_| EFBIG)?;
        // SAFETY: The inode is live and locked by the caller.
        unsafe { bindings::truncate_setsize(self.raw(), size) };
        Ok(())
    }

    /// Drops the page cache of the blocks inside `[start, end]` (inclusive), zeroing the parts
    /// of partial folios at the ends (`truncate_pagecache_range`).
    pub fn truncate_pagecache_range(&self, start: u64, end: u64) -> Result {
        let start = i64::try_from(start).map_err(|_| EINVAL)?;
        let end = i64::try_from(end).map_err(|_| EINVAL)?;
        // SAFETY: The inode is live and locked by the caller.
        unsafe { bindings::truncate_pagecache_range(self.raw(), start, end) };
        Ok(())
    }

    /// Writes the dirty page cache of `[start, end]` (inclusive) and waits for it.
    pub fn write_and_wait(&self, start: u64, end: u64) -> Result {
        let start = i64::try_from(start).map_err(|_| EINVAL)?;
        let end = i64::try_from(end.min(i64::MAX as u64)).map_err(|_| EINVAL)?;
        // SAFETY: The inode and its mapping are live.
        to_result(unsafe {
            ffi::emfs_filemap_write_and_wait_range((*self.raw()).i_mapping, start, end)
        })
    }

    /// Writes zeros over `[pos, pos + len)`, which must lie inside one block, through the page
    /// cache as a `write` would (space reserved, folio dirtied). Does not change the size.
    pub fn zero_range(&self, pos: u64, len: u64) -> Result {
        if len == 0 {
            return Ok(());
        }
        let bs = BLOCK_SIZE as u64;
        if pos % bs + len > bs {
            return Err(EINVAL);
        }
        let ipos = i64::try_from(pos).map_err(|_| EINVAL)?;
        // SAFETY: The inode and its mapping are live; the caller holds the inode lock as the
        // write path does.
        let mapping = unsafe { (*self.raw()).i_mapping };
        let folio = write_begin::<T>(mapping, ipos, len as usize)?;
        // SAFETY: `write_begin` returned the locked folio containing the range.
        unsafe { ffi::emfs_folio_zero_range(folio, (pos % bs) as usize, len as usize) };
        write_end::<T>(mapping, ipos, len as usize, len as usize, folio, false);
        Ok(())
    }
}

/// A folio locked for reading, handed to [`FileSystem::read_folio`].
///
/// # Invariants
///
/// `folio` is locked and not uptodate; the trampoline ends the read when the callback returns.
pub struct LockedFolio<'a> {
    folio: *mut bindings::folio,
    _p: PhantomData<&'a ()>,
}

impl LockedFolio<'_> {
    /// The file position of the folio's first byte.
    pub fn pos(&self) -> i64 {
        // SAFETY: By the type invariant the folio is locked, so its index is stable.
        unsafe { ffi::emfs_folio_pos(self.folio) }
    }

    /// The folio's size in bytes.
    pub fn size(&self) -> usize {
        // SAFETY: As in `pos`.
        unsafe { ffi::emfs_folio_size(self.folio) }
    }

    /// Fills `[offset, offset + len)` of the folio with zeros.
    pub fn zero(&mut self, offset: usize, len: usize) -> Result {
        if offset.checked_add(len).map_or(true, |e| e > self.size()) {
            return Err(EINVAL);
        }
        // SAFETY: The folio is locked and ours to fill; the range is inside it.
        unsafe { ffi::emfs_folio_zero_range(self.folio, offset, len) };
        Ok(())
    }
}

/// The folios of a readahead request.
///
/// # Invariants
///
/// `rac` is the `readahead_control` of the running `readahead` call.
pub struct Readahead<'a> {
    rac: *mut bindings::readahead_control,
    _p: PhantomData<&'a mut ()>,
}

impl Readahead<'_> {
    /// The next folio to read, locked; `None` at the end of the batch.
    pub fn next_folio(&mut self) -> Option<ReadaheadFolio> {
        // SAFETY: By the type invariant `rac` is valid for the call.
        let folio = unsafe { ffi::emfs_readahead_folio(self.rac) };
        if folio.is_null() {
            return None;
        }
        // INVARIANT: `readahead_folio` returns a locked folio the page cache holds. (Built only
        // for a real folio: its drop ends a read.)
        Some(ReadaheadFolio { folio })
    }
}

/// A locked folio of a readahead batch. Dropped unfinished, its read ends as failed (a later
/// `read_folio` retries it).
///
/// # Invariants
///
/// `folio` is locked, not uptodate, held by the page cache, and this object is the only one
/// that will end its read.
pub struct ReadaheadFolio {
    folio: *mut bindings::folio,
}

impl ReadaheadFolio {
    /// The file position of the folio's first byte.
    pub fn pos(&self) -> i64 {
        // SAFETY: By the type invariant the folio is locked, so its index is stable.
        unsafe { ffi::emfs_folio_pos(self.folio) }
    }

    /// The folio's size in bytes.
    pub fn size(&self) -> usize {
        // SAFETY: As in `pos`.
        unsafe { ffi::emfs_folio_size(self.folio) }
    }

    fn finish(self, ok: bool) {
        // SAFETY: By the type invariant we end the read, once: `self` is forgotten.
        unsafe { ffi::folio_end_read(self.folio, ok) };
        core::mem::forget(self);
    }

    /// Fills the folio with zeros and ends its read.
    pub fn zero_and_finish(self) {
        // SAFETY: The folio is locked and ours to fill.
        unsafe { ffi::emfs_folio_zero_range(self.folio, 0, self.size()) };
        self.finish(true);
    }

    /// Reads the folio synchronously with `read` (as `read_folio` would) and ends its read.
    pub fn read_with(self, read: impl FnOnce(&mut LockedFolio<'_>) -> Result) -> Result {
        // INVARIANT: The folio is locked and not uptodate; we end the read below.
        let mut locked = LockedFolio {
            folio: self.folio,
            _p: PhantomData,
        };
        let r = read(&mut locked);
        self.finish(r.is_ok());
        r
    }
}

impl Drop for ReadaheadFolio {
    fn drop(&mut self) {
        // SAFETY: By the type invariant nobody else ends the read.
        unsafe { ffi::folio_end_read(self.folio, false) };
    }
}

/// Gathers whole folios whose data is contiguous on disk into large read bios, submitted
/// asynchronously; their completion ends the reads.
///
/// # Invariants
///
/// `bio`, if not null, is an unsubmitted read bio we own, set to end the reads of its folios on
/// completion, whose data ends at block `next_blk`.
pub struct ReadBatch<'a, T: FileSystem> {
    sb: &'a SuperBlock<T>,
    bio: *mut bindings::bio,
    next_blk: u64,
}

impl<'a, T: FileSystem> ReadBatch<'a, T> {
    /// An empty batch on `sb`'s device.
    pub fn new(sb: &'a SuperBlock<T>) -> Self {
        Self {
            sb,
            bio: ptr::null_mut(),
            next_blk: 0,
        }
    }

    /// Reads `folio` from block `blk` on: into the open bio if it continues it on disk and has
    /// room, else into a new one (the open one is submitted).
    pub fn add(&mut self, folio: ReadaheadFolio, blk: u64) -> Result {
        let size = folio.size();
        let blocks = (size / BLOCK_SIZE) as u64;
        if !self.bio.is_null() && blk == self.next_blk {
            // SAFETY: By the type invariant `bio` is ours and unsubmitted; the folio is locked,
            // and if it is added its read is ended by the bio's completion.
            if unsafe { bindings::bio_add_folio(self.bio, folio.folio, size, 0) } {
                self.next_blk += blocks;
                core::mem::forget(folio);
                return Ok(());
            }
        }
        self.submit();
        // SAFETY: By the `SuperBlock` invariant its device is live.
        let bdev = unsafe { (*self.sb.0.get()).s_bdev };
        let bio = alloc_read_bio(bdev, blk, bindings::BIO_MAX_VECS as u16)?;
        // SAFETY: `bio` is new and ours; the folio is locked, and once added its read is ended
        // by the bio's completion.
        let added = unsafe {
            ffi::emfs_bio_set_read_end_io(bio);
            bindings::bio_add_folio(bio, folio.folio, size, 0)
        };
        if !added {
            // SAFETY: The bio holds nothing; we drop it. The folio is ended by its drop.
            unsafe { bindings::bio_put(bio) };
            return Err(EIO);
        }
        core::mem::forget(folio);
        // INVARIANT: A new unsubmitted bio ending at `blk + blocks`.
        self.bio = bio;
        self.next_blk = blk + blocks;
        Ok(())
    }

    /// Submits the open bio, if any.
    pub fn submit(&mut self) {
        if !self.bio.is_null() {
            // SAFETY: By the type invariant the bio is ours and unsubmitted; its completion ends
            // the reads and puts it.
            unsafe { bindings::submit_bio(self.bio) };
            // INVARIANT: No open bio.
            self.bio = ptr::null_mut();
        }
    }
}

impl<T: FileSystem> Drop for ReadBatch<'_, T> {
    fn drop(&mut self) {
        self.submit();
    }
}

/// Emits directory entries into a `readdir` buffer.
///
/// # Invariants
///
/// `ctx` is the `dir_context` of the running `iterate_shared` call.
pub struct DirEmitter<'a> {
    ctx: *mut bindings::dir_context,
    _p: PhantomData<&'a mut ()>,
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
            // SAFETY: As above.
            unsafe { (*self.ctx).pos = next_pos };
        }
        ok
    }
}

/// The operation tables of file system `T`.
struct Tables<T>(PhantomData<T>);

impl<T: FileSystem> Tables<T> {
    const SUPER_OPS: bindings::super_operations = bindings::super_operations {
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
        // SAFETY: All-zero is a valid `super_operations`: no other operation.
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    const DIR_INODE_OPS: bindings::inode_operations = bindings::inode_operations {
        lookup: Some(lookup_callback::<T>),
        create: if T::HAS_CREATE {
            Some(create_callback::<T>)
        } else {
            None
        },
        unlink: if T::HAS_UNLINK {
            Some(unlink_callback::<T>)
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
        // SAFETY: As above.
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    const DIR_FILE_OPS: bindings::file_operations = bindings::file_operations {
        llseek: Some(bindings::generic_file_llseek),
        read: Some(bindings::generic_read_dir),
        iterate_shared: Some(iterate_shared_callback::<T>),
        // Names are made durable with the rest: `FileSystem::fsync` on the directory.
        fsync: if T::HAS_FSYNC {
            Some(fsync_callback::<T>)
        } else {
            Some(bindings::noop_fsync)
        },
        // SAFETY: As above.
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    const FILE_INODE_OPS: bindings::inode_operations = bindings::inode_operations {
        setattr: if T::HAS_SET_SIZE {
            Some(setattr_callback::<T>)
        } else {
            None
        },
        // SAFETY: As above: the defaults (generic getattr and permission checks).
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    const FILE_OPS: bindings::file_operations = bindings::file_operations {
        llseek: Some(bindings::generic_file_llseek),
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
        // SAFETY: As above.
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    const VM_OPS: bindings::vm_operations_struct = bindings::vm_operations_struct {
        fault: Some(bindings::filemap_fault),
        map_pages: Some(bindings::filemap_map_pages),
        page_mkwrite: Some(page_mkwrite_callback::<T>),
        // SAFETY: As above.
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    const AOPS: bindings::address_space_operations = bindings::address_space_operations {
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
        // SAFETY: As above.
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };
}

/// The name of a dentry, valid while the VFS holds the dentry's parent locked.
///
/// # Safety
///
/// `dentry` must be valid and its name stable for `'a`.
unsafe fn dentry_name<'a>(dentry: *mut bindings::dentry) -> &'a [u8] {
    // SAFETY: As the caller guarantees.
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
/// `inode` must be live.
unsafe fn touch(inode: *mut bindings::inode, mtime: bool) {
    // SAFETY: As the caller guarantees.
    unsafe {
        let ts = bindings::inode_set_ctime_current(inode);
        if mtime {
            (*inode).i_mtime_sec = ts.tv_sec;
            (*inode).i_mtime_nsec = ts.tv_nsec as u32;
        }
        ffi::emfs_mark_inode_dirty(inode);
    }
}

/// # Safety
///
/// Called by the VFS with a `T` directory, locked, and a negative dentry in it.
unsafe extern "C" fn create_callback<T: FileSystem>(
    _idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    mode: bindings::umode_t,
    _excl: bool,
) -> core::ffi::c_int {
    // SAFETY: The directory is locked, so the dentry's name is stable; it is a `T` directory.
    let (dir_ref, name) = unsafe { (Inode::<T>::from_raw(dir), dentry_name(dentry)) };
    from_result(|| {
        if u32::from(mode) & bindings::S_IFMT != bindings::S_IFREG {
            return Err(EINVAL);
        }
        // SAFETY: Reads the calling task's credentials.
        let owner = unsafe { (ffi::emfs_current_fsuid(), ffi::emfs_current_fsgid()) };
        let ino = T::create(dir_ref, name, mode & 0o7777, owner)?;
        let inode = dir_ref.super_block().iget(ino)?;
        // SAFETY: `d_instantiate` takes the inode reference; the directory is live and locked.
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
unsafe extern "C" fn unlink_callback<T: FileSystem>(
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
) -> core::ffi::c_int {
    // SAFETY: The VFS holds the directory and the dentry, whose inode is a `T` one, locked.
    let (dir_ref, inode) = unsafe { (Inode::<T>::from_raw(dir), ffi::emfs_d_inode(dentry)) };
    // SAFETY: As above.
    let inode_ref = unsafe { Inode::<T>::from_raw(inode) };
    from_result(|| {
        T::unlink(dir_ref, inode_ref)?;
        // SAFETY: Both inodes are live and locked.
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
unsafe extern "C" fn rename_callback<T: FileSystem>(
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
    // SAFETY: As above.
    let inode_ref = unsafe { Inode::<T>::from_raw(inode) };
    // SAFETY: As above.
    let target_ref = (!target.is_null()).then(|| unsafe { Inode::<T>::from_raw(target) });
    from_result(|| {
        T::rename(dir_ref, inode_ref, new_name, target_ref)?;
        // SAFETY: The inodes are live and locked by the VFS for the rename.
        unsafe {
            if !target.is_null() {
                bindings::drop_nlink(target);
                touch(target, false);
            }
            touch(inode, false);
            touch(old_dir, true);
        }
        Ok(0)
    })
}

/// # Safety
///
/// Called by `notify_change` with a dentry of a `T` inode, locked.
unsafe extern "C" fn setattr_callback<T: FileSystem>(
    idmap: *mut bindings::mnt_idmap,
    dentry: *mut bindings::dentry,
    attr: *mut bindings::iattr,
) -> core::ffi::c_int {
    from_result(|| {
        // SAFETY: The VFS holds the dentry and its inode, locked, for the call.
        unsafe {
            to_result(bindings::setattr_prepare(idmap, dentry, attr))?;
            let inode = ffi::emfs_d_inode(dentry);
            let inode_ref = Inode::<T>::from_raw(inode);
            if (*attr).ia_valid & bindings::ATTR_SIZE != 0 && (*attr).ia_size != inode_ref.size() {
                let size = u64::try_from((*attr).ia_size).map_err(|_| EINVAL)?;
                T::set_size(inode_ref, size)?;
            }
            bindings::setattr_copy(idmap, inode, attr);
            ffi::emfs_mark_inode_dirty(inode);
        }
        Ok(0)
    })
}

/// Gets the folio at `pos` locked for a write of `len` bytes in it, with a block reserved for
/// it and, if the write does not cover it, its old data read (or zeros past the end).
fn write_begin<T: FileSystem>(
    mapping: *mut bindings::address_space,
    pos: i64,
    len: usize,
) -> Result<*mut bindings::folio> {
    let mut err = 0;
    // SAFETY: `mapping` is the live mapping of a `T` regular file (callers hold the inode).
    let folio = unsafe { ffi::emfs_write_begin_folio(mapping, pos, &mut err) };
    if folio.is_null() {
        return Err(Error::from_errno(err));
    }
    // SAFETY: As above.
    let inode = unsafe { Inode::<T>::from_raw((*mapping).host) };
    let give_up = |e: Error, reserved_here: bool| {
        // SAFETY: The folio is locked and referenced by us; a reservation taken here is
        // returned with its marker.
        unsafe {
            if reserved_here && ffi::emfs_folio_clear_reserved(folio) {
                T::unreserve(inode.super_block(), 1);
            }
            ffi::emfs_folio_unlock(folio);
            ffi::emfs_folio_put(folio);
        }
        e
    };
    let mut reserved_here = false;
    // SAFETY: The folio is locked.
    if !unsafe { ffi::emfs_folio_reserved(folio) } {
        T::reserve(inode.super_block(), 1).map_err(|e| give_up(e, false))?;
        // SAFETY: As above.
        unsafe { ffi::emfs_folio_set_reserved(folio) };
        reserved_here = true;
    }
    // SAFETY: As above.
    let (uptodate, fpos, fsize) = unsafe {
        (
            ffi::emfs_folio_test_uptodate(folio),
            ffi::emfs_folio_pos(folio),
            ffi::emfs_folio_size(folio),
        )
    };
    if !uptodate && len != fsize {
        if fpos >= inode.size() {
            // SAFETY: As above; nothing past the end is on disk.
            unsafe {
                ffi::emfs_folio_zero_range(folio, 0, fsize);
                ffi::emfs_folio_mark_uptodate(folio);
            }
        } else {
            // INVARIANT: Locked and not uptodate; we own it until `write_end`.
            let mut locked = LockedFolio {
                folio,
                _p: PhantomData,
            };
            T::read_folio(inode, &mut locked).map_err(|e| give_up(e, reserved_here))?;
            // SAFETY: As above; its data is read.
            unsafe { ffi::emfs_folio_mark_uptodate(folio) };
        }
    }
    Ok(folio)
}

/// Ends a write into a folio from [`write_begin`]: dirties it and, with `grow`, extends the
/// size. Returns `copied`.
fn write_end<T: FileSystem>(
    mapping: *mut bindings::address_space,
    pos: i64,
    len: usize,
    copied: usize,
    folio: *mut bindings::folio,
    grow: bool,
) -> usize {
    // SAFETY: `mapping` is the live mapping of a `T` regular file and `folio` the locked,
    // referenced folio `write_begin` returned; both references end here.
    unsafe {
        let inode = Inode::<T>::from_raw((*mapping).host);
        if !ffi::emfs_folio_test_uptodate(folio) {
            if copied < len {
                let from = (pos as usize) % ffi::emfs_folio_size(folio);
                ffi::emfs_folio_zero_range(folio, from + copied, len - copied);
            }
            ffi::emfs_folio_mark_uptodate(folio);
        }
        let end = pos + copied as i64;
        let grew = grow && copied > 0 && end > inode.size();
        if copied > 0 {
            if grew {
                ffi::emfs_i_size_write(inode.raw(), end);
            }
            bindings::folio_mark_dirty(folio);
        } else if !ffi::emfs_folio_test_dirty(folio) && ffi::emfs_folio_clear_reserved(folio) {
            T::unreserve(inode.super_block(), 1);
        }
        ffi::emfs_folio_unlock(folio);
        ffi::emfs_folio_put(folio);
        if grew {
            ffi::emfs_mark_inode_dirty(inode.raw());
        }
    }
    copied
}

/// # Safety
///
/// Called by `generic_perform_write` on a `T` regular file, inode locked.
unsafe extern "C" fn write_begin_callback<T: FileSystem>(
    _file: *mut bindings::file,
    mapping: *mut bindings::address_space,
    pos: bindings::loff_t,
    len: core::ffi::c_uint,
    foliop: *mut *mut bindings::folio,
    _fsdata: *mut *mut core::ffi::c_void,
) -> core::ffi::c_int {
    match write_begin::<T>(mapping, pos, len as usize) {
        Ok(folio) => {
            // SAFETY: `foliop` is valid for writes.
            unsafe { *foliop = folio };
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// Called by `generic_perform_write` with the folio `write_begin_callback` returned.
unsafe extern "C" fn write_end_callback<T: FileSystem>(
    _file: *mut bindings::file,
    mapping: *mut bindings::address_space,
    pos: bindings::loff_t,
    len: core::ffi::c_uint,
    copied: core::ffi::c_uint,
    folio: *mut bindings::folio,
    _fsdata: *mut core::ffi::c_void,
) -> core::ffi::c_int {
    write_end::<T>(mapping, pos, len as usize, copied as usize, folio, true) as i32
}

/// # Safety
///
/// Called by the page cache with a locked folio of a `T` file being truncated or punched.
unsafe extern "C" fn invalidate_folio_callback<T: FileSystem>(
    folio: *mut bindings::folio,
    offset: usize,
    len: usize,
) {
    // SAFETY: The folio is locked, so its mapping and host are stable and live.
    unsafe {
        if offset == 0
            && len == ffi::emfs_folio_size(folio)
            && ffi::emfs_folio_clear_reserved(folio)
        {
            // Its dirty data is thrown away: the block it reserved will not be written.
            let inode = Inode::<T>::from_raw(ffi::emfs_folio_inode(folio));
            T::unreserve(inode.super_block(), 1);
        }
    }
}

/// # Safety
///
/// Called by the fault handler for a write fault on a shared mapping of a `T` file.
unsafe extern "C" fn page_mkwrite_callback<T: FileSystem>(
    vmf: *mut bindings::vm_fault,
) -> bindings::vm_fault_t {
    // SAFETY: The mapped file keeps its inode live; the folio is referenced by the fault.
    unsafe {
        let inode = ffi::emfs_vmf_inode(vmf);
        let inode_ref = Inode::<T>::from_raw(inode);
        let folio = ffi::emfs_vmf_folio(vmf);
        let sb = (*inode).i_sb;
        ffi::emfs_sb_start_pagefault(sb);
        bindings::file_update_time((*(*vmf).__bindgen_anon_1.vma).vm_file);
        ffi::emfs_folio_lock(folio);
        let ret = if ffi::emfs_folio_mapping(folio) != (*inode).i_mapping
            || ffi::emfs_folio_pos(folio) >= inode_ref.size()
        {
            // Truncated meanwhile: let the fault retry.
            ffi::emfs_folio_unlock(folio);
            bindings::vm_fault_reason_VM_FAULT_NOPAGE
        } else if !ffi::emfs_folio_reserved(folio)
            && T::reserve(inode_ref.super_block(), 1).is_err()
        {
            ffi::emfs_folio_unlock(folio);
            bindings::vm_fault_reason_VM_FAULT_SIGBUS
        } else {
            if !ffi::emfs_folio_reserved(folio) {
                ffi::emfs_folio_set_reserved(folio);
            }
            bindings::folio_mark_dirty(folio);
            ffi::emfs_folio_wait_stable(folio);
            bindings::vm_fault_reason_VM_FAULT_LOCKED
        };
        ffi::emfs_sb_end_pagefault(sb);
        ret as bindings::vm_fault_t
    }
}

/// # Safety
///
/// Called by `mmap` on an open `T` regular file.
unsafe extern "C" fn mmap_callback<T: FileSystem>(
    file: *mut bindings::file,
    vma: *mut bindings::vm_area_struct,
) -> core::ffi::c_int {
    // SAFETY: The file and the new vma are valid for the call; the table is static.
    unsafe {
        ffi::emfs_file_accessed(file);
        (*vma).vm_ops = &Tables::<T>::VM_OPS;
    }
    0
}

/// A write bio in flight: handed to the bio as `bi_private`, completed on the workqueue.
///
/// # Invariants
///
/// `work` is initialised to run [`write_work::<T>`]; `bio` is the bio this was attached to,
/// whose folios (of `inode`) are under writeback until `write_work` ends it. The inode lives
/// until then: eviction waits for the writeback of every folio (`truncate_inode_pages_final`)
/// before it frees the inode. (No reference is taken: writeback may run on an inode nobody
/// holds, even one being evicted, where `ihold`/`igrab` are not allowed.)
#[repr(C)]
struct WriteIo<T: FileSystem> {
    work: bindings::work_struct,
    bio: *mut bindings::bio,
    wq: *mut bindings::workqueue_struct,
    inode: *mut bindings::inode,
    ctx: T::WriteCtx,
}

/// # Safety
///
/// The completion of a bio set up by [`submit_write`].
unsafe extern "C" fn write_end_io<T: FileSystem>(bio: *mut bindings::bio) {
    // SAFETY: `bi_private` is the `WriteIo` of this bio; its workqueue lives until every write
    // completed (`put_super` flushes it). Interrupt context: the work runs the completion.
    unsafe {
        let io = (*bio).bi_private.cast::<WriteIo<T>>();
        ffi::emfs_queue_work((*io).wq, ptr::addr_of_mut!((*io).work));
    }
}

/// # Safety
///
/// Runs on the superblock's workqueue for a `WriteIo<T>` queued by [`write_end_io`].
unsafe extern "C" fn write_work<T: FileSystem>(work: *mut bindings::work_struct) {
    // SAFETY: `work` is the first field of a leaked `KBox<WriteIo<T>>` (`repr(C)`), which
    // nothing else refers to now.
    let io = unsafe { KBox::from_raw(work.cast::<WriteIo<T>>()) };
    let WriteIo {
        bio, inode, ctx, ..
    } = KBox::into_inner(io);
    // SAFETY: The bio completed. By the `WriteIo` invariant the inode is live while its folios
    // are under writeback, which they are until below.
    let status = unsafe { ffi::emfs_bio_status(bio) };
    // SAFETY: As above.
    T::writeback_done(unsafe { Inode::from_raw(inode) }, ctx, to_result(status));
    // SAFETY: The bio is ours; its folios end their writeback (after the file system recorded
    // it), then the bio goes. The inode is not touched after this.
    unsafe {
        ffi::emfs_bio_end_writeback(bio);
        bindings::bio_put(bio);
    }
}

/// Writes the locked folios `folios`, contiguous in `inode` from `pos`, to disk from block
/// `blk`, completing with `ctx`. Their writeback starts and they are unlocked.
///
/// # Safety
///
/// The folios must be locked, dirty-cleared for I/O by `writeback_iter`, of `inode`.
unsafe fn submit_write<T: FileSystem>(
    inode: &Inode<T>,
    folios: &[*mut bindings::folio],
    blk: u64,
    ctx: T::WriteCtx,
) -> Result<(), T::WriteCtx> {
    let sb = inode.super_block();
    // SAFETY: A pure function.
    let opf = unsafe { ffi::emfs_data_write_opf() };
    let Ok(bio) = alloc_bio(sb.bdev(), blk, folios.len() as u16, opf) else {
        return Err(ctx);
    };
    let slot = {
        let _nofs = super::nofs::NoFsScope::enter();
        KBox::<WriteIo<T>>::new_uninit(GFP_KERNEL)
    };
    let Ok(slot) = slot else {
        // SAFETY: The bio is ours and empty.
        unsafe { bindings::bio_put(bio) };
        return Err(ctx);
    };
    let io = KBox::into_raw(KBox::write(
        slot,
        WriteIo {
            // SAFETY: All-zero is a valid not-yet-initialised `work_struct`.
            work: unsafe { core::mem::zeroed() },
            bio,
            wq: sb.info().wq,
            inode: inode.raw(),
            ctx,
        },
    ));
    // SAFETY: The bio is ours and has one vector per folio; the folios are locked (caller).
    let added = folios
        .iter()
        .all(|&f| unsafe { bindings::bio_add_folio(bio, f, ffi::emfs_folio_size(f), 0) });
    if !added {
        // SAFETY: Nothing was submitted: the bio and `io` are still ours.
        let io = unsafe {
            bindings::bio_put(bio);
            KBox::from_raw(io)
        };
        return Err(KBox::into_inner(io).ctx);
    }
    // SAFETY: `io` and `bio` are ours; the folios are locked (caller) and in the bio. From
    // `submit_bio` on, the completion owns `io`.
    unsafe {
        ffi::emfs_init_work(ptr::addr_of_mut!((*io).work), Some(write_work::<T>));
        for &folio in folios {
            ffi::emfs_folio_start_writeback(folio);
            ffi::emfs_folio_unlock(folio);
        }
        (*bio).bi_private = io.cast();
        (*bio).bi_end_io = Some(write_end_io::<T>);
        bindings::submit_bio(bio);
    }
    Ok(())
}

/// Most folios written by one bio: 256 KiB.
const WRITE_BATCH: usize = 64;

/// Writes `folios` (locked, contiguous from `pos`): space from the file system, a bio per
/// contiguous allocation. Folios that cannot be written are redirtied and unlocked.
///
/// # Safety
///
/// As [`submit_write`]; `wbc` is the running writeback control.
unsafe fn write_batch<T: FileSystem>(
    inode: &Inode<T>,
    wbc: *mut bindings::writeback_control,
    pos: u64,
    folios: &[*mut bindings::folio],
) -> Result {
    let bs = BLOCK_SIZE as u64;
    let mut done = 0usize;
    let mut result = Ok(());
    while done < folios.len() {
        let rest = &folios[done..];
        // The reservations of these folios become the allocation.
        // SAFETY: The folios are locked.
        let reserved = rest
            .iter()
            .filter(|&&f| unsafe { ffi::emfs_folio_clear_reserved(f) })
            .count() as u64;
        let at = pos + done as u64 * bs;
        let granted = T::writeback_alloc(inode, at, rest.len() as u64 * bs, reserved);
        let (blk, len, ctx) = match granted {
            Ok(g) => g,
            Err(e) => {
                result = Err(e);
                break;
            }
        };
        let n = ((len / bs) as usize).clamp(1, rest.len());
        // SAFETY: As the caller guarantees.
        if let Err(ctx) = unsafe { submit_write(inode, &rest[..n], blk, ctx) } {
            T::writeback_done(inode, ctx, Err(ENOMEM));
            result = Err(ENOMEM);
            break;
        }
        done += n;
    }
    for &folio in &folios[done..] {
        // SAFETY: Locked folios we did not write: dirty again, for a later writeback.
        unsafe {
            bindings::folio_redirty_for_writepage(wbc, folio);
            ffi::emfs_folio_unlock(folio);
        }
    }
    result
}

/// # Safety
///
/// Called by writeback with the mapping of a `T` regular file.
unsafe extern "C" fn writepages_callback<T: FileSystem>(
    mapping: *mut bindings::address_space,
    wbc: *mut bindings::writeback_control,
) -> core::ffi::c_int {
    // SAFETY: Writeback holds the inode live.
    let inode = unsafe { Inode::<T>::from_raw((*mapping).host) };
    let bs = BLOCK_SIZE as u64;
    let mut batch = [ptr::null_mut::<bindings::folio>(); WRITE_BATCH];
    let mut n = 0usize;
    let mut batch_pos = 0u64;
    let mut err: core::ffi::c_int = 0;
    let mut result = Ok(());
    let mut folio = ptr::null_mut();
    loop {
        // SAFETY: The iterator protocol: pass back the previous folio (unlocked or held by our
        // batch), get the next dirty one locked and cleared for I/O.
        folio = unsafe { bindings::writeback_iter(mapping, wbc, folio, &mut err) };
        if folio.is_null() {
            break;
        }
        // SAFETY: The folio is locked.
        let (fpos, fsize) = unsafe { (ffi::emfs_folio_pos(folio), ffi::emfs_folio_size(folio)) };
        let isize = inode.size();
        if fpos >= isize {
            // Past the end (a truncate is dropping it): nothing to write.
            // SAFETY: As above.
            unsafe { ffi::emfs_folio_unlock(folio) };
            continue;
        }
        if fpos + fsize as i64 > isize {
            // The part past the end must reach the disk as zeros: a later extension reads it.
            let from = (isize - fpos) as usize;
            // SAFETY: As above.
            unsafe { ffi::emfs_folio_zero_range(folio, from, fsize - from) };
        }
        let fpos = fpos as u64;
        if n > 0 && (n == WRITE_BATCH || fpos != batch_pos + n as u64 * bs) {
            // SAFETY: The batch holds locked folios of this inode, contiguous from `batch_pos`.
            let r = unsafe { write_batch(inode, wbc, batch_pos, &batch[..n]) };
            result = result.and(r);
            n = 0;
        }
        if n == 0 {
            batch_pos = fpos;
        }
        batch[n] = folio;
        n += 1;
    }
    if n > 0 {
        // SAFETY: As above.
        let r = unsafe { write_batch(inode, wbc, batch_pos, &batch[..n]) };
        result = result.and(r);
    }
    match result {
        Err(e) => e.to_errno(),
        Ok(()) => err,
    }
}

/// # Safety
///
/// Called by `vfs_fsync_range` on an open `T` file or directory.
unsafe extern "C" fn fsync_callback<T: FileSystem>(
    file: *mut bindings::file,
    start: bindings::loff_t,
    end: bindings::loff_t,
    datasync: core::ffi::c_int,
) -> core::ffi::c_int {
    from_result(|| {
        // SAFETY: The open file keeps its inode live.
        let inode = unsafe {
            to_result(bindings::file_write_and_wait_range(file, start, end))?;
            Inode::<T>::from_raw(ffi::emfs_file_inode(file))
        };
        let start = u64::try_from(start).map_err(|_| EINVAL)?;
        let end = u64::try_from(end).unwrap_or(u64::MAX);
        T::fsync(inode, start, end, datasync != 0)?;
        Ok(0)
    })
}

/// # Safety
///
/// Called by `vfs_fallocate` on an open `T` regular file.
unsafe extern "C" fn fallocate_callback<T: FileSystem>(
    file: *mut bindings::file,
    mode: core::ffi::c_int,
    offset: bindings::loff_t,
    len: bindings::loff_t,
) -> kernel::ffi::c_long {
    // SAFETY: The open file keeps its inode live.
    let inode = unsafe { ffi::emfs_file_inode(file) };
    // SAFETY: As above.
    let inode_ref = unsafe { Inode::<T>::from_raw(inode) };
    let (Ok(offset), Ok(len)) = (u64::try_from(offset), u64::try_from(len)) else {
        return EINVAL.to_errno() as kernel::ffi::c_long;
    };
    // SAFETY: The inode is live; `fallocate` runs under its lock, as `truncate` does.
    unsafe { ffi::emfs_inode_lock(inode) };
    let r = T::fallocate(inode_ref, mode as u32, offset, len);
    // SAFETY: Locked above.
    unsafe { ffi::emfs_inode_unlock(inode) };
    match r {
        Ok(()) => 0,
        Err(e) => e.to_errno() as kernel::ffi::c_long,
    }
}

/// # Safety
///
/// Called by the VFS when an inode of a `T` superblock is dirtied.
unsafe extern "C" fn dirty_inode_callback<T: FileSystem>(
    inode: *mut bindings::inode,
    _flags: core::ffi::c_int,
) {
    // SAFETY: The inode is live for the call and set up (only set-up inodes are dirtied).
    let inode = unsafe { Inode::<T>::from_raw(inode) };
    // A new inode being set up has no data yet.
    // SAFETY: As above.
    if !unsafe { (*inode.raw()).i_private.is_null() } {
        T::dirty_inode(inode);
    }
}

/// # Safety
///
/// Called by `sync_filesystem` with a mounted `T` superblock.
unsafe extern "C" fn sync_fs_callback<T: FileSystem>(
    sb: *mut bindings::super_block,
    wait: core::ffi::c_int,
) -> core::ffi::c_int {
    // SAFETY: The superblock is live and set up.
    let sb = unsafe { SuperBlock::<T>::from_raw(sb) };
    from_result(|| T::sync_fs(sb, wait != 0).map(|()| 0))
}

/// # Safety
///
/// Called by `generic_shutdown_super` after the inodes were evicted.
unsafe extern "C" fn put_super_callback<T: FileSystem>(sb: *mut bindings::super_block) {
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
unsafe extern "C" fn evict_inode_callback<T: FileSystem>(inode: *mut bindings::inode) {
    // SAFETY: The inode is being evicted: nobody else uses it. Its page cache goes first, then
    // the file system's record of it (deleted if it has no link), then the inode, then our
    // state (which nothing can reach any more).
    unsafe {
        bindings::truncate_inode_pages_final(ptr::addr_of_mut!((*inode).i_data));
        let data = (*inode).i_private;
        if !data.is_null() {
            T::evict(Inode::<T>::from_raw(inode));
        }
        bindings::clear_inode(inode);
        if !data.is_null() {
            (*inode).i_private = ptr::null_mut();
            drop(KBox::from_raw(data.cast::<T::InodeData>()));
        }
    }
}

/// # Safety
///
/// Called by the VFS with a dentry of a mounted `T` superblock and a buffer to fill.
unsafe extern "C" fn statfs_callback<T: FileSystem>(
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
                BLOCK_SIZE as _,
                st.blocks,
                st.free_blocks,
                st.files,
                st.free_files,
                st.name_max as _,
            )
        };
        Ok(0)
    })
}

/// # Safety
///
/// Called by the VFS with a directory inode of a `T` superblock and a negative dentry.
unsafe extern "C" fn lookup_callback<T: FileSystem>(
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
unsafe extern "C" fn iterate_shared_callback<T: FileSystem>(
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

/// # Safety
///
/// Called by the page cache with a locked, not uptodate folio of a `T` regular file.
unsafe extern "C" fn read_folio_callback<T: FileSystem>(
    _file: *mut bindings::file,
    folio: *mut bindings::folio,
) -> core::ffi::c_int {
    // SAFETY: The folio is locked, so its mapping and host inode are stable and live.
    let inode = unsafe { Inode::<T>::from_raw(ffi::emfs_folio_inode(folio)) };
    // INVARIANT: The folio is locked and not uptodate; we end the read below.
    let mut locked = LockedFolio {
        folio,
        _p: PhantomData,
    };
    let result = T::read_folio(inode, &mut locked);
    // SAFETY: Marks the folio uptodate on success and unlocks it, ending our ownership.
    unsafe { ffi::folio_end_read(folio, result.is_ok()) };
    match result {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// Called by the page cache with a readahead request on a `T` regular file.
unsafe extern "C" fn readahead_callback<T: FileSystem>(rac: *mut bindings::readahead_control) {
    // SAFETY: The request's mapping and host inode are live during the call, and the inode is
    // a `T` regular file.
    let inode = unsafe { Inode::<T>::from_raw(ffi::emfs_readahead_inode(rac)) };
    // INVARIANT: `rac` is the running request.
    let mut ra = Readahead {
        rac,
        _p: PhantomData,
    };
    // Folios it did not take are removed from the page cache by the caller; a failed one is
    // read again by `read_folio` when someone needs it.
    let _ = T::readahead(inode, &mut ra);
}

/// # Safety
///
/// Called by the page cache with a locked folio of a `T` regular file that it wants to free.
unsafe extern "C" fn release_folio_callback<T: FileSystem>(
    folio: *mut bindings::folio,
    _gfp: bindings::gfp_t,
) -> bool {
    // SAFETY: The folio is locked, so its mapping and host inode are stable and live.
    let (inode, pos, len, busy) = unsafe {
        (
            Inode::<T>::from_raw(ffi::emfs_folio_inode(folio)),
            ffi::emfs_folio_pos(folio),
            ffi::emfs_folio_size(folio),
            ffi::emfs_folio_test_dirty(folio) || ffi::emfs_folio_test_writeback(folio),
        )
    };
    // As `btrfs_release_folio`: data not on disk yet keeps its folio (and its maps).
    if busy {
        return false;
    }
    // SAFETY: As above. A clean folio holds no reservation; drop a stray one with it.
    if unsafe { ffi::emfs_folio_clear_reserved(folio) } {
        T::unreserve(inode.super_block(), 1);
    }
    T::release_folio(inode, pos as u64, len as u64)
}

/// # Safety
///
/// Called by `mount_bdev` with a new superblock on an open block device.
unsafe extern "C" fn fill_super_callback<T: FileSystem>(
    sb: *mut bindings::super_block,
    _data: *mut core::ffi::c_void,
    _silent: core::ffi::c_int,
) -> core::ffi::c_int {
    from_result(|| {
        // SAFETY: The superblock is new and ours to set up until we return.
        unsafe {
            if bindings::sb_set_blocksize(sb, BLOCK_SIZE as i32) == 0 {
                return Err(EINVAL);
            }
            (*sb).s_magic = T::MAGIC as _;
            (*sb).s_op = &Tables::<T>::SUPER_OPS;
            (*sb).s_maxbytes = i64::MAX;
            (*sb).s_time_gran = 1;
        }
        // INVARIANT: `sb` is being filled by `mount_bdev`.
        let data = T::fill_super(&BlockReader { sb })?;
        if data.read_only() {
            // SAFETY: As above.
            unsafe { ffi::emfs_sb_set_rdonly(sb) };
        }
        // SAFETY: The name is a C string.
        let wq = unsafe { ffi::emfs_alloc_workqueue(c_str!("emfs-endio").as_char_ptr()) };
        if wq.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: `wq` is live until `kill_sb` destroys it.
        let info = KBox::new(SbInfo { data, wq }, GFP_KERNEL).inspect_err(|_| {
            // SAFETY: Nothing was queued on it.
            unsafe { bindings::destroy_workqueue(wq) };
        })?;
        // SAFETY: As above; `kill_sb_callback` frees it.
        unsafe { (*sb).s_fs_info = KBox::into_raw(info).cast() };
        // SAFETY: The superblock now satisfies the `SuperBlock` invariant.
        let root = unsafe { SuperBlock::<T>::from_raw(sb) }.iget(T::ROOT_INO)?;
        // SAFETY: `d_make_root` takes the inode reference, and drops it itself on failure.
        let dentry = unsafe { bindings::d_make_root(ARef::into_raw(root).as_ptr().cast()) };
        if dentry.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: As above.
        unsafe { (*sb).s_root = dentry };
        Ok(0)
    })
}

/// # Safety
///
/// Called by the VFS for `mount -t <T::NAME>`.
unsafe extern "C" fn mount_callback<T: FileSystem>(
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
unsafe extern "C" fn kill_sb_callback<T: FileSystem>(sb: *mut bindings::super_block) {
    // SAFETY: The superblock is going away. `kill_block_super` evicts every inode (dropping
    // their data) before we free the per-mount state, which nothing can reach any more.
    unsafe {
        let info = (*sb).s_fs_info;
        bindings::kill_block_super(sb);
        if !info.is_null() {
            let info = KBox::from_raw(info.cast::<SbInfo<T>>());
            // `put_super` flushed it; nothing queues work after that.
            bindings::destroy_workqueue(info.wq);
            drop(info);
        }
    }
}

/// A registered file system type; unregistered on drop.
///
/// # Invariants
///
/// `fs` is registered with `register_filesystem` while this object lives.
#[pin_data(PinnedDrop)]
pub struct Registration<T: FileSystem> {
    #[pin]
    fs: Opaque<bindings::file_system_type>,
    _p: PhantomData<T>,
}

// SAFETY: The registration is only used to unregister, which any thread may do.
unsafe impl<T: FileSystem> Send for Registration<T> {}
// SAFETY: `&Registration` gives access to nothing.
unsafe impl<T: FileSystem> Sync for Registration<T> {}

impl<T: FileSystem> Registration<T> {
    /// Registers `T` as a file system type of `module`.
    pub fn new(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let fs = move |slot: *mut Opaque<bindings::file_system_type>| -> Result {
            let ft = Opaque::raw_get(slot);
            // SAFETY: `slot` is valid, pinned memory for the type; it is fully written before
            // registration, and stays put until `drop` unregisters it.
            unsafe {
                ft.write(core::mem::zeroed());
                (*ft).name = T::NAME.as_char_ptr();
                (*ft).fs_flags = bindings::FS_REQUIRES_DEV as i32;
                (*ft).mount = Some(mount_callback::<T>);
                (*ft).kill_sb = Some(kill_sb_callback::<T>);
                (*ft).owner = module.as_ptr();
                // The type is not static memory: lockdep must know its keys.
                ffi::emfs_fs_type_register_keys(ft);
                let ret = to_result(bindings::register_filesystem(ft));
                if ret.is_err() {
                    ffi::emfs_fs_type_unregister_keys(ft);
                }
                ret
            }
        };
        // SAFETY: The closure initialises the slot completely or fails without registering.
        let fs = unsafe { kernel::init::pin_init_from_closure(fs) };
        // INVARIANT: `fs` was registered by its initialiser.
        try_pin_init!(Self {
            fs <- fs,
            _p: PhantomData,
        })
    }
}

#[pinned_drop]
impl<T: FileSystem> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: By the type invariant the type is registered; once unregistered (which waits
        // for no superblock to exist, as the module cannot go while one does) its lockdep keys
        // are unused.
        unsafe {
            bindings::unregister_filesystem(self.fs.get());
            ffi::emfs_fs_type_unregister_keys(self.fs.get());
        }
    }
}
