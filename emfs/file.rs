// SPDX-License-Identifier: GPL-2.0

//! emfs's `file_operations`: the directory listing, fsync (the LOGGING of modified maps and
//! the merge on `clear_logging`), `SEEK_DATA`/`SEEK_HOLE` on the extent maps, fallocate.

use super::*;
use crate::kernel_ext::time::cond_resched;

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
                // The reading ends where the directory ended at its first read (after opendir,
                // a seek or a rewind): names made meanwhile wait for the next reading, as
                // btrfs's wait past the index it saw at opendir.
                let end = match emitter.bound() {
                    Some(b) => {
                        if *b == 0 {
                            *b = st.end_of_names() as u64;
                        }
                        usize::try_from(*b).unwrap_or(usize::MAX)
                    }
                    None => usize::MAX,
                };
                while next < st.slots.len().min(end) && batch.len() < CHUNK {
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
                if !emitter.emit(i.name(), *ino as u64, FileType::Reg, *ino as i64 + 1) {
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
                let record =
                    ExtentRecord::whole(pos, n * BS, blk * BS, st.transid, EXTENT_PREALLOC);
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
