// SPDX-License-Identifier: GPL-2.0

//! emfs: the file system whose paths run on extmap the way btrfs's do.
//!
//! Today it mounts read-only: `read_folio` looks a file's extent maps up in its extmap tree
//! under the read lock and holds a reference while it uses one; on a miss it loads the on-disk
//! record covering the range (or synthesises a hole map for a gap) and inserts it with the
//! `-EEXIST` resolution of `btrfs_add_extent_mapping`. Eviction drops all of a file's maps.
//! The format is `Documentation/filesystems/emfs.rst`.

pub mod format;

use crate::extmap::{rules, ExtentMap, ExtentMapTree};
use crate::kernel_ext::vfs::{
    BlockReader, DirEmitter, FileSystem, Inode, InodeParams, InodeType, LockedFolio, ReadBatch,
    Readahead, StatFs, SuperBlock,
};
use format::*;
use kernel::{c_str, prelude::*, str::CStr};

/// The per-mount state: the superblock in use and the inode table, read at mount.
pub struct Emfs {
    sb: Superblock,
    inode_table: KVec<KBox<[u8; BLOCK_SIZE]>>,
}

/// The per-inode state.
pub struct EmfsInode {
    /// The file's extent maps.
    pub maps: Pin<KBox<ExtentMapTree>>,
    /// The file's on-disk extent records, sorted, read when the inode is: the metadata a map
    /// is loaded from on a miss (btrfs keeps its leaves in the btree inode's page cache).
    records: KVec<ExtentRecord>,
}

fn euclean() -> Error {
    crate::kernel_ext::errno::euclean()
}

impl Emfs {
    fn inode(&self, ino: u32) -> Result<format::Inode> {
        if ino == 0 || ino >= self.sb.inode_count {
            return Err(ENOENT);
        }
        let idx = ino as usize / INODES_PER_BLOCK;
        let off = (ino as usize % INODES_PER_BLOCK) * INODE_SIZE;
        let block = self.inode_table.get(idx).ok_or(EINVAL)?;
        format::Inode::decode(&block[off..off + INODE_SIZE]).map_err(|e| {
            pr_err!("inode {}: {:?}\n", ino, e);
            euclean()
        })
    }
}

const BS: u64 = BLOCK_SIZE as u64;

fn round_up(x: u64) -> u64 {
    x.div_ceil(BS).saturating_mul(BS)
}

/// Reads inode `ino`'s extent chain and checks it: records valid, sorted, not overlapping.
fn read_records(sb: &SuperBlock<Emfs>, ino: u32, i: &format::Inode) -> Result<KVec<ExtentRecord>> {
    let bad = |what: &str| {
        pr_err!("inode {}: {}\n", ino, what);
        euclean()
    };
    let mut records = KVec::with_capacity(i.extent_count as usize, GFP_KERNEL)?;
    let mut blk = i.extent_block;
    // A chain cannot be longer than its records need; anything else is a loop.
    let mut budget = (i.extent_count as usize).div_ceil(EXTENTS_PER_BLOCK) + 1;
    while blk != 0 {
        budget = budget
            .checked_sub(1)
            .ok_or_else(|| bad("extent chain too long"))?;
        if blk >= sb.data().sb.total_blocks {
            return Err(bad("extent block out of range"));
        }
        let block = sb.read_block(blk)?;
        let h = decode_extent_header(&block).map_err(|_| bad("bad extent block"))?;
        if h.ino != ino {
            return Err(bad("extent block of another inode"));
        }
        for n in 0..h.count as usize {
            let r = extent_record(&block, n);
            r.validate().map_err(|_| bad("bad extent record"))?;
            if records
                .last()
                .is_some_and(|p: &ExtentRecord| p.end() > r.file_offset)
            {
                return Err(bad("extent records unsorted or overlapping"));
            }
            records.push(r, GFP_KERNEL)?;
        }
        blk = h.next;
    }
    if records.len() != i.extent_count as usize {
        return Err(bad("extent count mismatch"));
    }
    Ok(records)
}

/// The map for file offset `pos` from the on-disk records: the record containing it, or a hole
/// map for the gap around it (`btrfs_get_extent`'s conversion of a file extent item).
fn load_map(inode: &Inode<Emfs>, pos: u64) -> (rules::MapFields, u32, u64) {
    let records = &inode.data().records;
    // The first record ending after `pos`.
    let idx = records.partition_point(|r| r.end() <= pos);
    if let Some(r) = records.get(idx).filter(|r| r.file_offset <= pos) {
        let fields = rules::MapFields {
            start: r.file_offset,
            len: r.len,
            disk_bytenr: r.disk_bytenr,
            disk_num_bytes: r.disk_num_bytes,
            offset: r.offset,
            ram_bytes: r.ram_bytes,
        };
        let flags = if r.kind == EXTENT_PREALLOC {
            rules::PREALLOC
        } else {
            0
        };
        return (fields, flags, r.generation);
    }
    let start = idx
        .checked_sub(1)
        .and_then(|p| records.get(p))
        .map_or(0, |p| p.end());
    let end = records.get(idx).map_or_else(
        || round_up(inode.size() as u64).max(pos - pos % BS + BS),
        |n| n.file_offset,
    );
    let len = end - start;
    let hole = rules::MapFields {
        start,
        len,
        disk_bytenr: rules::HOLE,
        disk_num_bytes: 0,
        offset: 0,
        ram_bytes: len,
    };
    (hole, 0, 0)
}

/// The map containing `pos`, from the cache or loaded from disk (`btrfs_get_extent`).
fn get_extent(inode: &Inode<Emfs>, pos: u64) -> Result<ExtentMap> {
    let maps = &inode.data().maps;
    if let Some(em) = maps.lookup(pos, BS) {
        if em.fields().contains(pos) {
            return Ok(em);
        }
    }
    let (fields, flags, generation) = load_map(inode, pos);
    let em = ExtentMap::alloc(fields, flags)?;
    em.set_generation(generation);
    let em = maps.write().add(em, pos, BS)?;
    if !em.fields().contains(pos) {
        pr_err!("inode {}: no map for offset {}\n", inode.ino(), pos);
        return Err(EIO);
    }
    Ok(em)
}

impl FileSystem for Emfs {
    const NAME: &'static CStr = c_str!("emfs");
    const MAGIC: u64 = SB_MAGIC;
    const ROOT_INO: u64 = ROOT_INO as u64;
    type InodeData = EmfsInode;

    fn fill_super(dev: &BlockReader) -> Result<Self> {
        let mut best: Option<Superblock> = None;
        let mut why = None;
        for slot in SB_SLOTS {
            match Superblock::decode(&*dev.read_block(slot)?) {
                Ok(sb) if best.map_or(true, |b| sb.generation > b.generation) => best = Some(sb),
                Ok(_) => {}
                Err(e) => why = Some(e),
            }
        }
        let Some(sb) = best else {
            pr_err!("no valid superblock: {:?}\n", why);
            return Err(match why {
                Some(FormatError::BadChecksum) => euclean(),
                _ => EINVAL,
            });
        };
        if sb.total_blocks > dev.blocks() {
            pr_err!(
                "superblock says {} blocks, the device has {}\n",
                sb.total_blocks,
                dev.blocks()
            );
            return Err(EINVAL);
        }
        let mut inode_table = KVec::with_capacity(sb.inode_table_blocks as usize, GFP_KERNEL)?;
        for &blk in &sb.inode_table[..sb.inode_table_blocks as usize] {
            inode_table.push(dev.read_block(blk)?, GFP_KERNEL)?;
        }
        Ok(Emfs { sb, inode_table })
    }

    fn read_inode(sb: &SuperBlock<Self>, ino: u64) -> Result<InodeParams<EmfsInode>> {
        let ino = u32::try_from(ino).map_err(|_| ENOENT)?;
        let i = sb.data().inode(ino)?;
        if !i.in_use() {
            return Err(ENOENT);
        }
        let ty = if i.mode & S_IFMT == S_IFDIR {
            InodeType::Dir
        } else {
            InodeType::Reg
        };
        Ok(InodeParams {
            ty,
            perm: i.mode & 0o7777,
            size: i64::try_from(i.size).map_err(|_| euclean())?,
            nlink: i.nlink,
            uid: i.uid,
            gid: i.gid,
            atime: i.atime,
            mtime: i.mtime,
            ctime: i.ctime,
            data: EmfsInode {
                maps: KBox::pin_init(ExtentMapTree::new(), GFP_KERNEL)?,
                records: read_records(sb, ino, &i)?,
            },
        })
    }

    fn lookup(dir: &Inode<Self>, name: &[u8]) -> Result<Option<u64>> {
        let fs = dir.super_block().data();
        let mut corrupt = None;
        for ino in ROOT_INO + 1..fs.sb.inode_count {
            match fs.inode(ino) {
                Ok(i) if i.in_use() && i.name() == name => return Ok(Some(ino as u64)),
                Ok(_) => {}
                Err(e) => corrupt = Some(e),
            }
        }
        // A slot that does not decode may hold the name: say so rather than "no such file".
        corrupt.map_or(Ok(None), Err)
    }

    fn read_dir(dir: &Inode<Self>, emitter: &mut DirEmitter<'_>) -> Result {
        let fs = dir.super_block().data();
        let first = u32::try_from(emitter.pos().max(2)).unwrap_or(u32::MAX);
        for ino in first..fs.sb.inode_count {
            let Ok(i) = fs.inode(ino) else {
                continue;
            };
            if i.in_use() && !emitter.emit(i.name(), ino as u64, InodeType::Reg, ino as i64 + 1) {
                return Ok(());
            }
        }
        Ok(())
    }

    fn statfs(sb: &SuperBlock<Self>) -> Result<StatFs> {
        let fs = sb.data();
        let free_files = (ROOT_INO + 1..fs.sb.inode_count)
            .filter(|&ino| fs.inode(ino).is_ok_and(|i| !i.in_use()))
            .count() as u64;
        Ok(StatFs {
            blocks: fs.sb.total_blocks,
            free_blocks: fs.sb.free_blocks,
            files: u64::from(fs.sb.inode_count - 1),
            free_files,
            name_max: NAME_MAX as u64,
        })
    }

    fn readahead(inode: &Inode<Self>, ra: &mut Readahead<'_>) -> Result {
        let isize = inode.size() as u64;
        let data_end = round_up(isize);
        let mut batch = ReadBatch::new(inode.super_block());
        while let Some(folio) = ra.next_folio() {
            let pos = u64::try_from(folio.pos()).map_err(|_| EINVAL)?;
            let end = pos + folio.size() as u64;
            if pos >= data_end {
                folio.zero_and_finish();
                continue;
            }
            let em = get_extent(inode, pos)?;
            let f = em.fields();
            let whole = f.end() >= end && end <= isize;
            if whole && f.is_real() && em.flags() & rules::PREALLOC == 0 {
                // The common case: the folio lies in one extent on disk; large bios.
                batch.add(folio, (f.block_start(em.flags()) + (pos - f.start)) / BS)?;
            } else if whole {
                folio.zero_and_finish();
            } else {
                // Straddles a map boundary or the end of the file: the careful path.
                folio.read_with(|locked| Self::read_folio(inode, locked))?;
            }
        }
        Ok(())
    }

    fn release_folio(inode: &Inode<Self>, pos: u64, len: u64) -> bool {
        // Read-only: every map is clean, so the folio's maps go with it and the next read
        // loads them from disk again (btrfs's `try_release_extent_mapping`).
        inode
            .data()
            .maps
            .try_release(pos, len, inode.super_block().data().sb.generation + 1);
        true
    }

    fn read_folio(inode: &Inode<Self>, folio: &mut LockedFolio<'_>) -> Result {
        let fpos = u64::try_from(folio.pos()).map_err(|_| EINVAL)?;
        let fsize = folio.size();
        let isize = inode.size() as u64;
        let data_end = round_up(isize);
        let mut off = 0usize;
        while off < fsize {
            let pos = fpos + off as u64;
            if pos >= data_end {
                folio.zero(off, fsize - off)?;
                break;
            }
            // Hold the map while its range is used, as btrfs's readers do.
            let em = get_extent(inode, pos)?;
            let f = em.fields();
            let end = f.end().min(fpos + fsize as u64).min(data_end);
            let len = (end - pos) as usize;
            if !f.is_real() || em.flags() & rules::PREALLOC != 0 {
                folio.zero(off, len)?;
            } else {
                let disk = f.block_start(em.flags()) + (pos - f.start);
                inode
                    .super_block()
                    .read_into_folio(folio, off, disk / BS, len)?;
            }
            off += len;
        }
        // Bytes past the size in the last block read as zeros, whatever the disk holds.
        if isize >= fpos && isize < fpos + fsize as u64 && isize % BS != 0 {
            let from = (isize - fpos) as usize;
            let to = ((data_end - fpos) as usize).min(fsize);
            folio.zero(from, to - from)?;
        }
        Ok(())
    }
}
