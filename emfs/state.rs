// SPDX-License-Identifier: GPL-2.0

//! The metadata of a mounted emfs in memory: the committed superblock with
//! its block lists, the free space ([`Space`]), the namespace with every file's records
//! ([`Namespace`]); the mount-time checks; and the commit that makes the running state the
//! committed one.
//!
//! The state is only reached through `Emfs::lock`, which keeps allocations out of file-system
//! reclaim while the lock is held: eviction takes this lock, and reclaim may evict.
//!
//! A commit's order (`Documentation/filesystems/emfs.rst`, "General rules"): new chains and
//! inode-table blocks, then a new bitmap, all in blocks the last commit does not use; a cache
//! flush; then the superblock with the next generation into the other slot, with FUA. A crash
//! anywhere before the superblock leaves the last commit whole.

use super::dinode::DiskInode;
use super::dir::Dir;
use super::format::{bitmap_test, ExtentRecord, BLOCK_SIZE, ROOT_INO, SB_SLOTS, S_IFREG};
use super::meta::{self, read_superblock, BlockIo, BlockRead, Commit, Device};
use super::namespace::{Namespace, NsInode};
use super::ownership::check_blocks;
use super::records::replace_range;
use super::space::Space;
use super::superblock::DiskSuperblock;
use crate::kernel_ext::errno::euclean;
use crate::kernel_ext::sort::sort_unstable_by_key;
use kernel::prelude::*;

const BS: u64 = BLOCK_SIZE as u64;

/// Blocks of metadata one namespace operation may add to the next commit, at most: an entry
/// that opens a directory block, and the new inode's chain or target block, with room to spare.
const NS_OP_BLOCKS: u64 = 4;

/// Blocks kept from data and from operations that add inodes or names, for those that only
/// move names (`rename`) on a full disk: btrfs's global reserve. Removing needs nothing: the
/// metadata bound already counts what it rewrites.
const GLOBAL_RESERVE: u64 = 16;

/// What a namespace operation does to the metadata, for [`State::ns_op`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum NsOp {
    /// Makes an inode or a name (`create`, `mkdir`, `mknod`, `symlink`, `link`).
    Adds,
    /// Moves a name, perhaps into a directory that grows (`rename`).
    Moves,
    /// Removes a name (`unlink`, `rmdir`).
    Removes,
}

/// The inode number `ino` the VFS uses, as the format's.
pub(crate) fn ino32(ino: u64) -> Result<u32> {
    u32::try_from(ino).map_err(|_| ENOENT)
}

/// The metadata of a mounted file system.
pub(crate) struct State {
    /// The superblock of the last commit.
    pub(crate) sb: DiskSuperblock,
    /// Its inode-table blocks.
    table: KVec<u64>,
    /// Its bitmap blocks.
    bitmap: KVec<u64>,
    /// The running transaction: the generation the next commit writes.
    pub(crate) transid: u64,
    /// Free space.
    space: Space,
    /// Every inode, with its entries, target or records.
    ns: Namespace,
    /// Something changed since the last commit.
    dirty: bool,
    /// A commit failed: the running state cannot reach the disk any more.
    pub(crate) failed: bool,
    /// Problems the mount found in the metadata: it is read-only.
    pub(crate) problems: u64,
    /// The superblock has a read-only-compatible feature this code does not know.
    ro_features: bool,
    /// The slot the last commit's superblock is in: the next one goes to the other.
    live_slot: usize,
    /// Write bios allocated and not yet recorded (a commit waits for none).
    pub(crate) inflight: u64,
    /// [`State::metadata_reserve`] while nothing it counts has changed: every reservation asks
    /// for it, and computing it walks the table.
    meta_bound: Option<u64>,
}

/// The device and the running allocator, as [`Commit`] sees them.
struct Io<'a, D: Device> {
    dev: &'a mut D,
    space: &'a mut Space,
}

impl<D: Device> BlockRead for Io<'_, D> {
    fn read(&mut self, blk: u64) -> Result<KBox<[u8; BLOCK_SIZE]>> {
        self.dev.read(blk)
    }
}

impl<D: Device> BlockIo for Io<'_, D> {
    fn write(&mut self, blk: u64, b: &[u8; BLOCK_SIZE]) -> Result {
        self.dev.write(blk, b, false)
    }

    fn alloc(&mut self) -> Result<u64> {
        self.space.alloc_meta()
    }

    fn free(&mut self, blk: u64) {
        self.space.free_blocks(blk, 1);
    }
}

impl State {
    /// Loads the committed state of a device of `dev_blocks` blocks: the superblock slot
    /// chosen as `fsck.emfs` chooses it, the bitmap, the inode table with every chain. Then the
    /// rules `fsck.emfs` checks: slots and their chains, the tree, every block owned once;
    /// their problems are counted and reported, and make the mount read-only.
    pub(crate) fn load(dev: &mut impl BlockRead, dev_blocks: u64) -> Result<Self> {
        let m = read_superblock(dev)?;
        let sb = m.sb;
        if sb.total_blocks > dev_blocks {
            pr_err!(
                "superblock says {} blocks, the device has {}\n",
                sb.total_blocks,
                dev_blocks
            );
            return Err(EINVAL);
        }
        let space = Space::load(dev, sb.total_blocks, &m.bitmap)?;
        let (ns, loaded) = meta::load(dev, &m.table, sb.generation, sb.total_blocks)?;
        let mut st = State {
            transid: sb.generation + 1,
            sb,
            table: m.table,
            bitmap: m.bitmap,
            space,
            ns,
            dirty: false,
            failed: false,
            problems: u64::from(loaded.bad),
            ro_features: m.read_only,
            live_slot: m.slot,
            inflight: 0,
            meta_bound: None,
        };
        // With a bad slot the rest would be reported as its consequences.
        if st.problems == 0 {
            if st.ns.check().is_err() {
                st.problems += 1;
            }
            st.problems += st.check_blocks()?;
        }
        Ok(st)
    }

    fn check_blocks(&self) -> Result<u64> {
        let lists: [&[u64]; 3] = [&SB_SLOTS, &self.table, &self.bitmap];
        let meta = lists.into_iter().flatten().copied();
        let owners = (0..self.ns.len())
            .filter_map(|ino| self.ns.inode(ino).ok())
            .filter(|n| n.disk.in_use())
            .map(|n| (n.chain.as_slice(), n.records.as_slice()));
        check_blocks(
            self.sb.total_blocks,
            self.sb.free_blocks,
            self.space.committed(),
            meta,
            owners,
            &mut |args| pr_err!("{}\n", args),
        )
    }

    /// Which of the two superblock slots holds the last commit's superblock.
    pub(crate) fn live_slot(&self) -> usize {
        self.live_slot
    }

    /// Whether the last commit uses block `blk` (its bitmap says so).
    pub(crate) fn committed_block(&self, blk: u64) -> bool {
        bitmap_test(self.space.committed(), blk)
    }

    /// Whether nothing may be written: problems found at mount, or an unknown feature.
    pub(crate) fn read_only(&self) -> bool {
        self.problems > 0 || self.ro_features
    }

    /// The namespace, to change it: the next commit writes what changed.
    pub(crate) fn ns_mut(&mut self) -> &mut Namespace {
        self.ns_changed();
        &mut self.ns
    }

    /// The namespace changed: the next commit writes it, and the metadata bound is counted
    /// again.
    fn ns_changed(&mut self) {
        self.dirty = true;
        self.meta_bound = None;
    }

    /// Runs `f`, an operation of the VFS on the namespace: `-EIO` after a failed commit,
    /// `-EROFS` on metadata found broken, and `-ENOSPC` unless the blocks the operation's
    /// metadata may add are free and promised to nobody, so that the next commit always finds
    /// the blocks it needs. A rename may take them from the global reserve, which data and new
    /// names leave alone; a removal needs none.
    pub(crate) fn ns_op<R>(
        &mut self,
        op: NsOp,
        f: impl FnOnce(&mut Namespace) -> Result<R>,
    ) -> Result<R> {
        if self.failed {
            return Err(EIO);
        }
        if self.read_only() {
            return Err(EROFS);
        }
        if !self.ns_room(op) {
            return Err(ENOSPC);
        }
        // A refused operation changes nothing (`Namespace`'s rule): no commit for it.
        let r = f(&mut self.ns)?;
        self.ns_changed();
        Ok(r)
    }

    /// Whether the metadata that `op` may add has room now ([`State::ns_op`]).
    pub(crate) fn ns_room(&mut self, op: NsOp) -> bool {
        // The blocks kept back from the operation (a removal needs no room).
        let kept = match op {
            NsOp::Adds => self.metadata_reserve(),
            NsOp::Moves => self.metadata_reserve() - GLOBAL_RESERVE,
            NsOp::Removes => return true,
        };
        self.space.available(kept) >= NS_OP_BLOCKS
    }

    /// The namespace, to read it. Changes go through [`State::ns_op`] (or [`State::ns_mut`]),
    /// which keep the cached metadata bound right.
    pub(crate) fn ns(&self) -> &Namespace {
        &self.ns
    }

    /// The inode and type that `name` in directory `dir` gives (a lookup changes nothing the
    /// next commit writes).
    pub(crate) fn lookup(&mut self, dir: u32, name: &[u8]) -> Result<Option<(u32, u8)>> {
        self.ns.lookup(dir, name)
    }

    /// Directory `ino`'s entries, to read them ([`Dir::visit`] walks with a cursor, which
    /// needs them mutably; it changes nothing).
    pub(crate) fn dir_entries(&mut self, ino: u32) -> Result<&mut Dir> {
        self.ns.inode_mut(ino)?.dir.as_mut().ok_or_else(euclean)
    }

    /// Inode `ino` of the VFS, loaded (`-EUCLEAN` if its slot did not load).
    pub(crate) fn inode(&self, ino: u64) -> Result<&NsInode> {
        let n = self.ns.inode(ino32(ino)?)?;
        if n.bad {
            return Err(euclean());
        }
        Ok(n)
    }

    /// The attributes of inode `ino` (mode, owner, times, size), to change them: the next
    /// commit writes the inode. `-ENOENT` for a free slot.
    pub(crate) fn attrs_mut(&mut self, ino: u64) -> Result<&mut DiskInode> {
        let n = self.ns.inode_mut(ino32(ino)?)?;
        if n.bad {
            return Err(euclean());
        }
        if !n.disk.in_use() {
            return Err(ENOENT);
        }
        n.dirty = true;
        self.dirty = true;
        Ok(&mut n.disk)
    }

    /// Regular file `ino`'s extent records.
    pub(crate) fn records(&self, ino: u64) -> Result<&[ExtentRecord]> {
        let n = self.inode(ino)?;
        if n.disk.kind() != S_IFREG {
            return Err(EINVAL);
        }
        Ok(&n.records)
    }

    /// Frees `[blk, blk + n)`: allocatable now if the last commit does not use it, else after
    /// the next commit.
    pub(crate) fn free_blocks(&mut self, blk: u64, n: u64) {
        self.space.free_blocks(blk, n);
        self.dirty = true;
    }

    /// Blocks the next commit may need for metadata: every inode-table and bitmap block and a
    /// new chain for every inode, grown by the records its dirty folios may add at writeback
    /// ([`NsInode::chain_bound`]: a bound, not a count); and the global reserve.
    fn metadata_reserve(&mut self) -> u64 {
        if let Some(b) = self.meta_bound {
            return b;
        }
        let chains: u64 = (0..self.ns.len())
            .filter_map(|ino| self.ns.inode(ino).ok())
            .map(NsInode::chain_bound)
            .sum();
        let bound =
            self.table.len() as u64 + self.bitmap.len() as u64 + chains + 4 + GLOBAL_RESERVE;
        self.meta_bound = Some(bound);
        bound
    }

    /// Free blocks as `statfs` shows them.
    pub(crate) fn statfs_free(&self) -> u64 {
        self.space.statfs_free()
    }

    /// Blocks a write can still be promised, as `statfs` shows them: what is free now or after
    /// the next commit, less what dirty data was promised and what the next commit's metadata
    /// may need. A write is refused when fewer are left than it needs (one, or two when it
    /// also grows its file's chain bound by a block), a new name at fewer than `NS_OP_BLOCKS`,
    /// each after the commit that gives back what it can.
    pub(crate) fn statfs_avail(&mut self) -> u64 {
        let meta = self.metadata_reserve();
        self.space.available_after_commit(meta)
    }

    /// Whether a commit would make more space allocatable.
    pub(crate) fn commit_frees_space(&self) -> bool {
        self.space.commit_frees_space()
    }

    /// Promises `n` blocks to dirty folios of regular file `ino`, with the metadata that
    /// writing them back and committing may need: the blocks themselves, and room in the
    /// metadata bound for the records they may add. Writeback then never runs out of space.
    pub(crate) fn reserve(&mut self, ino: u64, n: u64) -> Result {
        self.take_records(
            ino,
            |node| &mut node.dirty_blocks,
            n,
            |space, meta, grown| space.reserve(n, meta + grown),
        )
    }

    /// Takes back the promise of `n` blocks to dirty folios of `ino` that will not be written.
    pub(crate) fn unreserve(&mut self, ino: u64, n: u64) {
        self.space.unreserve(n);
        self.written(ino, n);
    }

    /// `n` blocks promised to dirty folios became an allocation: the blocks are no longer
    /// promised (their metadata stays promised until [`State::written`]).
    pub(crate) fn unreserve_data(&mut self, n: u64) {
        self.space.unreserve(n);
    }

    /// An allocation of `n` blocks from `blk` that took over `promised` promises is not
    /// written after all: the blocks are free again (no commit uses them) and the promises go
    /// back to the folios, which stay dirty.
    pub(crate) fn cancel_alloc(&mut self, blk: u64, n: u64, promised: u64) {
        self.space.free_blocks(blk, n);
        self.space.restore_reserve(promised);
    }

    /// The writes of `n` blocks of `ino` that were promised space are recorded (or failed): the
    /// metadata bound no longer counts records for them.
    pub(crate) fn written(&mut self, ino: u64, n: u64) {
        self.release_records(ino, |node| {
            node.dirty_blocks = node.dirty_blocks.checked_sub(n).unwrap_or_else(|| {
                pr_err!(
                    "inode {}: {} dirty blocks written, {} promised\n",
                    ino,
                    n,
                    node.dirty_blocks
                );
                0
            });
        });
    }

    /// Promises regular file `ino` room for the record a hole about to be punched may add (a
    /// record split in two): `-ENOSPC` when its chain bound then needs a block the disk does not
    /// have. The punch is refused before it drops any cached data, and the next commit finds
    /// the blocks it needs. [`State::punched`] takes the promise back.
    pub(crate) fn reserve_punch(&mut self, ino: u64) -> Result {
        self.take_records(
            ino,
            |node| &mut node.punches,
            1,
            |space, meta, grown| {
                if space.available(meta) < grown {
                    return Err(ENOSPC);
                }
                Ok(())
            },
        )
    }

    /// The hole [`State::reserve_punch`] promised room for is punched, or will not be.
    pub(crate) fn punched(&mut self, ino: u64) {
        self.release_records(ino, |node| node.punches = node.punches.saturating_sub(1));
    }

    /// Raises by `n` what `ino`'s chain bound counts (the count `count` picks) and the cached
    /// metadata bound with it, if `promise` gets the room that needs from the free space (given
    /// the bound before and what it grows by); otherwise changes nothing. [`State::reserve`]
    /// and [`State::reserve_punch`] take room this way, [`State::release_records`] gives it
    /// back.
    fn take_records(
        &mut self,
        ino: u64,
        count: fn(&mut NsInode) -> &mut u64,
        n: u64,
        promise: impl FnOnce(&mut Space, u64, u64) -> Result,
    ) -> Result {
        if self.failed {
            return Err(EIO);
        }
        let meta = self.metadata_reserve();
        let node = self.ns.inode_mut(ino32(ino)?)?;
        let before = node.chain_bound();
        *count(node) += n;
        let grown = node.chain_bound() - before;
        if let Err(e) = promise(&mut self.space, meta, grown) {
            *count(node) -= n;
            return Err(e);
        }
        self.meta_bound = Some(meta + grown);
        Ok(())
    }

    /// Lowers what `ino`'s chain bound counts with `release`, and the cached metadata bound
    /// with it.
    fn release_records(&mut self, ino: u64, release: impl FnOnce(&mut NsInode)) {
        let Ok(node) = ino32(ino).and_then(|i| self.ns.inode_mut(i)) else {
            return;
        };
        let before = node.chain_bound();
        release(node);
        let shrunk = before.saturating_sub(node.chain_bound());
        if let Some(b) = self.meta_bound {
            self.meta_bound = Some(b.saturating_sub(shrunk));
        }
    }

    /// Allocates up to `want` contiguous data blocks.
    pub(crate) fn alloc_data(&mut self, want: u64) -> Result<(u64, u64)> {
        if self.failed {
            return Err(EIO);
        }
        let got = self.space.alloc_data(want)?;
        self.dirty = true;
        Ok(got)
    }

    /// Allocates up to `want` contiguous blocks for preallocation.
    pub(crate) fn alloc_prealloc(&mut self, want: u64) -> Result<(u64, u64)> {
        if self.failed {
            return Err(EIO);
        }
        let meta = self.metadata_reserve();
        let got = self.space.alloc_prealloc(want, meta)?;
        self.dirty = true;
        Ok(got)
    }

    /// Replaces `[start, end)` of regular file `ino`'s records with `new` (`None`: a hole)
    /// and frees the extents no record points into any more.
    pub(crate) fn replace_records(
        &mut self,
        ino: u32,
        start: u64,
        end: u64,
        new: Option<ExtentRecord>,
    ) -> Result {
        let n = self.ns.inode_mut(ino)?;
        if n.bad {
            return Err(euclean());
        }
        if !n.disk.in_use() || n.disk.kind() != S_IFREG {
            return Err(EINVAL);
        }
        // The new record is the range: anything else would leave records overlapping.
        if new.is_some_and(|r| r.file_offset != start || r.end() != end) {
            return Err(EINVAL);
        }
        let Some(gone) = replace_range(&mut n.records, start, end, new)? else {
            return Ok(());
        };
        n.chain_dirty = true;
        n.dirty = true;
        self.ns_changed();
        // Extents are not shared between files: free one when this file is done with it.
        for (bytenr, bytes) in gone {
            self.space.free_blocks(bytenr / BS, bytes / BS);
        }
        Ok(())
    }

    /// Drops `[start, end)` from regular file `ino`'s records (a hole), keeping the parts of
    /// records that stick out, and frees the extents no record points into any more.
    pub(crate) fn drop_records(&mut self, ino: u64, start: u64, end: u64) -> Result {
        self.replace_records(ino32(ino)?, start, end, None)
    }

    /// Puts `rec` in place of what regular file `ino` has in its range.
    pub(crate) fn insert_record(&mut self, ino: u64, rec: ExtentRecord) -> Result {
        self.replace_records(ino32(ino)?, rec.file_offset, rec.end(), Some(rec))
    }

    /// Frees orphan `ino` (no link left) with its data; its chain goes with the next commit.
    pub(crate) fn delete_inode(&mut self, ino: u32) -> Result {
        // Refused before anything is freed: a file with a name keeps its data.
        let n = self.ns.inode_mut(ino)?;
        if n.bad {
            return Err(euclean());
        }
        if !n.disk.in_use() || n.disk.nlink != 0 || ino == ROOT_INO {
            return Err(EINVAL);
        }
        // Every extent goes; several records may point into one, which is freed once. Sorted in
        // place, with no allocation: eviction runs in reclaim too.
        let mut records = core::mem::replace(&mut n.records, KVVec::new());
        sort_unstable_by_key(&mut records, |r| r.disk_bytenr);
        let mut last = None;
        for r in records.iter() {
            if last != Some(r.disk_bytenr) {
                self.space
                    .free_blocks(r.disk_bytenr / BS, r.disk_num_bytes / BS);
                last = Some(r.disk_bytenr);
            }
        }
        self.ns_mut().delete(ino)
    }

    /// Frees the inodes that lost their last name before a crash (or an unmount that could not
    /// finish): in use with no link.
    pub(crate) fn delete_orphans(&mut self) -> Result {
        for ino in ROOT_INO + 1..self.ns.len() {
            let n = self.ns.inode(ino)?;
            if !n.bad && n.disk.in_use() && n.disk.nlink == 0 {
                self.delete_inode(ino)?;
            }
        }
        Ok(())
    }

    /// Writes the running state as a new commit, in the order the module doc gives. A failure
    /// past the first write is fatal: the state stays failed and nothing more is written.
    pub(crate) fn commit(&mut self, dev: &mut impl Device) -> Result {
        if self.failed {
            return Err(EIO);
        }
        if !self.dirty {
            return Ok(());
        }
        // Metadata found broken, or a feature not understood: its allocator cannot be trusted.
        if self.read_only() {
            return Err(EROFS);
        }
        // Memory first, while nothing has changed: running out of it is not fatal.
        let prepared = Commit::prepare(&self.ns)?;
        let mut buf = meta::new_block()?;
        let mut table = KVec::with_capacity(self.table.len(), GFP_KERNEL)?;
        table.extend_from_slice(&self.table, GFP_KERNEL)?;
        let mut bitmap = KVec::with_capacity(self.bitmap.len(), GFP_KERNEL)?;
        bitmap.extend_from_slice(&self.bitmap, GFP_KERNEL)?;
        let r = self.write_commit(dev, prepared, &mut buf, &mut table, &mut bitmap);
        match r {
            Ok(()) => {
                self.table = table;
                self.bitmap = bitmap;
            }
            Err(e) => {
                pr_err!("commit of generation {} failed: {:?}\n", self.transid, e);
                self.failed = true;
            }
        }
        r
    }

    fn write_commit(
        &mut self,
        dev: &mut impl Device,
        prepared: Commit,
        buf: &mut [u8; BLOCK_SIZE],
        table: &mut [u64],
        bitmap: &mut [u64],
    ) -> Result {
        let gen = self.transid;
        let mut io = Io {
            dev: &mut *dev,
            space: &mut self.space,
        };
        prepared.write(&mut self.ns, table, gen, &mut io)?;

        // The bitmap: new blocks first, so that it describes itself.
        for slot in bitmap.iter_mut() {
            let blk = self.space.alloc_meta()?;
            self.space.free_blocks(*slot, 1);
            *slot = blk;
        }
        let free_after = self.space.free_after_commit();
        for (idx, &blk) in bitmap.iter().enumerate() {
            self.space.encode_block(idx, buf)?;
            dev.write(blk, buf, false)?;
        }

        // Everything above is durable before the superblock that points to it.
        dev.flush()?;
        let sb = DiskSuperblock {
            generation: gen,
            free_blocks: free_after,
            ..self.sb
        };
        sb.encode(table, bitmap, buf).map_err(|_| EINVAL)?;
        // The other slot than the last commit's, whatever its generation's parity: writing
        // the live slot in place would leave no valid superblock if the write tore.
        let slot = 1 - self.live_slot;
        dev.write(SB_SLOTS[slot], buf, true)?;

        // The new commit is the committed state.
        self.sb = sb;
        self.live_slot = slot;
        self.space.committed_done(free_after);
        meta::committed(&mut self.ns)?;
        self.transid = gen + 1;
        self.dirty = false;
        super::debug::COMMITS.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}
