// SPDX-License-Identifier: GPL-2.0

//! emfs: the file system whose paths run on extmap the way btrfs's do.
//!
//! - Reads: `read_folio`/`readahead` look a file's extent maps up in its extmap tree under the
//!   read lock and hold a reference while they use one; on a miss they load the record covering
//!   the range (or synthesise a hole map for a gap) and insert it with the `-EEXIST` resolution
//!   of `btrfs_add_extent_mapping`.
//! - Writeback: `writepages` allocates contiguous blocks and inserts a PINNED, modified map with
//!   `replace_range`; the bio's completion (on a workqueue) records the file-extent record and
//!   calls `unpin` with the transaction's generation, btrfs's ordered-extent completion.
//! - fsync: the modified maps newer than the last commit are marked LOGGING and held, the
//!   records are made durable with a commit, then `clear_logging` tries each merge.
//! - `release_folio` drops the folio's maps with btrfs's `try_release_extent_mapping` rules;
//!   eviction drops all of a file's maps.
//!
//! Metadata lives in memory ([`state::FsState`]) and reaches the disk by copy-on-write
//! commits. The format is `Documentation/filesystems/emfs.rst`.

#![forbid(unsafe_code)]

pub mod debug;
pub mod format;
mod state;

use crate::extmap::{rules, ExtentMap, ExtentMapTree};
use crate::kernel_ext::nofs::NoFsScope;
use crate::kernel_ext::vfs::{
    self, falloc, AddressSpaceOperations, BlockReader, DirEmitter, FileOperations, FileSystem,
    Inode, InodeOperations, InodeParams, InodeType, LockedFolio, LockedInode, ReadBatch, Readahead,
    Reserved, StatFs, SuperBlock, UnheldInode,
};
use core::sync::atomic::{AtomicU64, Ordering};
use format::*;
use kernel::{
    c_str,
    prelude::*,
    str::CStr,
    sync::{
        lock::{mutex::MutexBackend, Guard},
        new_condvar, new_mutex, CondVar, Mutex,
    },
};
use state::FsState;

/// The locked state. The guard goes before the allocation scope (field order).
struct Locked<'a> {
    st: Guard<'a, FsState, MutexBackend>,
    _nofs: NoFsScope,
}

impl core::ops::Deref for Locked<'_> {
    type Target = FsState;

    fn deref(&self) -> &FsState {
        &self.st
    }
}

impl core::ops::DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut FsState {
        &mut self.st
    }
}

/// The per-mount state.
pub struct Emfs {
    /// Everything the next commit writes, and the allocator.
    state: Pin<KBox<Mutex<FsState>>>,
    /// Signalled when the last write in flight was recorded (a commit waits for that).
    idle: Pin<KBox<CondVar>>,
    /// The running transaction, readable without the mutex (`release_folio` runs in reclaim,
    /// where the mutex may be held by the allocating task).
    transid: AtomicU64,
    /// Metadata errors were found at mount: nothing may be written.
    read_only: bool,
}

/// The per-inode state.
pub struct EmfsInode {
    /// The file's extent maps.
    pub maps: Pin<KBox<ExtentMapTree>>,
}

/// A write in flight: file range `[pos, pos + len)` goes to blocks from `blk`.
pub struct WriteCtx {
    pos: u64,
    len: u64,
    blk: u64,
}

fn euclean() -> Error {
    crate::kernel_ext::errno::euclean()
}

const BS: u64 = BLOCK_SIZE as u64;

fn round_up(x: u64) -> u64 {
    x.div_ceil(BS).saturating_mul(BS)
}

fn round_down(x: u64) -> u64 {
    x - x % BS
}

fn check_name(name: &[u8]) -> Result {
    if name.len() > NAME_MAX {
        return Err(crate::kernel_ext::errno::enametoolong());
    }
    if name.is_empty() {
        return Err(EINVAL);
    }
    Ok(())
}

impl Emfs {
    fn set_name(inode: &mut format::Inode, name: &[u8]) {
        inode.name = [0; NAME_MAX];
        inode.name[..name.len()].copy_from_slice(name);
        inode.name_len = name.len() as u16;
    }

    /// Takes the inode's name and link: an orphan until it is evicted (or, after a crash, until
    /// the next mount), when it is freed.
    fn make_orphan(inode: &mut format::Inode) {
        Self::set_name(inode, b"");
        inode.nlink = 0;
    }

    /// Waits for the writes in flight to be recorded, then commits.
    fn commit(sb: &SuperBlock<Self>) -> Result {
        let fs = sb.data();
        let mut st = fs.lock();
        while st.inflight > 0 {
            fs.idle.wait(&mut st.st);
        }
        let r = st.commit(sb);
        fs.transid.store(st.transid, Ordering::Release);
        r
    }

    /// Takes the state lock, in a scope where allocations do not recurse into the file system.
    fn lock(&self) -> Locked<'_> {
        let nofs = NoFsScope::enter();
        Locked {
            st: self.state.lock(),
            _nofs: nofs,
        }
    }

    fn write_done(&self, st: &mut FsState) {
        st.inflight -= 1;
        if st.inflight == 0 {
            self.idle.notify_all();
        }
    }
}

/// The map for file offset `pos` from the on-disk records: the record containing it, or a hole
/// map for the gap around it (`btrfs_get_extent`'s conversion of a file extent item).
fn load_map(inode: &Inode<Emfs>, pos: u64) -> Result<(rules::MapFields, u32, u64)> {
    let st = inode.super_block().data().lock();
    let records = &st.slot(inode.ino())?.records;
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
        return Ok((fields, flags, r.generation));
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
    Ok((hole, 0, 0))
}

/// The map containing `pos`, from the cache or loaded from disk (`btrfs_get_extent`).
fn get_extent(inode: &Inode<Emfs>, pos: u64) -> Result<ExtentMap> {
    let em = lookup_or_load(inode, pos)?;
    debug::READ_PARK.maybe_park(inode.ino(), em.start(), em.end());
    Ok(em)
}

fn lookup_or_load(inode: &Inode<Emfs>, pos: u64) -> Result<ExtentMap> {
    let maps = &inode.data().maps;
    if let Some(em) = maps.lookup(pos, BS) {
        if em.fields().contains(pos) {
            return Ok(em);
        }
    }
    let (fields, flags, generation) = load_map(inode, pos)?;
    let mut em = ExtentMap::alloc(fields, flags)?;
    em.set_generation(generation)?;
    let em = maps.write().add(em, pos, BS)?;
    if !em.fields().contains(pos) {
        pr_err!("inode {}: no map for offset {}\n", inode.ino(), pos);
        return Err(EIO);
    }
    Ok(em)
}

#[vtable]
impl FileSystem for Emfs {
    const NAME: &'static CStr = c_str!("emfs");
    const MAGIC: u64 = SB_MAGIC;
    const ROOT_INO: u64 = ROOT_INO as u64;
    type InodeData = EmfsInode;
    type WriteCtx = WriteCtx;

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
        let mut st = FsState::load(dev, sb)?;
        let read_only = st.has_bad_slots();
        if read_only {
            pr_err!("metadata errors: mounting read-only\n");
        } else if !dev.is_read_only() {
            st.delete_orphans()?;
        }
        let transid = AtomicU64::new(st.transid);
        Ok(Emfs {
            state: KBox::pin_init(new_mutex!(st, "emfs_state"), GFP_KERNEL)?,
            idle: KBox::pin_init(new_condvar!("emfs_idle"), GFP_KERNEL)?,
            transid,
            read_only,
        })
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn read_inode(sb: &SuperBlock<Self>, ino: u64) -> Result<InodeParams<EmfsInode>> {
        let i = sb.data().lock().slot(ino)?.disk;
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
            },
        })
    }

    fn statfs(sb: &SuperBlock<Self>) -> Result<StatFs> {
        let st = sb.data().lock();
        let free_files = st
            .slots
            .iter()
            .skip(ROOT_INO as usize + 1)
            .filter(|s| !s.bad && !s.disk.in_use())
            .count() as u64;
        Ok(StatFs {
            blocks: st.sb.total_blocks,
            free_blocks: st.statfs_free(),
            files: u64::from(st.sb.inode_count - 1),
            free_files,
            name_max: NAME_MAX as u64,
        })
    }

    fn dirty_inode(inode: &UnheldInode<Self>) {
        let a = inode.attrs();
        let mut st = inode.super_block().data().lock();
        let Ok(slot) = st.slot_mut(inode.ino()) else {
            return;
        };
        let i = &mut slot.disk;
        if !i.in_use() {
            return;
        }
        i.mode = a.mode;
        i.nlink = a.nlink;
        i.size = a.size.max(0) as u64;
        i.uid = a.uid;
        i.gid = a.gid;
        i.atime = a.atime;
        i.mtime = a.mtime;
        i.ctime = a.ctime;
    }

    fn evict(inode: &UnheldInode<Self>) {
        let fs = inode.super_block().data();
        if inode.attrs().nlink == 0 && !fs.read_only {
            if let Err(e) = fs.lock().delete_inode(inode.ino()) {
                pr_err!("inode {}: cannot free it: {:?}\n", inode.ino(), e);
            }
        }
        inode.data().maps.drop_all();
    }

    fn sync_fs(sb: &SuperBlock<Self>, wait: bool) -> Result {
        if !wait || sb.is_read_only() || sb.data().read_only {
            return Ok(());
        }
        Self::commit(sb)
    }

    fn put_super(sb: &SuperBlock<Self>) {
        if sb.is_read_only() || sb.data().read_only {
            return;
        }
        if let Err(e) = Self::commit(sb) {
            pr_err!("final commit failed: {:?}\n", e);
        }
    }
}

#[vtable]
impl InodeOperations for Emfs {
    fn lookup(dir: &Inode<Self>, name: &[u8]) -> Result<Option<u64>> {
        check_name(name)?;
        let st = dir.super_block().data().lock();
        let mut corrupt = false;
        for (ino, s) in st.slots.iter().enumerate().skip(ROOT_INO as usize + 1) {
            if s.bad {
                corrupt = true;
            } else if s.disk.in_use() && s.disk.nlink > 0 && s.disk.name() == name {
                return Ok(Some(ino as u64));
            }
        }
        // A slot that does not decode may hold the name: say so rather than "no such file".
        if corrupt {
            return Err(euclean());
        }
        Ok(None)
    }

    fn create(dir: &Inode<Self>, name: &[u8], perm: u16, owner: (u32, u32)) -> Result<u64> {
        check_name(name)?;
        let now = vfs::now();
        let mut st = dir.super_block().data().lock();
        let transid = st.transid;
        let ino = st
            .slots
            .iter()
            .enumerate()
            .skip(ROOT_INO as usize + 1)
            .find(|(_, s)| !s.bad && !s.disk.in_use())
            .map(|(ino, _)| ino as u64)
            .ok_or(ENOSPC)?;
        let slot = st.slot_mut(ino)?;
        let mut i = format::Inode {
            mode: S_IFREG | (perm & 0o7777),
            nlink: 1,
            uid: owner.0,
            gid: owner.1,
            atime: now,
            mtime: now,
            ctime: now,
            generation: transid,
            ino: ino as u32,
            ..format::Inode::FREE
        };
        Self::set_name(&mut i, name);
        slot.disk = i;
        Ok(ino)
    }

    fn create_aborted(dir: &Inode<Self>, ino: u64) {
        if let Err(e) = dir.super_block().data().lock().delete_inode(ino) {
            pr_err!("inode {}: cannot undo its creation: {:?}\n", ino, e);
        }
    }

    fn unlink(dir: &Inode<Self>, inode: &Inode<Self>) -> Result {
        let mut st = dir.super_block().data().lock();
        Self::make_orphan(&mut st.slot_mut(inode.ino())?.disk);
        Ok(())
    }

    fn rename(
        dir: &Inode<Self>,
        inode: &Inode<Self>,
        new_name: &[u8],
        replaced: Option<&Inode<Self>>,
    ) -> Result {
        check_name(new_name)?;
        let mut st = dir.super_block().data().lock();
        if let Some(old) = replaced {
            Self::make_orphan(&mut st.slot_mut(old.ino())?.disk);
        }
        Self::set_name(&mut st.slot_mut(inode.ino())?.disk, new_name);
        Ok(())
    }

    fn set_size(inode: &LockedInode<Self>, size: u64) -> Result {
        let old = inode.size().max(0) as u64;
        if size >= old {
            // Nothing past the old size is on disk (the old last block's tail is zero there),
            // but a shared mapping may have written past the end in the page cache.
            inode.zero_eof_tail(size)?;
            return inode.truncate_setsize(size);
        }
        // The new last block keeps its head; its tail must read as zeros after any later
        // extension, so it is written again with zeros.
        if size % BS != 0 {
            inode.zero_range(size, round_up(size).min(old) - size)?;
        }
        inode.truncate_setsize(size)?;
        let from = round_up(size);
        inode
            .super_block()
            .data()
            .lock()
            .drop_records(inode.ino(), from, u64::MAX)?;
        inode.data().maps.drop_range(from, u64::MAX, false);
        Ok(())
    }
}

#[vtable]
impl FileOperations for Emfs {
    fn read_dir(dir: &Inode<Self>, emitter: &mut DirEmitter<'_>) -> Result {
        // Names are copied out under the lock and emitted after it: emitting copies to user
        // memory, whose fault may read an emfs file and take the lock.
        const CHUNK: usize = 16;
        let fs = dir.super_block().data();
        let mut next = usize::try_from(emitter.pos().max(2)).unwrap_or(usize::MAX);
        loop {
            let mut batch: KVec<(usize, format::Inode)> = KVec::with_capacity(CHUNK, GFP_KERNEL)?;
            {
                let st = fs.lock();
                while next < st.slots.len() && batch.len() < CHUNK {
                    let s = &st.slots[next];
                    if !s.bad && s.disk.in_use() && s.disk.nlink > 0 {
                        batch.push((next, s.disk), GFP_NOWAIT)?;
                    }
                    next += 1;
                }
            }
            if batch.is_empty() {
                return Ok(());
            }
            for (ino, i) in batch.iter() {
                if !emitter.emit(i.name(), *ino as u64, InodeType::Reg, *ino as i64 + 1) {
                    return Ok(());
                }
            }
        }
    }

    fn fsync(inode: &Inode<Self>, _start: u64, _end: u64, _datasync: bool) -> Result {
        let sb = inode.super_block();
        let maps = &inode.data().maps;
        let last_commit = sb.data().transid.load(Ordering::Acquire) - 1;
        // btrfs's fast fsync: under the tree lock, take the maps modified since the last
        // commit, mark them LOGGING (they must not merge while logged) and hold them.
        let mut logged: KVec<ExtentMap> = KVec::new();
        let mut out_of_memory = false;
        loop {
            // Out of memory, the maps taken so far are still committed and released below.
            if logged.reserve(16, GFP_KERNEL).is_err() {
                out_of_memory = true;
                break;
            }
            let mut tree = maps.write();
            let mut more = false;
            while logged.len() < logged.capacity() {
                let Some(em) = tree.log_next_modified(last_commit) else {
                    break;
                };
                more = true;
                if let Some(em) = em {
                    // Within capacity: no allocation under the spinning lock.
                    logged.push(em, GFP_NOWAIT)?;
                }
            }
            if !more {
                break;
            }
        }
        maps.clear_full_sync();
        if !logged.is_empty() {
            debug::FSYNC_LOGGED.fetch_add(1, Ordering::Relaxed);
        }
        // Persist: the records go to disk with a commit (emfs has no log tree).
        let r = Self::commit(sb);
        // Done logging: each map may merge again, which `clear_logging` tries, and which it
        // refuses while a reader holds the map (the 2020 fix).
        for mut em in logged {
            maps.write().clear_logging(&mut em);
        }
        if out_of_memory {
            return Err(ENOMEM);
        }
        r
    }

    fn fallocate(inode: &LockedInode<Self>, mode: u32, offset: u64, len: u64) -> Result {
        if mode & !(falloc::KEEP_SIZE | falloc::PUNCH_HOLE) != 0 {
            return Err(crate::kernel_ext::errno::eopnotsupp());
        }
        let end = offset.checked_add(len).ok_or(EFBIG)?;
        if end > i64::MAX as u64 {
            return Err(EFBIG);
        }
        let ino = inode.ino();
        let fs = inode.super_block().data();
        if mode & falloc::PUNCH_HOLE != 0 {
            let size = inode.size().max(0) as u64;
            // Partial blocks at the ends are written with zeros; whole blocks are dropped.
            let head_end = round_up(offset).min(end);
            if offset % BS != 0 && offset < size {
                inode.zero_range(offset, head_end.min(size) - offset)?;
            }
            let tail_start = round_down(end).max(head_end);
            if end % BS != 0 && tail_start < end && tail_start < size {
                inode.zero_range(tail_start, end.min(size) - tail_start)?;
            }
            let (first, last) = (round_up(offset), round_down(end));
            if first < last {
                inode.truncate_pagecache_range(first, last - 1)?;
                fs.lock().drop_records(ino, first, last)?;
                inode.data().maps.drop_range(first, last - 1, false);
            }
            return Ok(());
        }
        // Preallocate the holes of the range: PREALLOC records, read as zeros.
        let (first, last) = (round_down(offset), round_up(end));
        let mut pos = first;
        let result = (|| -> Result {
            while pos < last {
                let mut st = fs.lock();
                let records = &st.slot(ino)?.records;
                let idx = records.partition_point(|r| r.end() <= pos);
                let hole_end = match records.get(idx) {
                    Some(r) if r.file_offset <= pos => {
                        pos = r.end();
                        continue;
                    }
                    Some(r) => r.file_offset.min(last),
                    None => last,
                };
                let (blk, n) = st.alloc_prealloc((hole_end - pos) / BS)?;
                let record = ExtentRecord {
                    file_offset: pos,
                    len: n * BS,
                    disk_bytenr: blk * BS,
                    disk_num_bytes: n * BS,
                    offset: 0,
                    ram_bytes: n * BS,
                    generation: st.transid,
                    kind: EXTENT_PREALLOC,
                };
                st.replace_records(ino, record)?;
                pos += n * BS;
            }
            Ok(())
        })();
        // Cached hole maps of the range are stale now.
        if pos > first {
            inode.data().maps.drop_range(first, pos - 1, true);
        }
        result?;
        if mode & falloc::KEEP_SIZE == 0 && end > inode.size().max(0) as u64 {
            inode.zero_eof_tail(end)?;
            inode.set_size(end)?;
        }
        Ok(())
    }
}

#[vtable]
impl AddressSpaceOperations for Emfs {
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

    fn release_folio(inode: &UnheldInode<Self>, pos: u64, len: u64) -> bool {
        // btrfs's `try_release_extent_mapping`: the folio's maps go unless fsync still needs
        // them (modified in the running transaction, not being logged) or a write is in
        // flight (pinned); the next read loads them from disk again.
        let current = inode.super_block().data().transid.load(Ordering::Acquire);
        inode.data().maps.try_release(pos, len, current);
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

    fn reserve(sb: &SuperBlock<Self>, blocks: u64) -> Result {
        {
            let mut st = sb.data().lock();
            match st.reserve(blocks) {
                Err(e) if e == ENOSPC && st.commit_frees_space() => {}
                r => return r,
            }
        }
        // Deleted or overwritten blocks come back when a commit no longer uses them.
        Self::commit(sb)?;
        sb.data().lock().reserve(blocks)
    }

    fn unreserve(sb: &SuperBlock<Self>, blocks: u64) {
        sb.data().lock().unreserve(blocks);
    }

    fn writeback_alloc(
        inode: &UnheldInode<Self>,
        pos: u64,
        len: u64,
        reserved: &Reserved<'_>,
    ) -> Result<(u64, u64, WriteCtx)> {
        debug::WRITEBACK_PARK.maybe_park(inode.ino(), pos, pos + 1);
        let fs = inode.super_block().data();
        let (blk, n, generation) = {
            let mut st = fs.lock();
            let (blk, n) = st.alloc_data(len / BS)?;
            // The promises of the folios this allocation covers become the allocation; the
            // others keep theirs for the next one.
            st.unreserve(reserved.in_prefix(n));
            st.inflight += 1;
            (blk, n, st.transid)
        };
        let ctx = WriteCtx {
            pos,
            len: n * BS,
            blk,
        };
        // The new map, pinned until the write is recorded and on the modified list for fsync:
        // `btrfs_create_io_em` + `btrfs_replace_extent_map_range`.
        let fields = rules::MapFields {
            start: pos,
            len: ctx.len,
            disk_bytenr: blk * BS,
            disk_num_bytes: ctx.len,
            offset: 0,
            ram_bytes: ctx.len,
        };
        let inserted = ExtentMap::alloc(fields, rules::PINNED).and_then(|mut em| {
            em.set_generation(generation)?;
            inode.data().maps.replace_range(&mut em, true)
        });
        if let Err(e) = inserted {
            let mut st = fs.lock();
            st.free_blocks(blk, n);
            fs.write_done(&mut st);
            return Err(e);
        }
        debug::WRITE_BIOS.fetch_add(1, Ordering::Relaxed);
        Ok((blk, ctx.len, ctx))
    }

    fn writeback_done(inode: &UnheldInode<Self>, ctx: WriteCtx, result: Result) {
        let fs = inode.super_block().data();
        let ino = inode.ino();
        if let Err(e) = result {
            pr_err!(
                "inode {}: write of [{}, {}) failed: {:?}\n",
                ino,
                ctx.pos,
                ctx.pos + ctx.len,
                e
            );
            {
                let mut st = fs.lock();
                st.free_blocks(ctx.blk, ctx.len / BS);
                fs.write_done(&mut st);
            }
            inode
                .data()
                .maps
                .drop_range(ctx.pos, ctx.pos + ctx.len - 1, false);
            return;
        }
        // The ordered-extent completion: the file-extent record, then `unpin_extent_cache`.
        let generation = loop {
            let mut st = fs.lock();
            let record = ExtentRecord {
                file_offset: ctx.pos,
                len: ctx.len,
                disk_bytenr: ctx.blk * BS,
                disk_num_bytes: ctx.len,
                offset: 0,
                ram_bytes: ctx.len,
                generation: st.transid,
                kind: EXTENT_REGULAR,
            };
            match st.replace_records(ino, record) {
                // Written data must be recorded: wait for memory (btrfs allocates what its
                // ordered-extent completion needs with __GFP_NOFAIL).
                Err(e) if e == ENOMEM => {
                    drop(st);
                    crate::kernel_ext::time::msleep(10);
                    continue;
                }
                Err(e) => {
                    pr_err!("inode {}: cannot record a write: {:?}\n", ino, e);
                    st.failed = true;
                }
                Ok(()) => {}
            }
            // The size that made this data part of the file may not be copied yet
            // (`write_end` dirties the inode after unlocking the folio): a commit must not
            // hold a record past the size.
            if let Ok(slot) = st.slot_mut(ino) {
                let size = inode.size().max(0) as u64;
                if slot.disk.in_use() && slot.disk.size < size {
                    slot.disk.size = size;
                }
            }
            fs.write_done(&mut st);
            break st.transid;
        };
        let maps = &inode.data().maps;
        if debug::take_drop_before_unpin(ino) {
            maps.drop_all();
        }
        // The map writeback inserted must still be there, pinned: nothing drops a pinned map
        // of a range under writeback. If it is not, the cache no longer describes the file:
        // say so (extmap warned too) and count it, for the tests.
        if let Err(e) = maps.unpin(ctx.pos, ctx.len, generation) {
            debug::UNPIN_FAILED.fetch_add(1, Ordering::Relaxed);
            pr_err!(
                "inode {}: written range [{}, {}) not unpinned: {:?}\n",
                ino,
                ctx.pos,
                ctx.pos + ctx.len,
                e
            );
        }
    }
}
