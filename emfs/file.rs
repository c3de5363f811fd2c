// SPDX-License-Identifier: GPL-2.0

//! emfs's `file_operations`: the directory listing, fsync (the LOGGING of modified maps and
//! the merge on `clear_logging`), `SEEK_DATA`/`SEEK_HOLE` on the extent maps, fallocate.

use super::*;
use crate::kernel_ext::time::cond_resched;
use dirent::{DIR_NAME_MAX, FIRST_COOKIE};

/// A directory entry copied out of the namespace.
struct Named {
    cookie: u64,
    ino: u32,
    dtype: u8,
    len: u8,
    name: [u8; DIR_NAME_MAX],
}

#[vtable]
impl FileOperations for Emfs {
    fn read_dir(dir: &Inode<Self>, emitter: &mut DirEmitter<'_>) -> Result {
        // Names are copied out under the lock and emitted after it: emitting copies to user
        // memory, whose fault may read an emfs file and take the lock.
        const CHUNK: usize = 16;
        let fs = dir.super_block().data();
        let ino = ino32(dir.ino())?;
        // Positions are cookies; 0 and 1 are `.` and `..`.
        let mut from = u64::try_from(emitter.pos()).map_or(u64::MAX, |p| p.max(FIRST_COOKIE));
        loop {
            let mut batch: KVec<Named> = KVec::with_capacity(CHUNK, GFP_KERNEL)?;
            {
                let mut st = fs.lock();
                let d = st.dir_entries(ino)?;
                // The reading ends where the directory ended at its first read (after opendir,
                // a seek or a rewind): names made meanwhile wait for the next reading, as
                // btrfs's wait past the index it saw at opendir.
                let to = match emitter.cookie() {
                    Some(b) => {
                        let mut to = b.load(Ordering::Relaxed);
                        if to == 0 {
                            to = d.next_cookie();
                            b.store(to, Ordering::Relaxed);
                        }
                        to
                    }
                    None => u64::MAX,
                };
                from = d.visit(from, to, |cookie, e| {
                    let mut name = [0u8; DIR_NAME_MAX];
                    name[..e.name().len()].copy_from_slice(e.name());
                    let n = Named {
                        cookie,
                        ino: e.ino,
                        dtype: e.dtype,
                        len: e.name().len() as u8,
                        name,
                    };
                    // Within the capacity taken above: no allocation under the lock.
                    batch.len() < CHUNK && batch.push(n, GFP_NOWAIT).is_ok()
                });
            }
            if batch.is_empty() {
                return Ok(());
            }
            for n in batch.iter() {
                let name = &n.name[..usize::from(n.len)];
                let next = i64::try_from(n.cookie + 1).map_err(|_| euclean())?;
                // An entry's type is its inode's `mode >> 12` (the format's `DT_*`).
                let ty = FileType::from_mode(u16::from(n.dtype) << 12).ok_or_else(euclean)?;
                if !emitter.emit(name, u64::from(n.ino), ty, next) {
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

    fn seek_hole_data(inode: &Inode<Self>, offset: u64, hole: bool) -> Result<u64> {
        // Walks the extent maps, loading and caching those not cached, as btrfs did up to 6.0
        // (`find_desired_extent` on `btrfs_get_extent_fiemap`): maps with no folio behind them,
        // which only eviction and the shrinker ([`super::shrink`]) reclaim. Preallocated
        // extents read as zeros: holes.
        let size = inode.size().max(0) as u64;
        let mut pos = offset;
        while pos < size {
            let em = aops::lookup_or_load(inode, pos)?;
            let data = em.fields().is_real() && em.flags() & rules::PREALLOC == 0;
            if data != hole {
                return Ok(pos);
            }
            pos = em.end();
            cond_resched();
        }
        if hole {
            Ok(size)
        } else {
            Err(ENXIO)
        }
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
            let (first, last) = (round_up(offset), round_down(end));
            if first >= last {
                return Self::punch(inode, offset, end, None);
            }
            // Dropping whole blocks may split a record in two: the room for the record it adds
            // is promised first, so that no refusal comes after the range's cached data is gone
            // and the next commit finds the blocks it needs.
            Emfs::with_room(inode.super_block(), |st| st.reserve_punch(ino))?;
            let r = Self::punch(inode, offset, end, Some((first, last)));
            fs.lock().punched(ino);
            return r;
        }
        // Preallocate the holes of the range: PREALLOC records, read as zeros.
        let (first, last) = (round_down(offset), round_up(end));
        let mut pos = first;
        let result = (|| -> Result {
            while pos < last {
                let mut st = fs.lock();
                let records = st.records(ino)?;
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
                let record =
                    ExtentRecord::whole(pos, n * BS, blk * BS, st.transid, EXTENT_PREALLOC);
                st.insert_record(ino, record)?;
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

impl Emfs {
    /// Punches a hole in `[offset, end)` of `inode`: partial blocks at the ends are written
    /// with zeros, the whole blocks `blocks` (with room promised for the record their drop may
    /// add) leave the page cache, the records and the extent maps.
    fn punch(
        inode: &LockedInode<Self>,
        offset: u64,
        end: u64,
        blocks: Option<(u64, u64)>,
    ) -> Result {
        let size = inode.size().max(0) as u64;
        let head_end = round_up(offset).min(end);
        if offset % BS != 0 && offset < size {
            inode.zero_range(offset, head_end.min(size) - offset)?;
        }
        let tail_start = round_down(end).max(head_end);
        if end % BS != 0 && tail_start < end && tail_start < size {
            inode.zero_range(tail_start, end.min(size) - tail_start)?;
        }
        if let Some((first, last)) = blocks {
            inode.truncate_pagecache_range(first, last - 1)?;
            inode
                .super_block()
                .data()
                .lock()
                .drop_records(inode.ino(), first, last)?;
            inode.data().maps.drop_range(first, last - 1, false);
        }
        Ok(())
    }
}
