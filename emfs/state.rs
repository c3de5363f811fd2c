// SPDX-License-Identifier: GPL-2.0

//! The mounted file system's metadata in memory: the committed superblock, the free space
//! ([`Space`]), every inode with its extent records, the space reservations and the writes in
//! flight; and the commit that makes the running state the committed one.
//!
//! The state is only reached through `Emfs::lock`, which keeps allocations out of file-system
//! reclaim while the lock is held: eviction takes this lock, and reclaim may evict.

use super::format::*;
use super::meta::read_extent_chain;
use super::records::replace_range;
use super::space::Space;
use crate::kernel_ext::vfs::{BlockReader, SuperBlock};
use core::sync::atomic::Ordering;
use kernel::prelude::*;

const BS: u64 = BLOCK_SIZE as u64;

mod check;

/// One inode slot.
pub(crate) struct Slot {
    /// The inode as the next commit writes it.
    pub(crate) disk: Inode,
    /// Its extent records, sorted, not overlapping.
    /// (`kvmalloc`: a file may have more records than `kmalloc` serves at once.)
    pub(crate) records: KVVec<ExtentRecord>,
    /// The blocks of its committed extent chain.
    chain: KVec<u64>,
    /// The slot did not decode, or its chain is broken: never written, never used.
    pub(crate) bad: bool,
    /// The inode changed since the last commit.
    dirty: bool,
    /// Its records changed since the last commit (the chain is rewritten).
    records_dirty: bool,
}

/// The metadata of a mounted emfs.
pub(crate) struct FsState {
    /// The superblock of the last commit.
    pub(crate) sb: Superblock,
    /// The running transaction: the generation the next commit writes.
    pub(crate) transid: u64,
    /// Free space: the committed and running bitmaps, the allocator, the promises.
    space: Space,
    /// Write bios allocated and not yet recorded.
    pub(crate) inflight: u64,
    /// Every inode slot, by number.
    pub(crate) slots: KVec<Slot>,
    /// Something changed since the last commit.
    dirty: bool,
    /// A commit failed: the running state cannot reach the disk any more.
    pub(crate) failed: bool,
    /// The slot the last commit's superblock is in: the next one goes to the other.
    live_slot: usize,
}

impl FsState {
    /// Loads the metadata of the committed state `sb`, read from slot `live_slot`: bitmap,
    /// inode table, extent chains.
    /// Slots that do not decode are marked bad (and reported); their file cannot be used.
    pub(crate) fn load(dev: &BlockReader, sb: Superblock, live_slot: usize) -> Result<Self> {
        let bmb = sb.bitmap_blocks as usize;
        let space = Space::load(&mut &*dev, sb.total_blocks, &sb.bitmap[..bmb])?;

        let mut slots = KVec::with_capacity(sb.inode_count as usize, GFP_KERNEL)?;
        for &blk in &sb.inode_table[..sb.inode_table_blocks as usize] {
            let block = dev.read_block(blk)?;
            for n in 0..INODES_PER_BLOCK {
                let ino = (slots.len()) as u32;
                let raw = &block[n * INODE_SIZE..(n + 1) * INODE_SIZE];
                let mut slot = Slot {
                    disk: Inode::FREE,
                    records: KVVec::new(),
                    chain: KVec::new(),
                    bad: false,
                    dirty: false,
                    records_dirty: false,
                };
                match Inode::decode(raw) {
                    Ok(i) if i.in_use() && (i.ino != ino || ino == 0) => {
                        pr_err!("inode {}: claims number {}\n", ino, i.ino);
                        slot.bad = true;
                    }
                    Ok(i) if i.in_use() => match read_extent_chain(
                        &mut &*dev,
                        ino,
                        (i.extent_block, i.extent_count, i.size),
                        sb.generation,
                        sb.total_blocks,
                    ) {
                        Ok((records, chain)) => {
                            slot.disk = i;
                            slot.records = records;
                            slot.chain = chain;
                        }
                        Err(e) if e == ENOMEM => return Err(e),
                        Err(_) => slot.bad = true,
                    },
                    Ok(_) => {}
                    Err(e) => {
                        pr_err!("inode {}: {:?}\n", ino, e);
                        slot.bad = true;
                    }
                }
                slots.push(slot, GFP_KERNEL)?;
            }
        }

        Ok(FsState {
            transid: sb.generation + 1,
            sb,
            space,
            inflight: 0,
            slots,
            dirty: false,
            failed: false,
            live_slot,
        })
    }

    /// Whether some metadata did not decode (the mount is then read-only).
    pub(crate) fn has_bad_slots(&self) -> bool {
        self.slots.iter().any(|s| s.bad)
    }

    /// Frees `[blk, blk + n)`: allocatable now if the last commit does not use it, else after
    /// the next commit.
    pub(crate) fn free_blocks(&mut self, blk: u64, n: u64) {
        self.space.free_blocks(blk, n);
        self.dirty = true;
    }

    /// Blocks the next commit may need for metadata: every inode-table and bitmap block, and a
    /// new chain for every file (a bound, not a count).
    fn metadata_reserve(&self) -> u64 {
        let chains: u64 = self
            .slots
            .iter()
            .map(|s| (s.records.len() + 2).div_ceil(EXTENTS_PER_BLOCK) as u64)
            .sum();
        u64::from(self.sb.inode_table_blocks) + u64::from(self.sb.bitmap_blocks) + chains + 4
    }

    /// Free blocks as `statfs` shows them: free now or after the next commit, less what dirty
    /// data was promised.
    pub(crate) fn statfs_free(&self) -> u64 {
        self.space.statfs_free()
    }

    /// Whether a commit would make more space allocatable.
    pub(crate) fn commit_frees_space(&self) -> bool {
        self.space.commit_frees_space()
    }

    /// Promises `n` blocks to dirty folios.
    pub(crate) fn reserve(&mut self, n: u64) -> Result {
        if self.failed {
            return Err(EIO);
        }
        self.space.reserve(n, self.metadata_reserve())
    }

    /// Takes back a promise of `n` blocks.
    pub(crate) fn unreserve(&mut self, n: u64) {
        self.space.unreserve(n);
    }

    /// Allocates up to `want` contiguous data blocks from the cursor on (wrapping once).
    pub(crate) fn alloc_data(&mut self, want: u64) -> Result<(u64, u64)> {
        if self.failed {
            return Err(EIO);
        }
        let got = self.space.alloc_data(want)?;
        self.dirty = true;
        Ok(got)
    }

    /// Allocates one metadata block, from the end of the file system down.
    fn alloc_meta(&mut self) -> Result<u64> {
        self.dirty = true;
        self.space.alloc_meta()
    }

    /// Allocates up to `want` contiguous blocks for preallocation, within the space that can
    /// be promised.
    pub(crate) fn alloc_prealloc(&mut self, want: u64) -> Result<(u64, u64)> {
        if self.failed {
            return Err(EIO);
        }
        let got = self.space.alloc_prealloc(want, self.metadata_reserve())?;
        self.dirty = true;
        Ok(got)
    }

    /// One past the highest inode that has a name: where a listing of the root ends.
    pub(crate) fn end_of_names(&self) -> usize {
        self.slots
            .iter()
            .rposition(|s| !s.bad && s.disk.in_use() && s.disk.nlink > 0)
            .map_or(ROOT_INO as usize + 1, |i| i + 1)
    }

    /// The slot of inode `ino`, if it is a usable one.
    pub(crate) fn slot(&self, ino: u64) -> Result<&Slot> {
        let s = self.slots.get(ino as usize).ok_or(ENOENT)?;
        if s.bad {
            return Err(crate::kernel_ext::errno::euclean());
        }
        Ok(s)
    }

    /// The slot of inode `ino`, to change it (marked dirty).
    pub(crate) fn slot_mut(&mut self, ino: u64) -> Result<&mut Slot> {
        let s = self.slots.get_mut(ino as usize).ok_or(ENOENT)?;
        if s.bad {
            return Err(crate::kernel_ext::errno::euclean());
        }
        s.dirty = true;
        self.dirty = true;
        Ok(s)
    }

    /// Drops `[start, end)` from inode `ino`'s records, keeping the parts of records that stick
    /// out, and frees every on-disk extent no record points into any more.
    pub(crate) fn drop_records(&mut self, ino: u64, start: u64, end: u64) -> Result {
        self.change_records(ino, start, end, None)
    }

    /// Replaces `[rec.file_offset, rec.end())` of inode `ino` with `rec`.
    pub(crate) fn replace_records(&mut self, ino: u64, rec: ExtentRecord) -> Result {
        self.change_records(ino, rec.file_offset, rec.end(), Some(rec))
    }

    fn change_records(
        &mut self,
        ino: u64,
        start: u64,
        end: u64,
        new: Option<ExtentRecord>,
    ) -> Result {
        let slot = self.slot_mut(ino)?;
        let Some(gone) = replace_range(&mut slot.records, start, end, new)? else {
            return Ok(());
        };
        slot.records_dirty = true;
        // Extents are not shared between files: free one when this file is done with it.
        for (bytenr, bytes) in gone {
            self.free_blocks(bytenr / BS, bytes / BS);
        }
        Ok(())
    }

    /// Frees everything of inode `ino` and its slot.
    pub(crate) fn delete_inode(&mut self, ino: u64) -> Result {
        self.drop_records(ino, 0, u64::MAX)?;
        let slot = self.slot_mut(ino)?;
        slot.disk = Inode::FREE;
        slot.records_dirty = true;
        Ok(())
    }

    /// Frees the inodes that lost their last name before a crash (or before an unmount that
    /// could not finish): they are in use with no link.
    pub(crate) fn delete_orphans(&mut self) -> Result {
        for ino in (ROOT_INO as u64 + 1)..self.slots.len() as u64 {
            let s = &self.slots[ino as usize];
            if !s.bad && s.disk.in_use() && s.disk.nlink == 0 {
                self.delete_inode(ino)?;
            }
        }
        Ok(())
    }

    /// Writes the running state as a new commit: new extent chains for inodes whose records
    /// changed, new inode-table blocks for changed inodes, a new bitmap, all to blocks the last
    /// commit does not use; a cache flush; then the superblock with the next generation into
    /// the other slot with FUA. A crash before the superblock leaves the last commit intact.
    pub(crate) fn commit(&mut self, dev: &SuperBlock<super::Emfs>) -> Result {
        if self.failed {
            return Err(EIO);
        }
        if !self.dirty {
            return Ok(());
        }
        // Memory first, while nothing has changed: running out of it is not fatal.
        let mut buf = KBox::new([0u8; BLOCK_SIZE], GFP_KERNEL)?;
        let mut chains = KVec::new();
        for (ino, slot) in self.slots.iter().enumerate() {
            if slot.records_dirty && !slot.bad {
                let nblocks = slot.records.len().div_ceil(EXTENTS_PER_BLOCK);
                chains.push((ino, KVec::with_capacity(nblocks, GFP_KERNEL)?), GFP_KERNEL)?;
            }
        }
        // From here on the running state changes as the commit goes: a failure is fatal.
        let r = self.write_commit(dev, &mut buf, chains);
        if let Err(e) = r {
            pr_err!("commit of generation {} failed: {:?}\n", self.transid, e);
            self.failed = true;
        }
        r
    }

    fn write_commit(
        &mut self,
        dev: &SuperBlock<super::Emfs>,
        buf: &mut [u8; BLOCK_SIZE],
        chains: KVec<(usize, KVec<u64>)>,
    ) -> Result {
        let gen = self.transid;

        // Extent chains.
        for (ino, mut chain) in chains {
            let nblocks = self.slots[ino].records.len().div_ceil(EXTENTS_PER_BLOCK);
            for _ in 0..nblocks {
                // Within the capacity reserved above: no allocation.
                chain.push(self.alloc_meta()?, GFP_NOWAIT)?;
            }
            let old = core::mem::take(&mut self.slots[ino].chain);
            for blk in old {
                self.free_blocks(blk, 1);
            }
            let slot = &mut self.slots[ino];
            for (n, records) in slot.records.chunks(EXTENTS_PER_BLOCK).enumerate() {
                let header = ExtentBlockHeader {
                    count: records.len() as u32,
                    ino: ino as u32,
                    next: chain.get(n + 1).copied().unwrap_or(0),
                    generation: gen,
                };
                encode_extent_block(buf, &header, records).map_err(|_| EINVAL)?;
                dev.write_block(chain[n], buf, false)?;
            }
            slot.disk.extent_block = chain.first().copied().unwrap_or(0);
            slot.disk.extent_count = slot.records.len() as u32;
            if slot.disk.in_use() {
                slot.disk.generation = gen;
            }
            slot.chain = chain;
            slot.dirty = true;
        }

        // Inode-table blocks holding a changed inode.
        let mut sb = self.sb;
        for idx in 0..sb.inode_table_blocks as usize {
            let range = idx * INODES_PER_BLOCK..(idx + 1) * INODES_PER_BLOCK;
            if !self.slots[range.clone()].iter().any(|s| s.dirty) {
                continue;
            }
            let blk = self.alloc_meta()?;
            self.free_blocks(sb.inode_table[idx], 1);
            sb.inode_table[idx] = blk;
            buf.fill(0);
            // A free slot is all zeros, checksum included.
            for (n, s) in self.slots[range].iter().enumerate() {
                if s.disk.in_use() {
                    s.disk
                        .encode(&mut buf[n * INODE_SIZE..(n + 1) * INODE_SIZE]);
                }
            }
            dev.write_block(blk, buf, false)?;
        }

        // The bitmap: new blocks first, so that it describes itself.
        for idx in 0..sb.bitmap_blocks as usize {
            let blk = self.alloc_meta()?;
            self.free_blocks(sb.bitmap[idx], 1);
            sb.bitmap[idx] = blk;
        }
        let free_after = self.space.free_after_commit();
        for idx in 0..sb.bitmap_blocks as usize {
            self.space.encode_block(idx, buf)?;
            dev.write_block(sb.bitmap[idx], buf, false)?;
        }

        // Everything above is durable before the superblock that points to it.
        dev.flush()?;
        sb.generation = gen;
        sb.free_blocks = free_after;
        sb.encode(buf);
        // The other slot than the last commit's, whatever its generation's parity: writing
        // the live slot in place would leave no valid superblock if the write tore.
        let slot = 1 - self.live_slot;
        dev.write_block(SB_SLOTS[slot], buf, true)?;

        // The new commit is the committed state.
        self.sb = sb;
        self.live_slot = slot;
        self.space.committed_done(free_after);
        self.transid = gen + 1;
        self.dirty = false;
        super::debug::COMMITS.fetch_add(1, Ordering::Relaxed);
        for s in self.slots.iter_mut() {
            s.dirty = false;
            s.records_dirty = false;
        }
        Ok(())
    }
}
