// SPDX-License-Identifier: GPL-2.0

//! KUnit suite `emfs_meta`: a namespace written by [`super::meta::Commit`] to a disk
//! in memory and read back by [`super::meta::load`], equal to what was written, with no block
//! of the last commit overwritten and none leaked; and damaged blocks found on the way in.

use super::dinode::{INLINE_TARGET_MAX, S_IFCHR, S_IFLNK};
use super::format::{
    seal_block, ExtentRecord, BLOCK_SIZE, EXTENTS_PER_BLOCK, EXTENT_REGULAR, ROOT_INO, SB_SLOTS,
    S_IFDIR, S_IFREG,
};
use super::meta::{self, committed, load, read_superblock, BlockIo, BlockRead, Commit};
use super::namespace::{Make, Namespace, Time};
use super::namespace_tests::digest;
use super::ownership::check_blocks;
use super::superblock::DiskSuperblock;
use crate::kernel_ext::kunit::{kunit_assert, kunit_assert_eq, Test};
use kernel::prelude::*;

const NOW: Time = (1_700_000_000, 0);
const BLOCKS: usize = 256;

/// A disk in memory that holds the copy-on-write rule to account: a write to a block the
/// last commit uses, or to one nobody allocated, is counted.
struct MemDisk {
    blocks: KVec<KBox<[u8; BLOCK_SIZE]>>,
    committed: KVec<bool>,
    running: KVec<bool>,
    bad_writes: u32,
}

impl MemDisk {
    fn new() -> Result<Self> {
        let mut d = MemDisk {
            blocks: KVec::with_capacity(BLOCKS, GFP_KERNEL)?,
            committed: KVec::from_elem(false, BLOCKS, GFP_KERNEL)?,
            running: KVec::from_elem(false, BLOCKS, GFP_KERNEL)?,
            bad_writes: 0,
        };
        for _ in 0..BLOCKS {
            d.blocks.push(meta::new_block()?, GFP_KERNEL)?;
        }
        // The superblock slots.
        for b in 0..2 {
            d.committed[b] = true;
            d.running[b] = true;
        }
        Ok(d)
    }

    /// The commit's superblock is on disk: what runs is what is committed.
    fn commit_done(&mut self) {
        self.committed.copy_from_slice(&self.running);
    }

    fn used(&self) -> usize {
        self.running.iter().filter(|&&u| u).count()
    }
}

impl BlockRead for MemDisk {
    fn read(&mut self, blk: u64) -> Result<KBox<[u8; BLOCK_SIZE]>> {
        let b = self.blocks.get(blk as usize).ok_or(EIO)?;
        meta::copy_block(b)
    }
}

impl BlockIo for MemDisk {
    fn write(&mut self, blk: u64, b: &[u8; BLOCK_SIZE]) -> Result {
        let i = blk as usize;
        if self.committed.get(i) != Some(&false) || self.running.get(i) != Some(&true) {
            self.bad_writes += 1;
        }
        self.blocks.get_mut(i).ok_or(EIO)?.copy_from_slice(b);
        Ok(())
    }

    fn alloc(&mut self) -> Result<u64> {
        let i = (2..BLOCKS)
            .find(|&i| !self.committed[i] && !self.running[i])
            .ok_or(ENOSPC)?;
        self.running[i] = true;
        Ok(i as u64)
    }

    fn free(&mut self, blk: u64) {
        if let Some(u) = self.running.get_mut(blk as usize) {
            *u = false;
        }
    }
}

fn make(mode: u16, target: &[u8]) -> Make<'_> {
    Make {
        mode,
        uid: 1,
        gid: 2,
        rdev: if mode & S_IFCHR == S_IFCHR { 0x0501 } else { 0 },
        target,
    }
}

/// A table of `n` inode-table blocks, allocated and committed as zeros (free slots).
fn table(disk: &mut MemDisk, n: usize) -> Result<KVec<u64>> {
    let mut t = KVec::new();
    for _ in 0..n {
        t.push(disk.alloc()?, GFP_KERNEL)?;
    }
    disk.commit_done();
    Ok(t)
}

/// Commits `ns` as generation `gen`.
fn commit(ns: &mut Namespace, t: &mut [u64], gen: u64, disk: &mut MemDisk) -> Result {
    Commit::prepare(ns)?.write(ns, t, gen, disk)?;
    committed(ns)?;
    disk.commit_done();
    Ok(())
}

/// Blocks the namespace owns by the books: the table's and every chain's.
fn owned(ns: &Namespace, t: &[u64]) -> Result<usize> {
    let mut n = 2 + t.len();
    for ino in 0..ns.len() {
        n += ns.inode(ino)?.chain.len();
    }
    Ok(n)
}

/// A tree of every kind (a directory of 100 long names, a file of 150 extents, long and short
/// symlinks, a device, hard links), committed, read back equal; then most of it removed,
/// committed, read back equal, with the freed blocks free again.
pub(crate) fn meta_round_trip(t: &mut Test) -> Result {
    let mut disk = MemDisk::new()?;
    let mut tab = table(&mut disk, 8)?;
    let mut ns = Namespace::new(128, 0o755, 0, 0, NOW)?;
    let a = ns.make(ROOT_INO, b"a", &make(S_IFDIR | 0o755, b""), NOW)?;
    let b = ns.make(a, b"b", &make(S_IFDIR | 0o700, b""), NOW)?;
    let mut name = [b'n'; 200];
    for i in 0..100u32 {
        // 100 names of 150 to 200 bytes: several directory blocks.
        name[..4].copy_from_slice(&i.to_le_bytes().map(|x| b'a' + x % 26));
        name[4] = b'a' + (i / 26) as u8;
        let len = 150 + (i as usize % 51);
        ns.make(a, &name[..len], &make(S_IFREG | 0o644, b""), NOW)?;
    }
    let long = [b'L'; INLINE_TARGET_MAX as usize + 100];
    let sl = ns.make(b, b"long", &make(S_IFLNK | 0o777, &long), NOW)?;
    ns.make(b, b"short", &make(S_IFLNK | 0o777, b"../a"), NOW)?;
    let c = ns.make(b, b"tty", &make(S_IFCHR | 0o600, b""), NOW)?;
    let f = ns.make(ROOT_INO, b"f", &make(S_IFREG | 0o600, b""), NOW)?;
    ns.link(f, b, b"f-again", NOW)?;
    kunit_assert!(t, ns.inode(a)?.dir.as_ref().map_or(0, |d| d.blocks()) > 2);
    // A file of 150 one-block extents, as the state would record them: a chain of three.
    let bs = BLOCK_SIZE as u64;
    let file = ns.inode_mut(f)?;
    for i in 0..150u64 {
        let r = ExtentRecord::whole(i * bs, bs, (100 + i) * bs, 1, EXTENT_REGULAR);
        file.records.push(r, GFP_KERNEL)?;
    }
    file.disk.size = 150 * bs;
    file.chain_dirty = true;
    kunit_assert!(t, 150usize.div_ceil(EXTENTS_PER_BLOCK) == 3);

    commit(&mut ns, &mut tab, 1, &mut disk)?;
    let (back, loaded) = load(&mut disk, &tab, 1, BLOCKS as u64)?;
    kunit_assert_eq!(t, loaded.bad, 0);
    back.check()?;
    kunit_assert!(
        t,
        digest(&back)? == digest(&ns)?,
        "generation 1 read back differs"
    );
    kunit_assert_eq!(t, back.inode(sl)?.target.as_slice(), &long[..]);
    kunit_assert_eq!(t, back.inode(c)?.disk.rdev, 0x0501);
    kunit_assert!(
        t,
        back.inode(f)?.records.as_slice() == ns.inode(f)?.records.as_slice()
    );
    kunit_assert_eq!(
        t,
        (back.inode(f)?.chain.len(), back.inode(f)?.disk.count),
        (3, 150)
    );
    kunit_assert_eq!(t, disk.used(), owned(&ns, &tab)?);

    // Most of it removed, the rest renamed: freed blocks are free again after the commit.
    for i in 0..100u32 {
        if i % 4 != 0 {
            name[..4].copy_from_slice(&i.to_le_bytes().map(|x| b'a' + x % 26));
            name[4] = b'a' + (i / 26) as u8;
            let len = 150 + (i as usize % 51);
            let ino = ns.unlink(a, &name[..len], NOW)?;
            ns.delete(ino)?;
        }
    }
    let gone = ns.unlink(b, b"long", NOW)?;
    ns.delete(gone)?;
    ns.rename((b, b"tty"), (ROOT_INO, b"tty"), 0, (0, 0), NOW)?;
    commit(&mut ns, &mut tab, 2, &mut disk)?;
    let (back, loaded) = load(&mut disk, &tab, 2, BLOCKS as u64)?;
    kunit_assert_eq!(t, loaded.bad, 0);
    back.check()?;
    kunit_assert!(
        t,
        digest(&back)? == digest(&ns)?,
        "generation 2 read back differs"
    );
    kunit_assert_eq!(t, disk.used(), owned(&ns, &tab)?);
    kunit_assert_eq!(t, disk.bad_writes, 0);

    // Read as of generation 1, the slots generation 2 wrote are from the future.
    let (_, loaded) = load(&mut disk, &tab, 1, BLOCKS as u64)?;
    kunit_assert!(t, loaded.bad > 0);
    Ok(())
}

/// A flipped byte in a directory, target or extent block, or in an inode slot, marks that
/// inode bad (and the namespace check then fails): nothing damaged is used.
pub(crate) fn meta_damage_found(t: &mut Test) -> Result {
    let mut disk = MemDisk::new()?;
    let mut tab = table(&mut disk, 2)?;
    let mut ns = Namespace::new(32, 0o755, 0, 0, NOW)?;
    let d = ns.make(ROOT_INO, b"d", &make(S_IFDIR | 0o755, b""), NOW)?;
    let x = ns.make(d, b"x", &make(S_IFREG | 0o644, b""), NOW)?;
    let bs = BLOCK_SIZE as u64;
    let file = ns.inode_mut(x)?;
    let r = ExtentRecord::whole(0, bs, 200 * bs, 1, EXTENT_REGULAR);
    file.records.push(r, GFP_KERNEL)?;
    file.disk.size = bs;
    let long = [b'T'; INLINE_TARGET_MAX as usize + 1];
    let s = ns.make(ROOT_INO, b"s", &make(S_IFLNK | 0o777, &long), NOW)?;
    commit(&mut ns, &mut tab, 1, &mut disk)?;
    let (back, loaded) = load(&mut disk, &tab, 1, BLOCKS as u64)?;
    kunit_assert_eq!(t, loaded.bad, 0);
    back.check()?;

    let dir_block = ns.inode(d)?.chain.first().copied().ok_or(EINVAL)?;
    let target_block = ns.inode(s)?.chain.first().copied().ok_or(EINVAL)?;
    let extent_block = ns.inode(x)?.chain.first().copied().ok_or(EINVAL)?;
    for (blk, off, victim) in [
        (dir_block, 40, d),
        (target_block, 7, s),
        (extent_block, 40, x),
        (tab[0], 256 + 9, 1),
    ] {
        disk.blocks[blk as usize][off] ^= 0x20;
        let (back, loaded) = load(&mut disk, &tab, 1, BLOCKS as u64)?;
        kunit_assert_eq!(t, loaded.bad, 1);
        kunit_assert!(t, back.inode(victim)?.bad, "inode {victim} not marked bad");
        kunit_assert!(t, back.check().is_err());
        // A namespace with a bad slot is never written.
        kunit_assert!(t, Commit::prepare(&back).is_err());
        disk.blocks[blk as usize][off] ^= 0x20;
    }
    Ok(())
}

/// A superblock slot of version `version` and generation `gen` at `slot` of `disk`, whose
/// other fields make a valid superblock; `incompat`/`ro_compat` as given.
fn put_superblock(
    disk: &mut MemDisk,
    slot: u64,
    (version, gen): (u32, u64),
    (incompat, ro_compat): (u64, u64),
) -> Result {
    let sb = DiskSuperblock {
        generation: gen,
        total_blocks: BLOCKS as u64,
        inode_count: 16,
        inode_table_blocks: 1,
        bitmap_blocks: 1,
        free_blocks: 0,
        uuid: [7; 16],
        compat: 0,
        ro_compat,
        incompat,
    };
    let b = &mut disk.blocks[slot as usize];
    sb.encode(&[10], &[11], b).map_err(|_| EINVAL)?;
    // Another version: the version field changed and the block re-sealed.
    b[8..12].copy_from_slice(&version.to_le_bytes());
    seal_block(b);
    Ok(())
}

/// The choice between the superblock slots: the newest valid one of version 1 or 2; version
/// 1 refused; a damaged newest slot loses to an older good one; unknown features.
pub(crate) fn meta_superblock_choice(t: &mut Test) -> Result {
    let mut disk = MemDisk::new()?;
    put_superblock(&mut disk, 0, (2, 5), (0, 0))?;
    put_superblock(&mut disk, 1, (2, 6), (0, 0))?;
    let m = read_superblock(&mut disk)?;
    kunit_assert_eq!(t, (m.sb.generation, m.read_only), (6, false));
    kunit_assert_eq!(
        t,
        (m.table.as_slice(), m.bitmap.as_slice()),
        (&[10u64][..], &[11u64][..])
    );

    // The newest slot damaged: the older one.
    disk.blocks[1][100] ^= 1;
    kunit_assert_eq!(t, read_superblock(&mut disk)?.sb.generation, 5);

    // A newer slot of version 1: refused, not passed over.
    put_superblock(&mut disk, 1, (1, 7), (0, 0))?;
    kunit_assert!(t, read_superblock(&mut disk).err() == Some(EINVAL));
    // An older slot of version 1 is passed over.
    put_superblock(&mut disk, 1, (1, 4), (0, 0))?;
    kunit_assert_eq!(t, read_superblock(&mut disk)?.sb.generation, 5);
    // A slot of an unknown version takes no part.
    put_superblock(&mut disk, 1, (3, 9), (0, 0))?;
    kunit_assert_eq!(t, read_superblock(&mut disk)?.sb.generation, 5);

    // Features: an unknown incompatible one refuses, a read-only-compatible one makes it
    // read-only.
    put_superblock(&mut disk, 1, (2, 8), (1, 0))?;
    kunit_assert!(t, read_superblock(&mut disk).err() == Some(EINVAL));
    put_superblock(&mut disk, 1, (2, 8), (0, 1 << 40))?;
    kunit_assert!(t, read_superblock(&mut disk)?.read_only);

    // Both slots damaged.
    disk.blocks[0][0] ^= 1;
    disk.blocks[1][0] ^= 1;
    kunit_assert!(t, read_superblock(&mut disk).is_err());
    Ok(())
}

/// The block rule over a committed namespace: every block owned once and the
/// bitmap saying exactly that. Then one problem at a time: a bitmap bit, a record pointing
/// into a directory's chain, the superblock's free count.
pub(crate) fn meta_blocks_owned_once(t: &mut Test) -> Result {
    let mut disk = MemDisk::new()?;
    let mut tab = table(&mut disk, 2)?;
    let mut ns = Namespace::new(32, 0o755, 0, 0, NOW)?;
    let d = ns.make(ROOT_INO, b"d", &make(S_IFDIR | 0o755, b""), NOW)?;
    let f = ns.make(d, b"f", &make(S_IFREG | 0o644, b""), NOW)?;
    let bs = BLOCK_SIZE as u64;
    // Two data extents, allocated as writeback would; two records share the second.
    let (a, b) = (disk.alloc()?, disk.alloc()?);
    let file = ns.inode_mut(f)?;
    for r in [
        ExtentRecord::whole(0, bs, a * bs, 1, EXTENT_REGULAR),
        ExtentRecord::whole(bs, bs, b * bs, 1, EXTENT_REGULAR),
        ExtentRecord::whole(2 * bs, bs, b * bs, 1, EXTENT_REGULAR),
    ] {
        file.records.push(r, GFP_KERNEL)?;
    }
    file.disk.size = 3 * bs;
    commit(&mut ns, &mut tab, 1, &mut disk)?;

    let check = |ns: &Namespace, disk: &MemDisk, tab: &[u64], free: Option<u64>| {
        let mut bitmap = [0u8; BLOCKS / 8];
        for (blk, _) in disk.committed.iter().enumerate().filter(|(_, &u)| u) {
            bitmap[blk / 8] |= 1 << (blk % 8);
        }
        let free = free.unwrap_or(disk.committed.iter().filter(|&&u| !u).count() as u64);
        let meta = Iterator::chain(SB_SLOTS.iter(), tab.iter()).copied();
        let owners = (0..ns.len())
            .filter_map(|i| ns.inode(i).ok())
            .filter(|n| n.disk.in_use())
            .map(|n| (n.chain.as_slice(), n.records.as_slice()));
        check_blocks(BLOCKS as u64, free, &bitmap, meta, owners, &mut |_| {})
    };
    kunit_assert_eq!(t, check(&ns, &disk, &tab, None)?, 0);

    // A used block the bitmap calls free.
    disk.committed[a as usize] = false;
    kunit_assert_eq!(t, check(&ns, &disk, &tab, None)?, 1);
    disk.committed[a as usize] = true;

    // A record pointing into the directory's chain: that block is owned twice.
    let dir_block = ns.inode(d)?.chain.first().copied().ok_or(EINVAL)?;
    let saved = ns.inode(f)?.records[0];
    ns.inode_mut(f)?.records[0].disk_bytenr = dir_block * bs;
    kunit_assert!(t, check(&ns, &disk, &tab, None)? >= 1);
    ns.inode_mut(f)?.records[0] = saved;

    // The superblock's count off by one.
    let free = disk.committed.iter().filter(|&&u| !u).count() as u64;
    kunit_assert_eq!(t, check(&ns, &disk, &tab, Some(free + 1))?, 1);
    Ok(())
}
