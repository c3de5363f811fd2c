// SPDX-License-Identifier: GPL-2.0

//! Free space of a mounted emfs: the allocation bitmap of the last commit and the running
//! one, and the allocator over them.
//!
//! Copy-on-write, as `Documentation/filesystems/emfs.rst` says: a block is allocated only if it
//! is free in the committed bitmap *and* in the running one, so nothing the last commit points
//! to is overwritten before the next commit is on disk. Data is allocated upwards from a cursor
//! (so that consecutive writebacks of a file are contiguous and their maps can merge), metadata
//! downwards from the end. Dirty data is promised only what leaves the next commit's metadata
//! its blocks; how many that takes is the state's to say.

use super::format::{bitmap_set, bitmap_test, block_csum_ok, seal_block, BLOCK_SIZE, CSUM_OFFSET};
use super::meta::BlockRead;
use crate::kernel_ext::errno::euclean;
use kernel::prelude::*;

/// Bytes of allocation bits per bitmap block.
const BITMAP_BYTES: usize = CSUM_OFFSET;

/// The allocation state.
///
/// # Invariants
///
/// `free` counts the blocks below `total` free in both bitmaps, `pending_free` those free in
/// the running bitmap only (freed since the last commit, which still uses them).
pub(crate) struct Space {
    total: u64,
    /// Allocation bits of the last commit, `BITMAP_BYTES` per bitmap block.
    committed: KVec<u8>,
    /// Allocation bits now.
    running: KVec<u8>,
    free: u64,
    pending_free: u64,
    /// Blocks promised to dirty folios.
    reserved: u64,
    /// Where the next data allocation starts looking.
    cursor: u64,
}

impl Space {
    /// Reads the bitmap blocks `blocks` of a file system of `total` blocks; a block with a
    /// bad checksum is `-EUCLEAN`.
    pub(crate) fn load(io: &mut impl BlockRead, total: u64, blocks: &[u64]) -> Result<Self> {
        let mut committed = KVec::with_capacity(blocks.len() * BITMAP_BYTES, GFP_KERNEL)?;
        for &blk in blocks {
            let block = io.read(blk)?;
            if !block_csum_ok(&block) {
                pr_err!("bitmap block {}: bad checksum\n", blk);
                return Err(euclean());
            }
            committed.extend_from_slice(&block[..BITMAP_BYTES], GFP_KERNEL)?;
        }
        let mut running = KVec::with_capacity(committed.len(), GFP_KERNEL)?;
        running.extend_from_slice(&committed, GFP_KERNEL)?;
        let mut space = Space {
            total,
            committed,
            running,
            free: 0,
            pending_free: 0,
            reserved: 0,
            cursor: 0,
        };
        space.free = space.count_free();
        Ok(space)
    }

    /// The committed bitmap's bits, laid end to end.
    pub(crate) fn committed(&self) -> &[u8] {
        &self.committed
    }

    fn count_free(&self) -> u64 {
        (0..self.total).filter(|&b| self.allocatable(b)).count() as u64
    }

    fn allocatable(&self, blk: u64) -> bool {
        !bitmap_test(&self.committed, blk) && !bitmap_test(&self.running, blk)
    }

    fn mark_used(&mut self, blk: u64, n: u64) {
        for b in blk..blk + n {
            bitmap_set(&mut self.running, b, true);
        }
        self.free -= n;
    }

    /// Frees `[blk, blk + n)`: allocatable now if the last commit does not use it, else after
    /// the next commit.
    pub(crate) fn free_blocks(&mut self, blk: u64, n: u64) {
        for b in blk..blk.saturating_add(n).min(self.total) {
            if !bitmap_test(&self.running, b) {
                continue;
            }
            bitmap_set(&mut self.running, b, false);
            if bitmap_test(&self.committed, b) {
                self.pending_free += 1;
            } else {
                self.free += 1;
            }
        }
    }

    /// Blocks that can still be promised when `meta` are kept for the next commit's metadata.
    pub(crate) fn available(&self, meta: u64) -> u64 {
        self.free.saturating_sub(self.reserved).saturating_sub(meta)
    }

    /// What [`Space::available`] will be once the next commit made the blocks it frees
    /// allocatable.
    pub(crate) fn available_after_commit(&self, meta: u64) -> u64 {
        (self.free + self.pending_free)
            .saturating_sub(self.reserved)
            .saturating_sub(meta)
    }

    /// Promises `n` blocks to dirty folios, keeping `meta` for the next commit's metadata;
    /// `-ENOSPC` if they are not there.
    pub(crate) fn reserve(&mut self, n: u64, meta: u64) -> Result {
        if self.available(meta) < n {
            return Err(ENOSPC);
        }
        self.reserved += n;
        Ok(())
    }

    /// Allocates up to `want` contiguous blocks for preallocation, within what can be promised
    /// when `meta` are kept.
    pub(crate) fn alloc_prealloc(&mut self, want: u64, meta: u64) -> Result<(u64, u64)> {
        let can = self.available(meta).min(want);
        if can == 0 {
            return Err(ENOSPC);
        }
        self.alloc_data(can)
    }

    /// Promises `n` blocks again that an allocation took over and gave back (always possible:
    /// the allocation's blocks are free again).
    pub(crate) fn restore_reserve(&mut self, n: u64) {
        self.reserved += n;
    }

    /// Takes back a promise of `n` blocks.
    pub(crate) fn unreserve(&mut self, n: u64) {
        self.reserved = self.reserved.saturating_sub(n);
    }

    /// Free blocks as `statfs` shows them: free now or after the next commit, less what dirty
    /// data was promised.
    pub(crate) fn statfs_free(&self) -> u64 {
        (self.free + self.pending_free).saturating_sub(self.reserved)
    }

    /// Whether a commit would make more space allocatable.
    pub(crate) fn commit_frees_space(&self) -> bool {
        self.pending_free > 0
    }

    /// Allocates up to `want` contiguous data blocks from the cursor on (wrapping once).
    pub(crate) fn alloc_data(&mut self, want: u64) -> Result<(u64, u64)> {
        let total = self.total;
        let from = self.cursor.min(total);
        let start = Iterator::chain(from..total, 0..from)
            .find(|&b| self.allocatable(b))
            .ok_or(ENOSPC)?;
        let mut n = 1;
        while n < want && start + n < total && self.allocatable(start + n) {
            n += 1;
        }
        self.mark_used(start, n);
        self.cursor = start + n;
        Ok((start, n))
    }

    /// Allocates one metadata block, from the end of the file system down.
    pub(crate) fn alloc_meta(&mut self) -> Result<u64> {
        let blk = (2..self.total)
            .rev()
            .find(|&b| self.allocatable(b))
            .ok_or(ENOSPC)?;
        self.mark_used(blk, 1);
        Ok(blk)
    }

    /// Blocks free in the running bitmap: the free count of the commit that writes it.
    pub(crate) fn free_after_commit(&self) -> u64 {
        (0..self.total)
            .filter(|&b| !bitmap_test(&self.running, b))
            .count() as u64
    }

    /// Bitmap block `idx` of the running bitmap, sealed, in `buf`.
    pub(crate) fn encode_block(&self, idx: usize, buf: &mut [u8; BLOCK_SIZE]) -> Result {
        let bits = self
            .running
            .get(idx * BITMAP_BYTES..(idx + 1) * BITMAP_BYTES)
            .ok_or(EINVAL)?;
        buf.fill(0);
        buf[..BITMAP_BYTES].copy_from_slice(bits);
        seal_block(buf);
        Ok(())
    }

    /// The commit that wrote the running bitmap is on disk: it is the committed one, and what
    /// waited for it is allocatable. `free_after` is what [`Space::free_after_commit`] said
    /// before the commit (counted once: a pass over every bit costs a commit milliseconds on
    /// a large file system).
    pub(crate) fn committed_done(&mut self, free_after: u64) {
        self.committed.copy_from_slice(&self.running);
        // Free in the running bitmap is now free in both.
        self.free = free_after;
        self.pending_free = 0;
    }
}
