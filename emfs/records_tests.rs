// SPDX-License-Identifier: GPL-2.0

//! KUnit suite `emfs_records`: a file's extent records replaced by range
//! ([`super::records::replace_range`]): the parts that stick out kept, the new record in
//! order, an extent freed only when no record points into it any more.

use super::format::{ExtentRecord, BLOCK_SIZE, EXTENT_REGULAR};
use super::records::replace_range;
use crate::kernel_ext::kunit::{kunit_assert, kunit_assert_eq, Test};
use kernel::prelude::*;

const BS: u64 = BLOCK_SIZE as u64;

/// `blocks` blocks of the file from block `at`, on the extent at disk block `disk`.
fn rec(at: u64, blocks: u64, disk: u64) -> ExtentRecord {
    ExtentRecord::whole(at * BS, blocks * BS, disk * BS, 1, EXTENT_REGULAR)
}

/// The file's map as (file block, blocks, disk block of the data).
fn shape(records: &KVVec<ExtentRecord>) -> Result<KVec<(u64, u64, u64)>> {
    let mut v = KVec::new();
    for r in records.iter() {
        v.push(
            (
                r.file_offset / BS,
                r.len / BS,
                (r.disk_bytenr + r.offset) / BS,
            ),
            GFP_KERNEL,
        )?;
    }
    Ok(v)
}

/// An overwrite in the middle of an extent splits it around the new one, and the old extent
/// stays until its last piece goes.
pub(crate) fn records_split_and_free(t: &mut Test) -> Result {
    let mut r = KVVec::new();
    r.push(rec(0, 3, 100), GFP_KERNEL)?;
    let gone = replace_range(&mut r, BS, 2 * BS, Some(rec(1, 1, 200)))?;
    kunit_assert!(t, gone.is_some_and(|g| g.is_empty()));
    let got = shape(&r)?;
    kunit_assert_eq!(
        t,
        got.as_slice(),
        &[(0, 1, 100), (1, 1, 200), (2, 1, 102)][..]
    );
    // The first piece of extent 100 goes: the last still holds it.
    let gone = replace_range(&mut r, 0, BS, None)?.ok_or(EINVAL)?;
    kunit_assert!(t, gone.is_empty());
    // The last piece too: now it is free, once, with its whole size.
    let gone = replace_range(&mut r, 2 * BS, 3 * BS, None)?.ok_or(EINVAL)?;
    kunit_assert_eq!(t, gone.as_slice(), &[(100 * BS, 3 * BS)][..]);
    let got = shape(&r)?;
    kunit_assert_eq!(t, got.as_slice(), &[(1, 1, 200)][..]);
    Ok(())
}

/// A range over several records: the ones inside freed, the ones cut kept in part, the new
/// record in order; a hole punched over nothing changes nothing.
pub(crate) fn records_range_over_several(t: &mut Test) -> Result {
    let mut r = KVVec::new();
    for (at, disk) in [(0, 10), (2, 20), (4, 30), (6, 40)] {
        r.push(rec(at, 2, disk), GFP_KERNEL)?;
    }
    // Blocks 1 to 6: cuts the first and the last record, drops the two between.
    let gone = replace_range(&mut r, BS, 7 * BS, Some(rec(1, 6, 50)))?.ok_or(EINVAL)?;
    kunit_assert_eq!(
        t,
        gone.as_slice(),
        &[(20 * BS, 2 * BS), (30 * BS, 2 * BS)][..]
    );
    let got = shape(&r)?;
    kunit_assert_eq!(t, got.as_slice(), &[(0, 1, 10), (1, 6, 50), (7, 1, 41)][..]);
    // Past the end, in a hole: nothing changes.
    kunit_assert!(t, replace_range(&mut r, 20 * BS, 30 * BS, None)?.is_none());
    // A new record past the last one is appended.
    replace_range(&mut r, 9 * BS, 10 * BS, Some(rec(9, 1, 60)))?;
    kunit_assert_eq!(t, shape(&r)?.last().copied(), Some((9, 1, 60)));
    Ok(())
}
