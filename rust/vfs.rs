// SPDX-License-Identifier: GPL-2.0

//! A block-device file system, as far as emfs needs it today: registration and mount on a
//! block device, inodes from an inode cache, a directory with lookup and readdir, and regular
//! files read through the page cache with `read_folio`. Read-only for now: the superblock is
//! marked `SB_RDONLY` and no write operation is offered.
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
    bindings,
    error::{from_result, to_result},
    init::PinInit,
    prelude::*,
    str::CStr,
    types::{ARef, AlwaysRefCounted, Opaque},
    ThisModule,
};

/// Block size: the only one supported.
pub const BLOCK_SIZE: usize = 4096;

/// What a file system implements.
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
    fn statfs(sb: &SuperBlock<Self>) -> Result<StatFs>;

    /// Reads a batch of folios ahead of use (`readahead`): each folio the batch hands out must
    /// be added to a [`ReadBatch`], zeroed, or read synchronously with
    /// [`ReadaheadFolio::read_with`]; one dropped unfinished is ended as failed.
    fn readahead(inode: &Inode<Self>, ra: &mut Readahead<'_>) -> Result;

    /// The page cache is about to drop the clean folio at `[pos, pos + len)` of `inode`
    /// (reclaim, `drop_caches`, `fadvise(DONTNEED)`): release what is cached for it. Returns
    /// whether the folio may go.
    fn release_folio(inode: &Inode<Self>, pos: u64, len: u64) -> bool;
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

/// Allocates a read bio for up to `nr_vecs` segments, starting at block `blk` of `bdev`.
fn alloc_read_bio(
    bdev: *mut bindings::block_device,
    blk: u64,
    nr_vecs: u16,
) -> Result<*mut bindings::bio> {
    let sector = blk.checked_mul(BLOCK_SIZE as u64 / 512).ok_or(EINVAL)?;
    // SAFETY: `bdev` is an open device (callers hold its superblock); `fs_bio_set` is the
    // kernel's bio set for file systems, and with a sleeping GFP mask the allocation comes
    // from its mempool.
    let bio = unsafe {
        bindings::bio_alloc_bioset(
            bdev,
            nr_vecs,
            bindings::req_op_REQ_OP_READ,
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

/// Allocates a read bio at block `blk` of `bdev`, lets `add` attach memory, submits and waits.
fn submit_read(
    bdev: *mut bindings::block_device,
    blk: u64,
    add: impl FnOnce(*mut bindings::bio) -> bool,
) -> Result {
    let bio = alloc_read_bio(bdev, blk, 1)?;
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

/// A mounted superblock of file system `T`.
///
/// # Invariants
///
/// The wrapped `super_block` is live, was set up by this module's `fill_super` for `T`, and
/// its `s_fs_info` is a `KBox<T>` leaked by it.
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
        // SAFETY: By the type invariant `s_fs_info` is a live `KBox<T>`, freed only in
        // `kill_sb`, after the last user of the superblock.
        unsafe { &*(*self.0.get()).s_fs_info.cast::<T>() }
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
                // Our folios carry no private data, so ask for `release_folio` anyway.
                ffi::emfs_mapping_set_release_always(i.i_mapping);
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
        statfs: Some(statfs_callback::<T>),
        // SAFETY: All-zero is a valid `super_operations`: no other operation.
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    const DIR_INODE_OPS: bindings::inode_operations = bindings::inode_operations {
        lookup: Some(lookup_callback::<T>),
        // SAFETY: As above.
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    const DIR_FILE_OPS: bindings::file_operations = bindings::file_operations {
        llseek: Some(bindings::generic_file_llseek),
        read: Some(bindings::generic_read_dir),
        iterate_shared: Some(iterate_shared_callback::<T>),
        // SAFETY: As above.
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    const FILE_INODE_OPS: bindings::inode_operations = bindings::inode_operations {
        // SAFETY: As above: the defaults (generic getattr and permission checks).
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    const FILE_OPS: bindings::file_operations = bindings::file_operations {
        llseek: Some(bindings::generic_file_llseek),
        read_iter: Some(bindings::generic_file_read_iter),
        mmap: Some(bindings::generic_file_readonly_mmap),
        splice_read: Some(bindings::filemap_splice_read),
        // SAFETY: As above.
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    const AOPS: bindings::address_space_operations = bindings::address_space_operations {
        read_folio: Some(read_folio_callback::<T>),
        readahead: Some(readahead_callback::<T>),
        release_folio: Some(release_folio_callback::<T>),
        // SAFETY: As above.
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };
}

/// # Safety
///
/// Called by the VFS with an inode of a `T` superblock being evicted.
unsafe extern "C" fn evict_inode_callback<T: FileSystem>(inode: *mut bindings::inode) {
    // SAFETY: The inode is being evicted: nobody else uses it. Its page cache goes first, then
    // the inode, then our state (which nothing can reach any more).
    unsafe {
        bindings::truncate_inode_pages_final(ptr::addr_of_mut!((*inode).i_data));
        bindings::clear_inode(inode);
        let data = (*inode).i_private;
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
    let (inode, pos, len) = unsafe {
        (
            Inode::<T>::from_raw(ffi::emfs_folio_inode(folio)),
            ffi::emfs_folio_pos(folio),
            ffi::emfs_folio_size(folio),
        )
    };
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
            ffi::emfs_sb_set_rdonly(sb);
            (*sb).s_magic = T::MAGIC as _;
            (*sb).s_op = &Tables::<T>::SUPER_OPS;
            (*sb).s_maxbytes = i64::MAX;
            (*sb).s_time_gran = 1;
        }
        // INVARIANT: `sb` is being filled by `mount_bdev`.
        let data = T::fill_super(&BlockReader { sb })?;
        let data = KBox::new(data, GFP_KERNEL)?;
        // SAFETY: As above; `kill_sb_callback` frees it.
        unsafe { (*sb).s_fs_info = KBox::into_raw(data).cast() };
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
            drop(KBox::from_raw(info.cast::<T>()));
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
