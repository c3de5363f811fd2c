// SPDX-License-Identifier: GPL-2.0

//! The metadata a [`Namespace`] owns on disk: the inode table, extent chains, directory
//! chains and symlink target blocks. [`load`] reads them at mount through the format's checks
//! (`dinode.rs`, `dirent.rs`); [`Commit`] writes what changed, copy-on-write, for a commit
//! that then writes the bitmap and the superblock (`Documentation/filesystems/emfs.rst`).
//!
//! Both go through [`BlockIo`], so that the same code runs on the device and, in the KUnit
//! suite, on a disk in memory that checks the copy-on-write rule on every write. A regular
//! file's extent chain is one of these chains; its records are the state's to change.

use super::dinode::{encode_target_block, DiskInode, S_IFLNK};
use super::dir::Dir;
use super::dirent::{decode_dir_block, ChainWalk};
use super::format::{
    decode_extent_header, encode_extent_block, extent_record, ExtentBlockHeader, ExtentRecord,
    FormatError, BLOCK_SIZE, EXTENTS_PER_BLOCK, INODES_PER_BLOCK, INODE_SIZE, SB_SLOTS, S_IFDIR,
    S_IFREG,
};
use super::namespace::Namespace;
use super::superblock::{
    bitmap_block, inode_table_block, probe, DiskSuperblock, SlotProbe, V1_REFUSED, VERSION,
};
use crate::kernel_ext::errno::euclean;
use crate::kernel_ext::vfs::{BlockReader, FileSystem, SuperBlock};
use kernel::prelude::*;

/// A zeroed block buffer, made in place on the heap: `KBox::new([0u8; BLOCK_SIZE])` builds
/// it on the stack first, 4 KiB of a 16 KiB kernel stack.
pub(crate) fn new_block() -> Result<KBox<[u8; BLOCK_SIZE]>> {
    KBox::init(kernel::init::zeroed(), GFP_KERNEL)
}

/// A copy of block `b` on the heap, made as [`new_block`] makes one.
pub(crate) fn copy_block(b: &[u8; BLOCK_SIZE]) -> Result<KBox<[u8; BLOCK_SIZE]>> {
    let mut copy = new_block()?;
    copy.copy_from_slice(b);
    Ok(copy)
}

/// Blocks in.
pub trait BlockRead {
    /// Reads block `blk`.
    fn read(&mut self, blk: u64) -> Result<KBox<[u8; BLOCK_SIZE]>>;
}

impl BlockRead for &BlockReader {
    fn read(&mut self, blk: u64) -> Result<KBox<[u8; BLOCK_SIZE]>> {
        self.read_block(blk)
    }
}

/// The device a commit writes: blocks, a superblock written with FUA (the cache flushed
/// before it, the block on stable storage when the call returns), an explicit cache flush.
pub trait Device: BlockRead {
    /// Writes block `blk` and waits; with `fua` as a commit's superblock.
    fn write(&mut self, blk: u64, b: &[u8; BLOCK_SIZE], fua: bool) -> Result;
    /// Flushes the device's volatile write cache.
    fn flush(&mut self) -> Result;
}

impl<T: FileSystem> BlockRead for &SuperBlock<T> {
    fn read(&mut self, blk: u64) -> Result<KBox<[u8; BLOCK_SIZE]>> {
        self.read_block(blk)
    }
}

impl<T: FileSystem> Device for &SuperBlock<T> {
    fn write(&mut self, blk: u64, b: &[u8; BLOCK_SIZE], fua: bool) -> Result {
        self.write_block(blk, b, fua)
    }

    fn flush(&mut self) -> Result {
        SuperBlock::flush(self)
    }
}

/// Blocks in and out, and the allocator of the state being committed.
pub trait BlockIo: BlockRead {
    /// Writes block `blk`, which [`BlockIo::alloc`] gave.
    fn write(&mut self, blk: u64, b: &[u8; BLOCK_SIZE]) -> Result;
    /// A block that neither the last commit nor the running state uses.
    fn alloc(&mut self) -> Result<u64>;
    /// Frees `blk` in the running state (the last commit may still use it).
    fn free(&mut self, blk: u64);
}

/// Reads the extent chain of inode `ino` from `first` and checks it: each record by the rules
/// `fsck.emfs` applies too ([`ExtentRecord::validate_in_file`] against the file's `size`, the
/// commit's `generation` and the `total_blocks`), each block's owner and generation, and the
/// `count`. Returns the records and the chain's blocks; a broken rule is `-EUCLEAN`, reported.
pub fn read_extent_chain(
    io: &mut impl BlockRead,
    ino: u32,
    (first, count, size): (u64, u32, u64),
    generation: u64,
    total_blocks: u64,
) -> Result<(KVVec<ExtentRecord>, KVec<u64>)> {
    let bad = |what: &str| {
        pr_err!("inode {}: {}\n", ino, what);
        euclean()
    };
    // The count comes from disk: checked against what the file system could hold before it
    // sizes anything, and the records are allocated as they are read, not from the count (a
    // crafted count made the mount size a huge allocation, which warns in the page allocator).
    let count = count as usize;
    let chain_max = usize::try_from(total_blocks).unwrap_or(usize::MAX);
    if count.div_ceil(EXTENTS_PER_BLOCK) > chain_max {
        return Err(bad("extent count beyond the file system"));
    }
    let mut records = KVVec::with_capacity(count.min(EXTENTS_PER_BLOCK), GFP_KERNEL)?;
    let mut chain = KVec::new();
    let mut blk = first;
    // A chain cannot be longer than its records need; anything else is a loop.
    let mut budget = count.div_ceil(EXTENTS_PER_BLOCK) + 1;
    while blk != 0 {
        budget = budget
            .checked_sub(1)
            .ok_or_else(|| bad("extent chain too long"))?;
        if blk < 2 || blk >= total_blocks {
            return Err(bad("extent block out of range"));
        }
        let block = io.read(blk)?;
        let h = decode_extent_header(&block).map_err(|_| bad("bad extent block"))?;
        if h.ino != ino {
            return Err(bad("extent block of another inode"));
        }
        if h.generation > generation {
            return Err(bad("extent block from a future generation"));
        }
        chain.push(blk, GFP_KERNEL)?;
        for n in 0..h.count as usize {
            let r = extent_record(&block, n);
            let prev_end = records.last().map_or(0, ExtentRecord::end);
            if let Err(e) = r.validate_in_file(prev_end, size, generation, total_blocks) {
                return Err(bad(e.what()));
            }
            records.push(r, GFP_KERNEL)?;
        }
        blk = h.next;
    }
    if records.len() != count {
        return Err(bad("extent count mismatch"));
    }
    Ok((records, chain))
}

/// The superblock a mount uses, with its block lists.
pub struct Mounted {
    /// The header of the newest valid slot.
    pub sb: DiskSuperblock,
    /// Its inode-table blocks.
    pub table: KVec<u64>,
    /// Its bitmap blocks.
    pub bitmap: KVec<u64>,
    /// It has a read-only-compatible feature this code does not know: read-only.
    pub read_only: bool,
    /// Which of [`SB_SLOTS`] it was read from.
    pub slot: usize,
}

/// Chooses between the two superblock slots as `fsck.emfs` does: among the slots that keep
/// what every version keeps (magic, block size, checksum) and are of version 1 or 2, the one of
/// the highest generation; then refuses version 1 (`-EINVAL`, [`V1_REFUSED`]), a slot whose
/// fields break the rules (`-EUCLEAN`) and unknown incompatible features (`-EINVAL`).
pub fn read_superblock(io: &mut impl BlockRead) -> Result<Mounted> {
    let mut best: Option<(SlotProbe, KBox<[u8; BLOCK_SIZE]>, usize)> = None;
    let mut why = None;
    for (i, slot) in SB_SLOTS.into_iter().enumerate() {
        let b = io.read(slot)?;
        match probe(&b) {
            Ok(p) if p.version == 1 || p.version == VERSION => {
                if best
                    .as_ref()
                    .map_or(true, |(q, _, _)| p.generation > q.generation)
                {
                    best = Some((p, b, i));
                }
            }
            Ok(_) => why = Some(FormatError::Unsupported),
            Err(e) => why = Some(e),
        }
    }
    let Some((p, b, slot)) = best else {
        pr_err!("no valid superblock: {:?}\n", why);
        return Err(match why {
            Some(FormatError::BadChecksum) => euclean(),
            _ => EINVAL,
        });
    };
    if p.version != VERSION {
        pr_err!("{}\n", V1_REFUSED);
        return Err(EINVAL);
    }
    let sb = DiskSuperblock::decode(&b).map_err(|e| {
        pr_err!("superblock (generation {}): {}\n", p.generation, e.what());
        euclean()
    })?;
    let read_only = sb.read_only_features().map_err(|_| {
        pr_err!("unknown incompatible features {:#x}\n", sb.incompat);
        EINVAL
    })?;
    if read_only {
        pr_warn!(
            "unknown read-only-compatible features {:#x}: read-only\n",
            sb.ro_compat
        );
    }
    let mut table = KVec::with_capacity(sb.inode_table_blocks as usize, GFP_KERNEL)?;
    for i in 0..sb.inode_table_blocks as usize {
        table.push(inode_table_block(&b, i), GFP_KERNEL)?;
    }
    let mut bitmap = KVec::with_capacity(sb.bitmap_blocks as usize, GFP_KERNEL)?;
    for i in 0..sb.bitmap_blocks as usize {
        bitmap.push(bitmap_block(&b, i), GFP_KERNEL)?;
    }
    Ok(Mounted {
        sb,
        table,
        bitmap,
        read_only,
        slot,
    })
}

/// What the loaded metadata says of itself beyond single slots.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Loaded {
    /// Slots (or what they own) that did not load: marked bad.
    pub bad: u32,
}

/// Reads the inode table `table` (of `inode_count` slots) of a commit of generation
/// `generation` on a file system of `total_blocks`, with each directory's chain and each long
/// symlink's target. A slot that breaks a rule of its own, or owns a chain that does, is marked
/// bad and reported; an I/O error or lack of memory fails the load.
pub fn load(
    io: &mut impl BlockRead,
    table: &[u64],
    generation: u64,
    total_blocks: u64,
) -> Result<(Namespace, Loaded)> {
    let count = table.len() * INODES_PER_BLOCK;
    let mut ns = Namespace::empty(u32::try_from(count).map_err(|_| EINVAL)?)?;
    let mut loaded = Loaded::default();
    for (idx, &blk) in table.iter().enumerate() {
        let block = io.read(blk)?;
        for slot in 0..INODES_PER_BLOCK {
            let ino = (idx * INODES_PER_BLOCK + slot) as u32;
            let raw = &block[slot * INODE_SIZE..(slot + 1) * INODE_SIZE];
            let r = match DiskInode::decode(raw, ino) {
                Ok(d) if !d.in_use() => continue,
                Ok(d) if d.generation > generation => Err(euclean()),
                Ok(d) => load_owned(io, &mut ns, d, generation, total_blocks),
                Err(e) => {
                    pr_err!("inode {}: {}\n", ino, e.what());
                    Err(euclean())
                }
            };
            match r {
                Ok(()) => {}
                Err(e) if e == ENOMEM || e == EIO => return Err(e),
                Err(_) => {
                    pr_err!("inode {}: bad slot, directory or target\n", ino);
                    ns.inode_mut(ino)?.bad = true;
                    loaded.bad += 1;
                }
            }
        }
    }
    Ok((ns, loaded))
}

/// Fills node `d.ino` with `d` and what it owns.
fn load_owned(
    io: &mut impl BlockRead,
    ns: &mut Namespace,
    d: DiskInode,
    generation: u64,
    total_blocks: u64,
) -> Result {
    let in_range = |blk: u64| (2..total_blocks).contains(&blk);
    let mut chain = KVec::new();
    let mut dir = None;
    let mut target = KVec::new();
    let mut records = KVVec::new();
    match d.kind() {
        S_IFREG => {
            let f = (d.first_block, d.count, d.size);
            (records, chain) = read_extent_chain(io, d.ino, f, generation, total_blocks)?;
        }
        S_IFDIR => {
            let mut entries = Dir::loading(d.next_cookie)?;
            let mut walk = ChainWalk::new(d.count, d.next_cookie);
            let mut blk = d.first_block;
            while blk != 0 {
                // The walk refuses a block past the count, so a loop ends within it.
                if !in_range(blk) {
                    return Err(euclean());
                }
                let b = io.read(blk)?;
                let h = decode_dir_block(&b, d.ino, generation).map_err(|_| euclean())?;
                chain.push(blk, GFP_KERNEL)?;
                blk = entries.load_block(&mut walk, &b, &h)?;
            }
            // The size is the namespace check's (read-only on failure), not the slot's.
            walk.finish(d.size).map_err(|_| euclean())?;
            dir = Some(entries);
        }
        S_IFLNK if d.target_inline() => {
            let t = d.inline_target().ok_or_else(euclean)?;
            target.extend_from_slice(t, GFP_KERNEL)?;
        }
        S_IFLNK => {
            if !in_range(d.first_block) {
                return Err(euclean());
            }
            let b = io.read(d.first_block)?;
            let t = d.block_target(&b).map_err(|_| euclean())?;
            target.extend_from_slice(t, GFP_KERNEL)?;
            chain.push(d.first_block, GFP_KERNEL)?;
        }
        _ => {}
    }
    let n = ns.inode_mut(d.ino)?;
    n.disk = d;
    n.dir = dir;
    n.target = target;
    n.records = records;
    n.chain = chain;
    Ok(())
}

/// Blocks a node's chain takes when written.
fn chain_len(n: &super::namespace::NsInode) -> usize {
    if !n.disk.in_use() {
        return 0;
    }
    match n.disk.kind() {
        S_IFREG => n.records.len().div_ceil(EXTENTS_PER_BLOCK),
        S_IFDIR => n.dir.as_ref().map_or(0, Dir::blocks),
        S_IFLNK if !n.disk.target_inline() => 1,
        _ => 0,
    }
}

/// The metadata part of one commit. [`Commit::prepare`] allocates every buffer first; after
/// it, [`Commit::write`] allocates no memory, as a commit past its point of no return must.
pub struct Commit {
    /// Nodes whose chain is rewritten, its length, and room for its new blocks.
    chains: KVec<(u32, usize, KVec<u64>)>,
    buf: KBox<[u8; BLOCK_SIZE]>,
}

impl Commit {
    /// Allocates what writing `ns`'s changes needs. A namespace with a bad slot is never
    /// written (its mount is read-only): `-EUCLEAN`.
    pub fn prepare(ns: &Namespace) -> Result<Self> {
        let mut chains = KVec::new();
        for ino in 0..ns.len() {
            let n = ns.inode(ino)?;
            if n.bad {
                return Err(euclean());
            }
            if n.chain_dirty {
                let len = chain_len(n);
                chains.push(
                    (ino, len, KVec::with_capacity(len, GFP_KERNEL)?),
                    GFP_KERNEL,
                )?;
            }
        }
        Ok(Commit {
            chains,
            buf: new_block()?,
        })
    }

    /// Writes generation `gen`'s metadata of `ns`: new chains for the nodes whose chain
    /// changed (the old ones freed), then a new block for every inode-table block of `table`
    /// holding a changed slot (updated in place). A failure here leaves the running state
    /// half written: the caller's commit fails for good.
    pub fn write(
        mut self,
        ns: &mut Namespace,
        table: &mut [u64],
        gen: u64,
        io: &mut impl BlockIo,
    ) -> Result {
        let buf = &mut *self.buf;
        for (ino, len, mut blocks) in core::mem::take(&mut self.chains) {
            let n = ns.inode_mut(ino)?;
            for _ in 0..len {
                // Within the capacity `prepare` allocated.
                blocks.push(io.alloc()?, GFP_NOWAIT)?;
            }
            for blk in core::mem::take(&mut n.chain) {
                io.free(blk);
            }
            match n.disk.kind() {
                S_IFREG if n.disk.in_use() => {
                    for (i, records) in n.records.chunks(EXTENTS_PER_BLOCK).enumerate() {
                        let header = ExtentBlockHeader {
                            count: records.len() as u32,
                            ino,
                            next: blocks.get(i + 1).copied().unwrap_or(0),
                            generation: gen,
                        };
                        encode_extent_block(buf, &header, records).map_err(|_| EINVAL)?;
                        io.write(blocks[i], buf)?;
                    }
                    n.disk.count = n.records.len() as u32;
                }
                S_IFDIR if n.disk.in_use() => {
                    let dir = n.dir.as_ref().ok_or(EINVAL)?;
                    dir.write_chain(ino, gen, &blocks, buf, |blk, b| io.write(blk, b))?;
                }
                S_IFLNK if n.disk.in_use() && !blocks.is_empty() => {
                    encode_target_block(buf, &n.target).map_err(|_| EINVAL)?;
                    io.write(blocks[0], buf)?;
                    n.disk.set_target(&n.target, buf);
                }
                _ => {}
            }
            if n.disk.in_use() && matches!(n.disk.kind(), S_IFREG | S_IFDIR | S_IFLNK) {
                n.disk.first_block = blocks.first().copied().unwrap_or(0);
            }
            n.chain = blocks;
            n.dirty = true;
        }

        for (idx, slot) in table.iter_mut().enumerate() {
            let range = idx * INODES_PER_BLOCK..(idx + 1) * INODES_PER_BLOCK;
            let mut changed = false;
            for ino in range.clone() {
                changed |= ns.inode(ino as u32)?.dirty;
            }
            if !changed {
                continue;
            }
            let blk = io.alloc()?;
            io.free(*slot);
            *slot = blk;
            buf.fill(0);
            for (n, ino) in range.enumerate() {
                let node = ns.inode_mut(ino as u32)?;
                if node.dirty && node.disk.in_use() {
                    node.disk.generation = gen;
                }
                // A free slot is all zeros, checksum included.
                node.disk
                    .encode(&mut buf[n * INODE_SIZE..(n + 1) * INODE_SIZE]);
            }
            io.write(blk, buf)?;
        }
        Ok(())
    }
}

/// After the superblock of a commit is on disk: nothing of `ns` is dirty any more.
pub fn committed(ns: &mut Namespace) -> Result {
    for ino in 0..ns.len() {
        let n = ns.inode_mut(ino)?;
        n.dirty = false;
        n.chain_dirty = false;
    }
    Ok(())
}
