// SPDX-License-Identifier: GPL-2.0

//! Block I/O on the device: one block read or written with a bio and waited for, and the
//! bios of the read and write paths.

use super::*;

/// Reads blocks of the device being mounted (before the superblock is set up).
///
/// # Invariants
///
/// `sb` is a superblock being filled by `mount_bdev`, whose `s_bdev` is open.
pub struct BlockReader {
    pub(super) sb: *mut bindings::super_block,
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
pub(super) struct Bdev<'a> {
    pub(super) ptr: *mut bindings::block_device,
    pub(super) _p: PhantomData<&'a ()>,
}

/// Reads block `blk` of `bdev` with a bio.
pub(super) fn read_block(bdev: Bdev<'_>, blk: u64) -> Result<KBox<[u8; BLOCK_SIZE]>> {
    let buf = KBox::init(kernel::init::zeroed(), GFP_KERNEL)?;
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
pub(super) fn alloc_bio(
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
pub(super) fn alloc_read_bio(bdev: Bdev<'_>, blk: u64, nr_vecs: u16) -> Result<*mut bindings::bio> {
    alloc_bio(bdev, blk, nr_vecs, bindings::req_op_REQ_OP_READ)
}

/// Allocates a read bio at block `blk` of `bdev`, lets `add` attach memory, submits and waits.
pub(super) fn submit_read(
    bdev: Bdev<'_>,
    blk: u64,
    add: impl FnOnce(*mut bindings::bio) -> bool,
) -> Result {
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
pub(super) fn write_block(bdev: Bdev<'_>, blk: u64, buf: &[u8; BLOCK_SIZE], fua: bool) -> Result {
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
