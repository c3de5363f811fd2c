// SPDX-License-Identifier: GPL-2.0

//! emfs's `address_space_operations`: reads through the extent maps (loaded from the on-disk
//! records on a miss), `release_folio`, the space reservations, and writeback with its
//! completion (`unpin`).

use super::*;

/// The map for file offset `pos` from the on-disk records: the record containing it, or a hole
/// map for the gap around it (`btrfs_get_extent`'s conversion of a file extent item).
fn load_map(inode: &Inode<Emfs>, pos: u64) -> Result<(rules::MapFields, u32, u64)> {
    let st = inode.super_block().data().lock();
    let records = st.records(inode.ino())?;
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

/// The map containing `pos`, from the cache or loaded from the records and cached.
pub(super) fn lookup_or_load(inode: &Inode<Emfs>, pos: u64) -> Result<ExtentMap> {
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

/// Undoes what [`AddressSpaceOperations::writeback_alloc`] did for `ctx`'s range, for a batch
/// that is not written: `release` gives its blocks back under the state lock, and the map
/// inserted for the range goes.
fn undo_alloc(inode: &UnheldInode<Emfs>, ctx: &WriteCtx, release: impl FnOnce(&mut State)) {
    let fs = inode.super_block().data();
    {
        let mut st = fs.lock();
        release(&mut st);
        fs.write_done(&mut st);
    }
    inode
        .data()
        .maps
        .drop_range(ctx.pos, ctx.pos + ctx.len - 1, false);
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

    fn reserve(inode: &UnheldInode<Self>, blocks: u64) -> Result {
        Self::with_room(inode.super_block(), |st| st.reserve(inode.ino(), blocks))
    }

    fn unreserve(inode: &UnheldInode<Self>, blocks: u64) {
        let mut st = inode.super_block().data().lock();
        st.unreserve(inode.ino(), blocks);
    }

    fn writeback_alloc(
        inode: &UnheldInode<Self>,
        pos: u64,
        len: u64,
        reserved: &Reserved<'_>,
    ) -> Result<(u64, u64, WriteCtx)> {
        debug::WRITEBACK_PARK.maybe_park(inode.ino(), pos, pos + 1);
        let fs = inode.super_block().data();
        let (blk, n, generation, promised) = {
            let mut st = fs.lock();
            let (blk, n) = st.alloc_data(len / BS)?;
            // The promises of the folios this allocation covers become the allocation (in the
            // same hold of the lock, so that no one sees both counted); the others keep theirs
            // for the next one. The records they may add stay counted until the completion
            // records the write.
            let promised = reserved.in_prefix(n);
            st.unreserve_data(promised);
            st.inflight += 1;
            (blk, n, st.transid, promised)
        };
        let ctx = WriteCtx {
            pos,
            len: n * BS,
            blk,
            reserved: promised,
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
            // The folios stay dirty, with their promises.
            let mut st = fs.lock();
            st.cancel_alloc(blk, n, promised);
            fs.write_done(&mut st);
            return Err(e);
        }
        debug::WRITE_BIOS.fetch_add(1, Ordering::Relaxed);
        Ok((blk, ctx.len, ctx))
    }

    fn writeback_cancel(inode: &UnheldInode<Self>, ctx: WriteCtx) {
        // The folios stay dirty: their promises come back with the blocks.
        undo_alloc(inode, &ctx, |st| {
            st.cancel_alloc(ctx.blk, ctx.len / BS, ctx.reserved)
        });
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
            undo_alloc(inode, &ctx, |st| {
                st.free_blocks(ctx.blk, ctx.len / BS);
                st.written(ino, ctx.reserved);
            });
            return;
        }
        // The ordered-extent completion: the file-extent record, then `unpin_extent_cache`.
        let generation = loop {
            let mut st = fs.lock();
            let record =
                ExtentRecord::whole(ctx.pos, ctx.len, ctx.blk * BS, st.transid, EXTENT_REGULAR);
            match st.insert_record(ino, record) {
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
            st.written(ino, ctx.reserved);
            // The size that made this data part of the file may not be copied yet
            // (`write_end` dirties the inode after unlocking the folio): a commit must not
            // hold a record past the size.
            if let Ok(i) = st.attrs_mut(ino) {
                let size = inode.size().max(0) as u64;
                if i.size < size {
                    i.size = size;
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
