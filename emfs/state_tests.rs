// SPDX-License-Identifier: GPL-2.0

//! KUnit suite `emfs_state`: the mounted state ([`super::state::State`]) on a device in
//! memory that keeps what a real one would keep after a power cut (what was flushed, and a FUA
//! write) and counts every write that breaks the commit's rules: to a block the last commit
//! owns, a superblock without FUA, a superblock before the writes it points to were flushed.
//! Commits are read back equal; a commit cut at each of its writes in turn leaves the last one
//! whole; orphans are freed with their blocks.

use super::dinode::S_IFLNK;
use super::format::{
    bitmap_set, seal_block, ExtentRecord, BITS_PER_BITMAP_BLOCK, BLOCK_SIZE, CSUM_OFFSET,
    EXTENTS_PER_BLOCK, EXTENT_REGULAR, ROOT_INO, SB_SLOTS, S_IFDIR, S_IFREG,
};
use super::meta::{self, committed, BlockIo, BlockRead, Commit, Device};
use super::namespace::{Make, Namespace, Time};
use super::namespace_tests::digest;
use super::state::{NsOp, State};
use super::superblock::DiskSuperblock;
use crate::kernel_ext::kunit::{kunit_assert, kunit_assert_eq, Test};
use kernel::prelude::*;

const NOW: Time = (1_700_000_000, 0);
const TOTAL: u64 = 512;
const BS: u64 = BLOCK_SIZE as u64;

/// A device in memory.
struct MemDev {
    /// What reads see.
    now: KVec<KBox<[u8; BLOCK_SIZE]>>,
    /// What a power cut would leave: the last flush, and FUA writes.
    durable: KVec<KBox<[u8; BLOCK_SIZE]>>,
    /// Blocks the last commit owns: none may be written.
    protect: KVec<bool>,
    /// Writes since the last flush.
    unflushed: u32,
    /// Writes so far; the `fail_at`th fails, and every one after it.
    writes: u32,
    fail_at: Option<u32>,
    /// Broken rules, counted.
    cow: u32,
    order: u32,
}

fn zeros(n: u64) -> Result<KVec<KBox<[u8; BLOCK_SIZE]>>> {
    let mut v = KVec::with_capacity(n as usize, GFP_KERNEL)?;
    for _ in 0..n {
        v.push(meta::new_block()?, GFP_KERNEL)?;
    }
    Ok(v)
}

fn copy(from: &KVec<KBox<[u8; BLOCK_SIZE]>>, to: &mut KVec<KBox<[u8; BLOCK_SIZE]>>) {
    for (t, f) in to.iter_mut().zip(from.iter()) {
        t.copy_from_slice(&f[..]);
    }
}

impl MemDev {
    fn new() -> Result<Self> {
        Self::with_blocks(TOTAL)
    }

    fn with_blocks(total: u64) -> Result<Self> {
        Ok(MemDev {
            now: zeros(total)?,
            durable: zeros(total)?,
            protect: KVec::from_elem(false, total as usize, GFP_KERNEL)?,
            unflushed: 0,
            writes: 0,
            fail_at: None,
            cow: 0,
            order: 0,
        })
    }

    /// The power is cut: what reads see is what was durable.
    fn crash(&mut self) {
        copy(&self.durable, &mut self.now);
        self.unflushed = 0;
        self.fail_at = None;
    }

    /// The blocks the committed state on the device owns (its bitmap's bits, read back) are
    /// protected from now on, as is the slot of its superblock.
    fn protect_committed(&mut self, st: &State) {
        for blk in 0..self.protect.len() {
            self.protect[blk] = st.committed_block(blk as u64);
        }
        for slot in SB_SLOTS {
            self.protect[slot as usize] = false;
        }
        self.protect[SB_SLOTS[st.live_slot()] as usize] = true;
    }
}

impl BlockRead for MemDev {
    fn read(&mut self, blk: u64) -> Result<KBox<[u8; BLOCK_SIZE]>> {
        let b = self.now.get(blk as usize).ok_or(EIO)?;
        meta::copy_block(b)
    }
}

impl Device for MemDev {
    fn write(&mut self, blk: u64, b: &[u8; BLOCK_SIZE], fua: bool) -> Result {
        if self.fail_at.is_some_and(|n| self.writes >= n) {
            return Err(EIO);
        }
        self.writes += 1;
        let i = blk as usize;
        if self.protect.get(i) != Some(&false) {
            self.cow += 1;
        }
        let is_sb = SB_SLOTS.contains(&blk);
        if is_sb != fua || (is_sb && self.unflushed > 0) {
            self.order += 1;
        }
        self.now.get_mut(i).ok_or(EIO)?.copy_from_slice(b);
        if fua {
            // FUA with its preflush: everything before it, and it, is durable.
            copy(&self.now, &mut self.durable);
            self.unflushed = 0;
        } else {
            self.unflushed += 1;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result {
        if self.fail_at.is_some_and(|n| self.writes >= n) {
            return Err(EIO);
        }
        copy(&self.now, &mut self.durable);
        self.unflushed = 0;
        Ok(())
    }
}

/// Allocates upwards from `next` on a device being formatted.
struct Bump<'a> {
    dev: &'a mut MemDev,
    next: u64,
}

impl BlockRead for Bump<'_> {
    fn read(&mut self, blk: u64) -> Result<KBox<[u8; BLOCK_SIZE]>> {
        self.dev.read(blk)
    }
}

impl BlockIo for Bump<'_> {
    fn write(&mut self, blk: u64, b: &[u8; BLOCK_SIZE]) -> Result {
        self.dev.write(blk, b, false)
    }

    fn alloc(&mut self) -> Result<u64> {
        self.next += 1;
        Ok(self.next - 1)
    }

    fn free(&mut self, _blk: u64) {}
}

/// A new file system on `dev`, as mkfs.emfs would make it: slots 0 and 1, four inode-table
/// blocks (64 inodes), one bitmap block, an empty root; generation 1 in slot 0.
fn format(dev: &mut MemDev) -> Result {
    let total = dev.now.len() as u64;
    let mut ns = Namespace::new(64, 0o755, 0, 0, NOW)?;
    let mut table = [2u64, 3, 4, 5];
    let bitmap = [6u64];
    let mut io = Bump { dev, next: 7 };
    Commit::prepare(&ns)?.write(&mut ns, &mut table, 1, &mut io)?;
    committed(&mut ns)?;
    // Owned: the slots, the table (block 2 was replaced by the commit), the bitmap, and what
    // the commit allocated from 7 on.
    let next = io.next;
    let owned = |blk: u64| blk < 2 || table.contains(&blk) || blk == bitmap[0] || blk >= 7;
    let mut b = meta::new_block()?;
    let mut used = 0;
    for bit in 0..BITS_PER_BITMAP_BLOCK {
        if bit >= total || (bit < next && owned(bit)) {
            bitmap_set(&mut b[..CSUM_OFFSET], bit, true);
            used += u64::from(bit < total);
        }
    }
    seal_block(&mut b);
    dev.write(bitmap[0], &b, false)?;
    dev.flush()?;
    let sb = DiskSuperblock {
        generation: 1,
        total_blocks: total,
        inode_count: 64,
        inode_table_blocks: 4,
        bitmap_blocks: 1,
        free_blocks: total - used,
        uuid: [3; 16],
        compat: 0,
        ro_compat: 0,
        incompat: 0,
    };
    sb.encode(&table, &bitmap, &mut b).map_err(|_| EINVAL)?;
    dev.write(SB_SLOTS[0], &b, true)
}

fn make(mode: u16, target: &[u8]) -> Make<'_> {
    Make {
        mode,
        uid: 0,
        gid: 0,
        rdev: 0,
        target,
    }
}

/// Some of everything: directories, a file with data extents, symlinks, an orphan.
fn populate(st: &mut State, round: u32) -> Result {
    let mut name = *b"dir-0";
    name[4] = b'0' + (round % 10) as u8;
    let d = st
        .ns_mut()
        .make(ROOT_INO, &name, &make(S_IFDIR | 0o755, b""), NOW)?;
    let f = st
        .ns_mut()
        .make(d, b"file", &make(S_IFREG | 0o644, b""), NOW)?;
    st.ns_mut()
        .make(d, b"link", &make(S_IFLNK | 0o777, &[b'x'; 300]), NOW)?;
    for i in 0..3u64 {
        let (blk, n) = st.alloc_data(2)?;
        let r = ExtentRecord::whole(i * 2 * BS, n * BS, blk * BS, st.transid, EXTENT_REGULAR);
        st.replace_records(f, r.file_offset, r.end(), Some(r))?;
    }
    st.ns_mut().inode_mut(f)?.disk.size = 6 * BS;
    // An orphan: unlinked while (as far as the state knows) still open.
    let o = st
        .ns_mut()
        .make(d, b"orphan", &make(S_IFREG | 0o600, b""), NOW)?;
    let (blk, _) = st.alloc_data(1)?;
    let r = ExtentRecord::whole(0, BS, blk * BS, st.transid, EXTENT_REGULAR);
    st.replace_records(o, 0, BS, Some(r))?;
    st.ns_mut().inode_mut(o)?.disk.size = BS;
    st.ns_mut().unlink(d, b"orphan", NOW)?;
    Ok(())
}

/// A fresh file system loads clean; commits of every kind of change read back equal, with no
/// rule of the commit broken; an orphan left by a commit is freed, with its blocks, by the
/// next mount's `delete_orphans`.
pub(crate) fn state_commit_and_load(t: &mut Test) -> Result {
    let mut dev = MemDev::new()?;
    format(&mut dev)?;
    let mut st = State::load(&mut dev, TOTAL)?;
    kunit_assert_eq!(t, (st.problems, st.read_only()), (0, false));
    let free0 = st.statfs_free();
    for round in 0..3 {
        dev.protect_committed(&st);
        populate(&mut st, round)?;
        st.commit(&mut dev)?;
        let back = State::load(&mut dev, TOTAL)?;
        kunit_assert_eq!(t, back.problems, 0);
        kunit_assert!(
            t,
            digest(back.ns())? == digest(st.ns())?,
            "round {round} differs"
        );
        st = back;
    }
    kunit_assert_eq!(t, (dev.cow, dev.order), (0, 0));

    // The three orphans, with their data blocks, go at the next mount.
    let orphans = |st: &State| {
        (0..st.ns().len())
            .filter(|&i| {
                st.ns()
                    .inode(i)
                    .is_ok_and(|n| n.disk.in_use() && n.disk.nlink == 0)
            })
            .count()
    };
    kunit_assert_eq!(t, orphans(&st), 3);
    let before = st.statfs_free();
    st.delete_orphans()?;
    dev.protect_committed(&st);
    st.commit(&mut dev)?;
    let st = State::load(&mut dev, TOTAL)?;
    kunit_assert_eq!(t, (orphans(&st), st.problems), (0, 0));
    // Each orphan held one data block (its chain, one extent block, is freed too).
    kunit_assert!(t, st.statfs_free() >= before + 3);
    kunit_assert!(t, st.statfs_free() < free0);
    kunit_assert_eq!(t, (dev.cow, dev.order), (0, 0));
    Ok(())
}

/// A commit cut by a power loss at each of its writes in turn: the device then holds the last
/// commit whole (or, cut after the superblock, the new one), never a mix.
pub(crate) fn state_commit_cut_anywhere(t: &mut Test) -> Result {
    let mut dev = MemDev::new()?;
    format(&mut dev)?;
    let mut st = State::load(&mut dev, TOTAL)?;
    populate(&mut st, 0)?;
    st.commit(&mut dev)?;
    let old = digest(State::load(&mut dev, TOTAL)?.ns())?;
    let base = dev.writes;

    let mut cut = 0;
    loop {
        // The same change each time, on the state of the last commit.
        let mut st = State::load(&mut dev, TOTAL)?;
        dev.protect_committed(&st);
        populate(&mut st, 1)?;
        let new = digest(st.ns())?;
        dev.writes = base;
        dev.fail_at = Some(base + cut);
        let done = st.commit(&mut dev).is_ok();
        kunit_assert!(t, done || st.failed, "a failed commit must fail the state");
        kunit_assert!(t, st.commit(&mut dev).is_err() || done);
        dev.crash();
        let back = State::load(&mut dev, TOTAL)?;
        kunit_assert_eq!(t, back.problems, 0);
        let got = digest(back.ns())?;
        if done {
            kunit_assert!(t, got == new, "the finished commit did not land");
            break;
        }
        kunit_assert!(t, got == old, "cut at write {cut}: not the last commit");
        cut += 1;
        kunit_assert!(t, cut < 200, "the commit never finished");
    }
    kunit_assert!(
        t,
        cut > 5,
        "only {cut} cut points: the commit writes too little?"
    );
    kunit_assert_eq!(t, (dev.cow, dev.order), (0, 0));
    Ok(())
}

/// What dirty data may be promised leaves the next commit's metadata its blocks; space freed
/// since the last commit is promised only after the next one; preallocation takes what can
/// be promised and no more.
pub(crate) fn state_space_promises(t: &mut Test) -> Result {
    let mut dev = MemDev::new()?;
    format(&mut dev)?;
    let mut st = State::load(&mut dev, TOTAL)?;
    let g = st.ns_op(NsOp::Adds, |ns| {
        ns.make(ROOT_INO, b"g", &make(S_IFREG | 0o644, b""), NOW)
    })?;
    let g = u64::from(g);
    let free = st.statfs_free();
    // Promise blocks one by one until refused: fewer than are free (the metadata reserve),
    // and as many as `statfs` said could be.
    let avail = st.statfs_avail();
    let mut promised = 0;
    while st.reserve(g, 1).is_ok() {
        promised += 1;
        kunit_assert!(t, promised <= free, "more promised than free");
    }
    kunit_assert!(t, promised > 0 && promised < free);
    kunit_assert_eq!(t, st.statfs_avail(), 0);
    // Each promise also counts the records it may add: statfs's figure is an upper bound,
    // short by at most one chain block per 31 blocks promised to one file.
    kunit_assert!(
        t,
        promised <= avail && avail - promised <= promised.div_ceil(31),
        "statfs said {avail} blocks, {promised} were promised"
    );
    kunit_assert_eq!(t, st.statfs_free(), free - promised);
    st.unreserve(g, promised);
    kunit_assert_eq!(t, st.statfs_free(), free);
    kunit_assert_eq!(t, st.statfs_avail(), avail);

    // Preallocation takes all that statfs says can be promised, then nothing more.
    let (blk, n) = st.alloc_prealloc(u64::MAX)?;
    kunit_assert!(t, n > 0 && n <= avail, "{n} blocks preallocated of {avail}");
    let mut more = 0;
    while let Ok((_, m)) = st.alloc_prealloc(u64::MAX) {
        more += m;
        kunit_assert!(t, n + more <= avail, "preallocation past the reserve");
    }
    kunit_assert!(t, st.reserve(g, 1).err() == Some(ENOSPC));

    // Freed blocks that the last commit did not use are free at once.
    kunit_assert!(t, !st.commit_frees_space());
    st.free_blocks(blk, n);
    kunit_assert!(t, st.reserve(g, 1).is_ok());
    st.unreserve(g, 1);

    // A committed file's data, freed: promised only after the next commit.
    let f = st
        .ns_mut()
        .make(ROOT_INO, b"f", &make(S_IFREG | 0o644, b""), NOW)?;
    let (d, _) = st.alloc_data(1)?;
    let r = ExtentRecord::whole(0, BS, d * BS, st.transid, EXTENT_REGULAR);
    st.replace_records(f, 0, BS, Some(r))?;
    st.ns_mut().inode_mut(f)?.disk.size = BS;
    st.commit(&mut dev)?;
    st.replace_records(f, 0, BS, None)?;
    kunit_assert!(t, st.commit_frees_space());
    st.commit(&mut dev)?;
    kunit_assert!(t, !st.commit_frees_space());
    kunit_assert_eq!(t, (dev.cow, dev.order), (0, 0));
    Ok(())
}

/// The newest superblock in slot 1 at an odd generation (as a crafted or fuzzed image may have
/// it): the next commit goes to slot 0, never over the only valid superblock in place.
pub(crate) fn state_superblock_other_slot(t: &mut Test) -> Result {
    let mut dev = MemDev::new()?;
    format(&mut dev)?;
    // Slot 1: slot 0's superblock at generation 3, re-sealed.
    let mut b = dev.read(SB_SLOTS[0])?;
    b[16..24].copy_from_slice(&3u64.to_le_bytes());
    seal_block(&mut b);
    dev.write(SB_SLOTS[1], &b, true)?;
    let mut st = State::load(&mut dev, TOTAL)?;
    kunit_assert_eq!(t, (st.sb.generation, st.live_slot()), (3, 1));
    dev.protect_committed(&st);
    populate(&mut st, 0)?;
    st.commit(&mut dev)?;
    kunit_assert_eq!(t, (dev.cow, dev.order), (0, 0));
    let back = State::load(&mut dev, TOTAL)?;
    kunit_assert_eq!(t, (back.sb.generation, back.live_slot()), (4, 0));
    kunit_assert!(t, digest(back.ns())? == digest(st.ns())?);
    Ok(())
}

/// A full disk: once data holds every block it may, an operation that adds a name is refused
/// (`-ENOSPC`, nothing made), a rename still goes through the global reserve and a removal needs
/// nothing; the commit after them takes none of the blocks promised to data.
pub(crate) fn state_namespace_reserve(t: &mut Test) -> Result {
    let mut dev = MemDev::new()?;
    format(&mut dev)?;
    let mut st = State::load(&mut dev, TOTAL)?;
    let a = st.ns_op(NsOp::Adds, |ns| {
        ns.make(ROOT_INO, b"a", &make(S_IFREG | 0o644, b""), NOW)
    })?;
    let a = u64::from(a);
    let mut promised = 0;
    while st.reserve(a, 1).is_ok() {
        promised += 1;
    }
    // Symlinks with a target block each, until refused.
    let mut made = 0u8;
    let before = digest(st.ns())?;
    while made < 60 {
        let name = [b'l', b'0' + made / 10, b'0' + made % 10];
        let link = make(S_IFLNK | 0o777, &[b'x'; 300]);
        match st.ns_op(NsOp::Adds, |ns| ns.make(ROOT_INO, &name, &link, NOW)) {
            Ok(_) => made += 1,
            Err(e) => {
                kunit_assert!(t, e == ENOSPC, "refused with {e:?}");
                break;
            }
        }
    }
    kunit_assert_eq!(t, made, 0);
    kunit_assert!(
        t,
        digest(st.ns())? == before,
        "a refused operation changed the namespace"
    );
    st.ns_op(NsOp::Moves, |ns| {
        ns.rename((ROOT_INO, b"a"), (ROOT_INO, b"b"), 0, (0, 0), NOW)
    })?;
    st.ns_op(NsOp::Removes, |ns| ns.unlink(ROOT_INO, b"b", NOW))?;
    st.commit(&mut dev)?;
    // Every promised block can still be allocated.
    let mut got = 0;
    while got < promised {
        let (_, n) = st.alloc_data(promised - got)?;
        got += n;
    }
    st.unreserve(a, promised);
    kunit_assert_eq!(t, (dev.cow, dev.order), (0, 0));
    Ok(())
}

/// Scattered dirty blocks in many files fill the disk, half of them splitting a committed extent
/// in three: writeback records every promised block, each in an allocation of its own, and the
/// commit after it still finds every metadata block it needs. (Before each promise counted the
/// records it may add, the commit failed here with `-ENOSPC`.)
pub(crate) fn state_writeback_keeps_promises(t: &mut Test) -> Result {
    const FILES: u64 = 16;
    const EXTENT: u64 = 64;
    let mut dev = MemDev::with_blocks(4096)?;
    format(&mut dev)?;
    let mut st = State::load(&mut dev, 4096)?;
    let mut files = KVec::new();
    for i in 0..FILES as u8 {
        let name = [b'f', b'a' + i];
        let f = st.ns_op(NsOp::Adds, |ns| {
            ns.make(ROOT_INO, &name, &make(S_IFREG | 0o644, b""), NOW)
        })?;
        // One extent, or a few where free space is cut (the blocks the first commit freed).
        let mut got = 0;
        while got < EXTENT {
            let (blk, n) = st.alloc_data(EXTENT - got)?;
            let r = ExtentRecord::whole(got * BS, n * BS, blk * BS, st.transid, EXTENT_REGULAR);
            st.replace_records(f, got * BS, (got + n) * BS, Some(r))?;
            got += n;
        }
        st.ns_mut().inode_mut(f)?.disk.size = EXTENT * BS;
        files.push(f, GFP_KERNEL)?;
    }
    st.commit(&mut dev)?;
    // Every other block of each file, round robin: inside its extent first, then past it.
    let mut dirty = KVec::new();
    let mut k = 0u64;
    'fill: loop {
        for &f in files.iter() {
            if st.reserve(u64::from(f), 1).is_err() {
                break 'fill;
            }
            dirty.push((f, 2 * k + 1), GFP_KERNEL)?;
        }
        k += 1;
    }
    kunit_assert!(t, k > EXTENT, "only {k} blocks promised per file");
    kunit_assert_eq!(t, st.statfs_avail(), 0);
    // Writeback, one allocation a block: the promise becomes the allocation, the write is
    // recorded.
    for &(f, b) in dirty.iter() {
        let (blk, n) = st.alloc_data(1)?;
        kunit_assert_eq!(t, n, 1);
        st.unreserve_data(1);
        let r = ExtentRecord::whole(b * BS, BS, blk * BS, st.transid, EXTENT_REGULAR);
        st.replace_records(f, b * BS, (b + 1) * BS, Some(r))?;
        st.written(u64::from(f), 1);
        let disk = &mut st.ns_mut().inode_mut(f)?.disk;
        disk.size = disk.size.max((b + 1) * BS);
    }
    let records = st.ns().inode(files[0])?.records.len();
    kunit_assert!(
        t,
        records > 2 * EXTENTS_PER_BLOCK,
        "{records} records: too few to test"
    );
    st.commit(&mut dev)?;
    kunit_assert_eq!(t, (dev.cow, dev.order), (0, 0));
    let back = State::load(&mut dev, 4096)?;
    kunit_assert_eq!(t, back.problems, 0);
    kunit_assert!(t, digest(back.ns())? == digest(st.ns())?);
    Ok(())
}
