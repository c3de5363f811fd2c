// SPDX-License-Identifier: GPL-2.0

//! A regular file's extent records in memory: sorted by file offset, not overlapping; the
//! records of one file may share an on-disk extent (the pieces of a partly overwritten one),
//! records of two files never do.

use super::format::ExtentRecord;
use crate::kernel_ext::sort::sort_unstable;
use kernel::prelude::*;

/// Replaces `[start, end)` of `records` with `new` (`None`: a hole), keeping the parts of the
/// records that stick out of the range. Returns `None` if nothing changed (a hole punched where
/// there was one), else the on-disk extents, `(disk_bytenr, disk_num_bytes)`, that no record
/// points into any more, for the caller to free. Everything is allocated before `records`
/// changes: on an error it is as it was.
///
/// # Examples
///
/// ```ignore
/// // One record of three blocks on extent X; its middle block overwritten by extent Y.
/// let gone = replace_range(&mut records, 4096, 8192, Some(y_record))?;
/// assert!(gone.is_some_and(|g| g.is_empty())); // X still holds the first and last block.
/// ```
pub(crate) fn replace_range(
    records: &mut KVVec<ExtentRecord>,
    start: u64,
    end: u64,
    new: Option<ExtentRecord>,
) -> Result<Option<KVec<(u64, u64)>>> {
    let overlaps = |r: &ExtentRecord| r.file_offset < end && r.end() > start;
    let mut gone = KVec::new();
    if new.is_none() && !records.iter().any(overlaps) {
        return Ok(None);
    }
    // A record split in two adds one; the new record another.
    let mut kept = KVVec::with_capacity(records.len() + 2, GFP_KERNEL)?;
    let mut candidates = KVec::new();
    let mut placed = new.is_none();
    for r in records.iter() {
        if !placed && r.file_offset >= start {
            if let Some(n) = new {
                kept.push(n, GFP_KERNEL)?;
            }
            placed = true;
        }
        if !overlaps(r) {
            kept.push(*r, GFP_KERNEL)?;
            continue;
        }
        if r.file_offset < start {
            let left = ExtentRecord {
                len: start - r.file_offset,
                ..*r
            };
            kept.push(left, GFP_KERNEL)?;
        }
        if !placed {
            if let Some(n) = new {
                kept.push(n, GFP_KERNEL)?;
            }
            placed = true;
        }
        if r.end() > end {
            let right = ExtentRecord {
                file_offset: end,
                len: r.end() - end,
                offset: r.offset + (end - r.file_offset),
                ..*r
            };
            kept.push(right, GFP_KERNEL)?;
        }
        candidates.push((r.disk_bytenr, r.disk_num_bytes), GFP_KERNEL)?;
    }
    if !placed {
        if let Some(n) = new {
            kept.push(n, GFP_KERNEL)?;
        }
    }
    // An extent is gone when no kept record points into it: one pass over the kept records
    // against the sorted, deduplicated candidates, not one pass per candidate.
    sort_unstable(&mut candidates);
    let mut uniq: KVec<(u64, u64)> = KVec::with_capacity(candidates.len(), GFP_KERNEL)?;
    for c in candidates {
        if uniq.last().map_or(true, |l| l.0 != c.0) {
            uniq.push(c, GFP_NOWAIT)?;
        }
    }
    let mut still = KVec::from_elem(false, uniq.len(), GFP_KERNEL)?;
    for r in kept.iter() {
        if let Ok(i) = uniq.binary_search_by_key(&r.disk_bytenr, |&(b, _)| b) {
            still[i] = true;
        }
    }
    gone.reserve(uniq.len(), GFP_KERNEL)?;
    for (i, &c) in uniq.iter().enumerate() {
        if !still[i] {
            gone.push(c, GFP_NOWAIT)?;
        }
    }
    *records = kept;
    Ok(Some(gone))
}
