// SPDX-License-Identifier: GPL-2.0

//! KUnit suite `extmap`: the extent-map cases of btrfs's own sanity tests
//! (`fs/btrfs/tests/extent-map-tests.c`, 6.12) with the same inputs and expected results, one
//! case each under the upstream name, then the cases specific to this port: the 2020 race
//! scenario, the untouched neighbour, teardown accounting and allocation failure.

use super::{rules::*, stats::STATS, ExtentMap, ExtentMapTree, MapInfo, EXTENT_MAP_SIZE};
use crate::kernel_ext::{
    errno::euclean,
    kthread::KThread,
    kunit::{kunit_assert, kunit_assert_eq, Test},
    time::cond_resched,
};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use kernel::{c_str, prelude::*, sync::Arc};

const SZ_1K: u64 = 1024;
const SZ_4K: u64 = 4 * SZ_1K;
const SZ_8K: u64 = 8 * SZ_1K;
const SZ_16K: u64 = 16 * SZ_1K;
const SZ_32K: u64 = 32 * SZ_1K;
const SZ_64K: u64 = 64 * SZ_1K;
const SZ_128K: u64 = 128 * SZ_1K;

/// A tree for one case, with the number of maps alive when the case started, so that
/// [`Fixture::teardown`] can check that the case leaked nothing.
pub(super) struct Fixture {
    pub(super) tree: Pin<KBox<ExtentMapTree>>,
    alive_before: usize,
}

impl Fixture {
    pub(super) fn new() -> Result<Self> {
        Ok(Self {
            alive_before: super::maps_alive(),
            tree: KBox::pin_init(ExtentMapTree::new(), GFP_KERNEL)?,
        })
    }

    /// `alloc_extent_map` plus `btrfs_add_extent_mapping` under the write lock.
    pub(super) fn add(
        &self,
        fields: MapFields,
        flags: u32,
        start: u64,
        len: u64,
    ) -> Result<ExtentMap> {
        let em = ExtentMap::alloc(fields, flags)?;
        self.tree.write().add(em, start, len)
    }

    /// The maps of the tree, in order.
    pub(super) fn maps(&self) -> Result<KVec<MapInfo>> {
        let maps = self.tree.read();
        let mut v = KVec::with_capacity(maps.len(), GFP_ATOMIC)?;
        maps.for_each(|m| {
            let _ = v.push(*m, GFP_ATOMIC);
        });
        Ok(v)
    }

    /// btrfs's `free_extent_map_tree`: every map left must hold only the tree's reference;
    /// then, once the tree is gone, no map may be left alive.
    pub(super) fn teardown(self, t: &mut Test) -> Result {
        for m in self.maps()?.iter() {
            kunit_assert!(
                t,
                m.refs == 1,
                "map leak: [{}, {}) has {} references at teardown",
                m.fields.start,
                m.fields.end(),
                m.refs
            );
        }
        let alive_before = self.alive_before;
        drop(self.tree);
        kunit_assert_eq!(t, super::maps_alive(), alive_before);
        Ok(())
    }
}

pub(super) fn real(start: u64, len: u64, disk_bytenr: u64, disk_num_bytes: u64) -> MapFields {
    MapFields {
        start,
        len,
        disk_bytenr,
        disk_num_bytes,
        offset: 0,
        ram_bytes: disk_num_bytes,
    }
}

/// `add_compressed_extent` of the upstream tests.
fn compressed(start: u64, len: u64, disk_bytenr: u64) -> MapFields {
    MapFields {
        start,
        len,
        disk_bytenr,
        disk_num_bytes: SZ_4K,
        offset: 0,
        ram_bytes: len,
    }
}

/// Concurrent direct-I/O reads: adding `[0, 8K)` over `[0, 16K)` returns the existing map.
pub(crate) fn test_case_1(t: &mut Test) -> Result {
    let fx = Fixture::new()?;
    fx.add(real(0, SZ_16K, 0, SZ_16K), 0, 0, SZ_16K)?;
    // Disk-discontiguous, so it does not merge with [0, 16K).
    fx.add(real(SZ_16K, SZ_4K, SZ_32K, SZ_4K), 0, SZ_16K, SZ_4K)?;
    let em = fx.add(real(0, SZ_8K, 0, SZ_8K), 0, 0, SZ_8K)?;
    let f = em.fields();
    kunit_assert!(
        t,
        f.start == 0 && f.end() == SZ_16K && f.disk_bytenr == 0 && f.disk_num_bytes == SZ_16K,
        "case1 [0 8K]: wrong map {:?}",
        f
    );
    drop(em);
    fx.teardown(t)
}

/// Re-reading an inline extent: adding inline `[0, 1K)` again returns the existing one.
pub(crate) fn test_case_2(t: &mut Test) -> Result {
    let fx = Fixture::new()?;
    let inline = MapFields {
        start: 0,
        len: SZ_1K,
        disk_bytenr: INLINE,
        disk_num_bytes: 0,
        offset: 0,
        ram_bytes: SZ_1K,
    };
    fx.add(inline, 0, 0, SZ_1K)?;
    fx.add(real(SZ_4K, SZ_4K, SZ_4K, SZ_4K), 0, SZ_4K, SZ_4K)?;
    let em = fx.add(inline, 0, 0, SZ_1K)?;
    let f = em.fields();
    kunit_assert!(
        t,
        f.start == 0 && f.end() == SZ_1K && f.disk_bytenr == INLINE,
        "case2 [0 1K]: wrong map {:?}",
        f
    );
    drop(em);
    fx.teardown(t)
}

fn test_case_3_at(t: &mut Test, start: u64) -> Result {
    let fx = Fixture::new()?;
    fx.add(real(SZ_4K, SZ_4K, SZ_4K, SZ_4K), 0, SZ_4K, SZ_4K)?;
    let len = SZ_4K;
    let em = fx.add(real(0, SZ_16K, 0, SZ_16K), 0, start, len)?;
    let f = em.fields();
    // The bytes of the map are disk-contiguous, so its block start equals its start.
    kunit_assert!(
        t,
        start >= f.start && start + len <= f.end() && f.start == em.block_start(),
        "case3 [{} {}): wrong map {:?}",
        start,
        start + len,
        f
    );
    drop(em);
    fx.teardown(t)
}

/// A buffered write adds `[4K, 8K)` while a direct-I/O read adds `[0, 16K)`: the read's map is
/// trimmed to the gap around its range and merges with the write's.
pub(crate) fn test_case_3(t: &mut Test) -> Result {
    for start in [0, SZ_8K, 12 * SZ_1K] {
        test_case_3_at(t, start)?;
    }
    Ok(())
}

fn test_case_4_at(t: &mut Test, start: u64) -> Result {
    let fx = Fixture::new()?;
    fx.add(real(0, SZ_8K, 0, SZ_8K), 0, 0, SZ_8K)?;
    // Disk-discontiguous with [0, 8K).
    fx.add(
        real(SZ_8K, 24 * SZ_1K, SZ_16K, 24 * SZ_1K),
        0,
        SZ_8K,
        24 * SZ_1K,
    )?;
    let len = SZ_4K;
    let em = fx.add(real(0, SZ_32K, 0, SZ_32K), 0, start, len)?;
    let f = em.fields();
    kunit_assert!(
        t,
        start >= f.start && start + len <= f.end(),
        "case4 [{} {}): wrong map {:?}",
        start,
        start + len,
        f
    );
    drop(em);
    fx.teardown(t)
}

/// A direct-I/O write splits `[0, 32K)` while a read adds it back.
pub(crate) fn test_case_4(t: &mut Test) -> Result {
    for start in [0, SZ_4K] {
        test_case_4_at(t, start)?;
    }
    Ok(())
}

fn expect_ranges(t: &mut Test, fx: &Fixture, want: &[(u64, u64)]) -> Result {
    let maps = fx.maps()?;
    kunit_assert_eq!(t, maps.len(), want.len());
    for (m, &(start, len)) in maps.iter().zip(want) {
        kunit_assert_eq!(t, (m.fields.start, m.fields.len), (start, len));
    }
    Ok(())
}

/// `btrfs_drop_extent_map_range` edge cases: front split, back split, double split, whole
/// maps; on compressed maps so that nothing merges.
pub(crate) fn test_case_5(t: &mut Test) -> Result {
    let fx = Fixture::new()?;
    for (start, len, disk) in [
        (0, 3 * SZ_4K, 0),
        (3 * SZ_4K, 3 * SZ_4K, SZ_4K),
        (6 * SZ_4K, 3 * SZ_4K, SZ_8K),
        (SZ_32K + SZ_4K, SZ_4K, 3 * SZ_4K),
        (10 * SZ_4K, 6 * SZ_4K, SZ_16K),
    ] {
        fx.add(compressed(start, len, disk), COMPRESS_ZLIB, start, len)?;
    }
    let splits = STATS.snapshot().splits;

    fx.tree.drop_range(SZ_8K, 3 * SZ_4K - 1, false);
    expect_ranges(
        t,
        &fx,
        &[
            (0, SZ_8K),
            (12 * SZ_1K, 12 * SZ_1K),
            (24 * SZ_1K, 12 * SZ_1K),
            (36 * SZ_1K, SZ_4K),
            (40 * SZ_1K, 24 * SZ_1K),
        ],
    )?;
    fx.tree.drop_range(3 * SZ_4K, SZ_16K + SZ_4K - 1, false);
    expect_ranges(
        t,
        &fx,
        &[
            (0, SZ_8K),
            (20 * SZ_1K, SZ_4K),
            (24 * SZ_1K, 12 * SZ_1K),
            (36 * SZ_1K, SZ_4K),
            (40 * SZ_1K, 24 * SZ_1K),
        ],
    )?;
    fx.tree.drop_range(SZ_32K - SZ_4K, SZ_32K - 1, false);
    expect_ranges(
        t,
        &fx,
        &[
            (0, SZ_8K),
            (20 * SZ_1K, SZ_4K),
            (24 * SZ_1K, SZ_4K),
            (SZ_32K, SZ_4K),
            (36 * SZ_1K, SZ_4K),
            (40 * SZ_1K, 24 * SZ_1K),
        ],
    )?;
    fx.tree.drop_range(SZ_32K, SZ_64K - 1, false);
    expect_ranges(
        t,
        &fx,
        &[(0, SZ_8K), (20 * SZ_1K, SZ_4K), (24 * SZ_1K, SZ_4K)],
    )?;
    // Front, back, and the two halves of the double split.
    kunit_assert_eq!(t, STATS.snapshot().splits - splits, 4);
    fx.teardown(t)
}

/// An uncompressed map over two compressed ones must return the existing map at the start of
/// the requested range, not fill a gap.
pub(crate) fn test_case_6(t: &mut Test) -> Result {
    let fx = Fixture::new()?;
    fx.add(compressed(0, SZ_4K, 0), COMPRESS_ZLIB, 0, SZ_4K)?;
    fx.add(compressed(SZ_4K, SZ_4K, 0), COMPRESS_ZLIB, SZ_4K, SZ_4K)?;
    let em = fx.add(real(SZ_4K, SZ_4K, SZ_16K, SZ_16K), 0, 0, SZ_8K)?;
    kunit_assert_eq!(t, (em.start(), em.len()), (0, SZ_4K));
    drop(em);
    fx.teardown(t)
}

/// Dropping a range with `skip_pinned` keeps the pinned map and splits the other.
pub(crate) fn test_case_7(t: &mut Test) -> Result {
    let fx = Fixture::new()?;
    let pinned = MapFields {
        start: 0,
        len: SZ_16K,
        disk_bytenr: 0,
        disk_num_bytes: SZ_4K,
        offset: 0,
        ram_bytes: SZ_16K,
    };
    fx.add(pinned, PINNED | COMPRESS_ZLIB, 0, SZ_16K)?;
    fx.add(real(SZ_32K, SZ_16K, SZ_32K, SZ_16K), 0, SZ_32K, SZ_16K)?;
    fx.tree.drop_range(0, 36 * SZ_1K - 1, true);

    let em = fx.tree.lookup(0, SZ_16K).ok_or(ENOENT)?;
    kunit_assert_eq!(t, (em.start(), em.len()), (0, SZ_16K));
    drop(em);
    kunit_assert!(t, fx.tree.lookup(SZ_16K, SZ_16K).is_none());
    let em = fx.tree.lookup(SZ_32K, SZ_16K).ok_or(ENOENT)?;
    kunit_assert_eq!(t, (em.start(), em.len()), (36 * SZ_1K, 12 * SZ_1K));
    kunit_assert_eq!(t, em.block_start(), SZ_32K + SZ_4K);
    drop(em);
    kunit_assert!(t, fx.tree.lookup(48 * SZ_1K, u64::MAX).is_none());
    fx.tree.unpin(0, SZ_16K, 0)?;
    fx.teardown(t)
}

/// A compressed map trimmed to the gap after an existing one gets its offset adjusted.
pub(crate) fn test_case_8(t: &mut Test) -> Result {
    let fx = Fixture::new()?;
    let first = MapFields {
        start: 120 * SZ_1K,
        len: SZ_8K,
        disk_bytenr: 0,
        disk_num_bytes: SZ_4K,
        offset: 0,
        ram_bytes: SZ_8K,
    };
    fx.add(first, COMPRESS_ZLIB, first.start, first.len)?;
    let second = MapFields {
        start: 108 * SZ_1K,
        len: 36 * SZ_1K,
        disk_bytenr: 0,
        disk_num_bytes: SZ_4K,
        offset: 0,
        ram_bytes: 36 * SZ_1K,
    };
    let em = fx.add(second, COMPRESS_ZLIB, 140 * SZ_1K, SZ_4K)?;
    let f = em.fields();
    kunit_assert_eq!(t, (f.start, f.len, f.offset), (SZ_128K, SZ_16K, 20 * SZ_1K));
    drop(em);
    fx.teardown(t)
}

/// A = [0, 4K) on disk; B = [4K, 8K) written next to it (pinned, modified), then unpinned.
fn seed_setup(fx: &Fixture) -> Result<ExtentMap> {
    const DISK: u64 = 1 << 20;
    fx.add(real(0, SZ_4K, DISK, SZ_4K), 0, 0, SZ_4K)?;
    let mut b = ExtentMap::alloc(real(SZ_4K, SZ_4K, DISK + SZ_4K, SZ_4K), PINNED)?;
    fx.tree.replace_range(&mut b, true)?;
    drop(b);
    fx.tree.unpin(SZ_4K, SZ_4K, 7)?;
    // Still on the modified list, so unpinning did not merge.
    let mut maps = fx.tree.write();
    let b = maps.pop_modified().ok_or(ENOENT)?;
    maps.set_logging(&b);
    Ok(b)
}

/// The 2020 race (commit ac05ca913e9f) played deterministically: fsync clears B's logging
/// flag while a reader holds B. The merge must be refused and leave both maps as they were;
/// once the reader is gone the next attempt merges A and B.
pub(crate) fn seed_refused_merge_while_read(t: &mut Test) -> Result {
    const DISK: u64 = 1 << 20;
    let fx = Fixture::new()?;
    let mut b = seed_setup(&fx)?;
    kunit_assert!(t, fx.tree.read().modified_is_empty());

    let reader = fx.tree.lookup(SZ_4K, SZ_4K).ok_or(ENOENT)?;
    kunit_assert!(t, reader.ptr_eq(&b));
    let before = STATS.snapshot();
    fx.tree.write().clear_logging(&mut b);
    let after = STATS.snapshot();
    kunit_assert_eq!(t, after.merges_refused - before.merges_refused, 1);
    kunit_assert_eq!(t, after.merges, before.merges);
    // The reader's view is intact: the 2020 reader saw start 0 with length 4K here.
    kunit_assert_eq!(t, (reader.start(), reader.len()), (SZ_4K, SZ_4K));
    let maps = fx.maps()?;
    kunit_assert_eq!(t, maps.len(), 2);
    kunit_assert_eq!(t, (maps[0].fields.start, maps[0].fields.len), (0, SZ_4K));
    kunit_assert_eq!(
        t,
        (maps[1].fields.start, maps[1].fields.len),
        (SZ_4K, SZ_4K)
    );
    drop(reader);

    let before = STATS.snapshot();
    fx.tree.write().clear_logging(&mut b);
    let after = STATS.snapshot();
    kunit_assert_eq!(t, after.merges - before.merges, 1);
    kunit_assert_eq!(t, after.merges_refused, before.merges_refused);
    let f = b.fields();
    kunit_assert_eq!(
        t,
        f,
        MapFields {
            start: 0,
            len: SZ_8K,
            disk_bytenr: DISK,
            disk_num_bytes: SZ_8K,
            offset: 0,
            ram_bytes: SZ_8K,
        }
    );
    kunit_assert!(t, b.flags() & MERGED != 0);
    kunit_assert_eq!(t, b.generation(), 7);
    kunit_assert_eq!(t, fx.maps()?.len(), 1);
    drop(b);
    fx.teardown(t)
}

/// The absorbed neighbour is unlinked and released, never written, even while someone holds
/// it: its holder sees it out of the tree with its range intact.
pub(crate) fn seed_neighbour_never_written(t: &mut Test) -> Result {
    let fx = Fixture::new()?;
    let mut b = seed_setup(&fx)?;
    let a = fx.tree.lookup(0, SZ_4K).ok_or(ENOENT)?;
    let a_before = a.fields();
    kunit_assert!(t, a.in_tree());
    fx.tree.write().clear_logging(&mut b);
    kunit_assert!(t, !a.in_tree());
    kunit_assert_eq!(t, a.fields(), a_before);
    kunit_assert_eq!(t, a.refcount(), 1);
    kunit_assert_eq!(t, (b.start(), b.len()), (0, SZ_8K));
    drop(a);
    drop(b);
    fx.teardown(t)
}

/// Maps inserted unmodified merge on insertion; a map whose only extra holder is the inserting
/// task is merged; pinned and compressed ones never are.
pub(crate) fn merge_on_insert(t: &mut Test) -> Result {
    let fx = Fixture::new()?;
    let before = STATS.snapshot();
    for i in 0..4 {
        fx.add(
            real(i * SZ_4K, SZ_4K, SZ_64K + i * SZ_4K, SZ_4K),
            0,
            i * SZ_4K,
            SZ_4K,
        )?;
    }
    fx.add(real(SZ_16K, SZ_4K, SZ_128K, SZ_4K), 0, SZ_16K, SZ_4K)?;
    fx.add(real(SZ_32K, SZ_4K, SZ_32K, SZ_4K), PINNED, SZ_32K, SZ_4K)?;
    let maps = fx.maps()?;
    kunit_assert_eq!(t, maps.len(), 3);
    kunit_assert_eq!(t, (maps[0].fields.start, maps[0].fields.len), (0, SZ_16K));
    kunit_assert_eq!(t, maps[0].fields.disk_bytenr, SZ_64K);
    kunit_assert_eq!(t, STATS.snapshot().merges - before.merges, 3);
    fx.tree.unpin(SZ_32K, SZ_4K, 1)?;
    fx.teardown(t)
}

/// `unpin` errors as upstream: `ENOENT` with no map, `EUCLEAN` when the start differs.
pub(crate) fn unpin_errors(t: &mut Test) -> Result {
    let fx = Fixture::new()?;
    // Both errors warn, on purpose: the selftests' problem filter skips what lies between
    // these markers (`selftests/emfs/lib.sh`).
    pr_info!("selftest-expected-kmsg-begin\n");
    let no_map = fx.tree.unpin(0, SZ_4K, 1);
    fx.add(real(0, SZ_8K, 0, SZ_8K), PINNED, 0, SZ_8K)?;
    let wrong_start = fx.tree.unpin(SZ_4K, SZ_4K, 1);
    pr_info!("selftest-expected-kmsg-end\n");
    kunit_assert_eq!(t, no_map, Err(ENOENT));
    kunit_assert_eq!(t, wrong_start, Err(euclean()));
    kunit_assert!(t, fx.tree.unpin(0, SZ_8K, 1).is_ok());
    fx.teardown(t)
}

/// With no memory for the splits, a map sticking out of the dropped range is dropped whole,
/// and a modified one asks for a full fsync; the tree stays ordered and nothing leaks.
pub(crate) fn drop_range_without_memory(t: &mut Test) -> Result {
    let fx = Fixture::new()?;
    let mut em = ExtentMap::alloc(real(0, SZ_32K, SZ_1K * 1024, SZ_32K), 0)?;
    fx.tree.replace_range(&mut em, true)?;
    drop(em);
    fx.add(real(SZ_64K, SZ_4K, 0, SZ_4K), 0, SZ_64K, SZ_4K)?;
    super::inject_alloc_failures(2);
    fx.tree.drop_range(SZ_8K, SZ_16K - 1, false);
    super::inject_alloc_failures(0);
    let maps = fx.maps()?;
    kunit_assert_eq!(t, maps.len(), 1);
    kunit_assert_eq!(t, maps[0].fields.start, SZ_64K);
    kunit_assert!(t, fx.tree.needs_full_sync());
    kunit_assert!(t, fx.tree.read().modified_is_empty());
    // And `alloc` itself reports the failure.
    super::inject_alloc_failures(1);
    kunit_assert_eq!(
        t,
        ExtentMap::alloc(real(0, SZ_4K, 0, SZ_4K), 0).err(),
        Some(ENOMEM)
    );
    fx.teardown(t)
}

/// Splits keep PINNED and the generation, never LOGGING, and stay on the modified list if the
/// split map was on it (`btrfs_drop_extent_map_range`, including the 6.12.101 LOGGING fix).
pub(crate) fn drop_range_split_flags(t: &mut Test) -> Result {
    let fx = Fixture::new()?;
    let mut em = ExtentMap::alloc(compressed(0, SZ_16K, SZ_64K), PINNED | COMPRESS_ZLIB)?;
    em.set_generation(9)?;
    fx.tree.replace_range(&mut em, true)?;
    // Being logged while modified again: on the list and LOGGING.
    fx.tree.write().set_logging(&em);
    fx.tree.drop_range(SZ_4K, SZ_8K - 1, false);
    kunit_assert!(t, !em.in_tree());
    let maps = fx.maps()?;
    kunit_assert_eq!(t, maps.len(), 2);
    for (m, start, len) in [(&maps[0], 0, SZ_4K), (&maps[1], SZ_8K, SZ_8K)] {
        kunit_assert_eq!(t, (m.fields.start, m.fields.len), (start, len));
        kunit_assert_eq!(t, m.flags, PINNED | COMPRESS_ZLIB);
        kunit_assert_eq!(t, m.generation, 9);
        kunit_assert!(t, m.modified);
    }
    // The back split's data starts 8K into the (decompressed) extent.
    kunit_assert_eq!(t, maps[1].fields.offset, SZ_8K);
    drop(em);
    fx.tree.unpin(0, SZ_4K, 10)?;
    fx.tree.unpin(SZ_8K, SZ_8K, 10)?;
    fx.teardown(t)
}

/// `try_release` follows `try_release_extent_mapping`: contiguous maps from the start of the
/// range are dropped whole; a pinned map or a gap stops it; a modified map of the current
/// generation stays for fsync, one being logged or older goes.
pub(crate) fn try_release_rules(t: &mut Test) -> Result {
    let fx = Fixture::new()?;
    // [0,8K) and [8K,12K) (not contiguous on disk), a gap, then [16K,20K) pinned.
    fx.add(real(0, SZ_8K, SZ_64K, SZ_8K), 0, 0, SZ_8K)?;
    fx.add(real(SZ_8K, SZ_4K, SZ_128K, SZ_4K), 0, SZ_8K, SZ_4K)?;
    fx.add(real(SZ_16K, SZ_4K, 0, SZ_4K), PINNED, SZ_16K, SZ_4K)?;
    // Releasing the 4K page at 4K: [0,8K) does not start there, nothing goes.
    kunit_assert_eq!(t, fx.tree.try_release(SZ_4K, SZ_4K, 1), 0);
    // Releasing [0,16K): both maps go, the walk stops at the gap.
    kunit_assert_eq!(t, fx.tree.try_release(0, SZ_16K, 1), 2);
    kunit_assert_eq!(t, fx.maps()?.len(), 1);
    // The pinned map stays.
    kunit_assert_eq!(t, fx.tree.try_release(SZ_16K, SZ_4K, 1), 0);
    fx.tree.unpin(SZ_16K, SZ_4K, 5)?;
    // Unpinned but modified (generation 5): kept while 5 is current, released after.
    let mut em = ExtentMap::alloc(real(SZ_32K, SZ_4K, SZ_32K, SZ_4K), 0)?;
    em.set_generation(5)?;
    fx.tree.write().insert(&mut em, true)?;
    kunit_assert_eq!(t, fx.tree.try_release(SZ_32K, SZ_4K, 5), 0);
    // Being logged: it may go (fsync holds its own reference).
    fx.tree.write().set_logging(&em);
    kunit_assert_eq!(t, fx.tree.try_release(SZ_32K, SZ_4K, 5), 1);
    kunit_assert!(t, !em.in_tree());
    drop(em);
    fx.teardown(t)
}

/// `split` (btrfs's `split_extent_map` for direct I/O): a pinned, modified map becomes two
/// pinned, modified maps, the first at the new disk address; anything else is refused.
pub(crate) fn split_for_direct_io(t: &mut Test) -> Result {
    let fx = Fixture::new()?;
    let mut em = ExtentMap::alloc(real(0, SZ_16K, SZ_64K, SZ_16K), PINNED)?;
    em.set_generation(3)?;
    fx.tree.replace_range(&mut em, true)?;
    kunit_assert_eq!(t, fx.tree.split(0, SZ_8K, SZ_4K, 0), Err(EINVAL));
    kunit_assert_eq!(t, fx.tree.split(SZ_32K, SZ_4K, SZ_1K, 0), Err(EIO));
    kunit_assert_eq!(t, fx.tree.split(0, SZ_16K, SZ_16K, 0), Err(EINVAL));
    fx.tree.split(0, SZ_16K, SZ_4K, SZ_128K)?;
    kunit_assert!(t, !em.in_tree());
    drop(em);
    let maps = fx.maps()?;
    kunit_assert_eq!(t, maps.len(), 2);
    kunit_assert_eq!(t, (maps[0].fields.start, maps[0].fields.len), (0, SZ_4K));
    kunit_assert_eq!(t, maps[0].fields.disk_bytenr, SZ_128K);
    kunit_assert_eq!(
        t,
        (maps[1].fields.start, maps[1].fields.len),
        (SZ_4K, 12 * SZ_1K)
    );
    kunit_assert_eq!(t, maps[1].fields.disk_bytenr, SZ_64K + SZ_4K);
    for m in maps.iter() {
        kunit_assert!(t, m.flags & PINNED != 0 && m.modified && m.generation == 3);
    }
    fx.tree.unpin(0, SZ_4K, 4)?;
    fx.tree.unpin(SZ_4K, 12 * SZ_1K, 4)?;
    fx.teardown(t)
}

/// xorshift64: the tests' own cheap random numbers.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// The 2020 race for real: reader threads look maps up and hold them, checking that a held
/// map's range never changes, while this thread writes blocks, unpins them and runs fsync's
/// logging, whose `clear_logging` merges. Every merge of a held map must be refused.
pub(crate) fn concurrent_readers_and_merges(t: &mut Test) -> Result {
    const BLOCKS: u64 = 64;
    const DISK: u64 = 1 << 30;
    const ROUNDS: u64 = 4000;
    let alive_before = super::maps_alive();
    let tree = Arc::pin_init(ExtentMapTree::new(), GFP_KERNEL)?;
    let stop = Arc::new(AtomicBool::new(false), GFP_KERNEL)?;
    let torn = Arc::new(AtomicU64::new(0), GFP_KERNEL)?;
    let before = STATS.snapshot();

    let mut readers = KVec::new();
    for seed in [0x9e37_79b9_7f4a_7c15u64, 0xc2b2_ae3d_27d4_eb4f] {
        let (tree, stop, torn) = (tree.clone(), stop.clone(), torn.clone());
        let reader = KThread::spawn(c_str!("extmap_reader"), move || {
            let (mut rng, mut held) = (seed, 0i32);
            while !stop.load(Ordering::Acquire) {
                // Without it a reader never leaves its CPU on a kernel without involuntary
                // preemption, and the writer sharing that CPU waits for the stall detector.
                cond_resched();
                let pos = (xorshift(&mut rng) % BLOCKS) * SZ_4K;
                let Some(em) = tree.lookup(pos, SZ_4K) else {
                    continue;
                };
                let first = em.fields();
                // Hold the map a while, as a reader copying its pages would.
                for _ in 0..64 {
                    if em.fields() != first {
                        torn.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    core::hint::spin_loop();
                }
                if !first.overlaps(pos, SZ_4K) {
                    torn.fetch_add(1, Ordering::Relaxed);
                }
                held = held.saturating_add(1);
            }
            held
        })?;
        readers.push(reader, GFP_KERNEL)?;
    }

    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut result = Ok(());
    for round in 0..ROUNDS {
        let generation = round + 2;
        let b = xorshift(&mut rng) % BLOCKS;
        // Writeback of block b: a pinned, modified map, unpinned on completion.
        let mut em = ExtentMap::alloc(real(b * SZ_4K, SZ_4K, DISK + b * SZ_4K, SZ_4K), PINNED)?;
        result = tree.replace_range(&mut em, true);
        drop(em);
        result = result.and_then(|()| tree.unpin(b * SZ_4K, SZ_4K, generation));
        if result.is_err() {
            break;
        }
        // fsync: take the modified maps, log them, clear logging (which merges).
        loop {
            let Some(mut logged) = tree.write().pop_modified() else {
                break;
            };
            tree.write().set_logging(&logged);
            tree.write().clear_logging(&mut logged);
        }
        // Page release drops cached maps now and then.
        if round % 64 == 63 {
            let start = (xorshift(&mut rng) % BLOCKS) * SZ_4K;
            tree.drop_range(start, start + 4 * SZ_4K - 1, false);
        }
    }
    stop.store(true, Ordering::Release);
    let mut lookups_held = 0;
    for reader in readers {
        lookups_held += reader.join();
    }
    result?;

    let after = STATS.snapshot();
    t.log(format_args!(
        "{} maps held by readers, {} merges, {} refused because held",
        lookups_held,
        after.merges - before.merges,
        after.merges_refused - before.merges_refused
    ));
    kunit_assert_eq!(t, torn.load(Ordering::Relaxed), 0);
    kunit_assert!(t, lookups_held > 0);
    kunit_assert!(t, after.merges > before.merges);
    // Every map left is whole: ordered, not overlapping, held only by the tree.
    {
        let maps = tree.read();
        let mut prev_end = 0;
        let mut bad = 0;
        maps.for_each(|m| {
            if m.fields.start < prev_end || m.refs != 1 || m.modified {
                bad += 1;
            }
            prev_end = m.fields.end();
        });
        kunit_assert_eq!(t, bad, 0);
    }
    tree.drop_all();
    drop(tree);
    kunit_assert_eq!(t, super::maps_alive(), alive_before);
    Ok(())
}

/// The in-memory size of a map: at most btrfs 6.12's 104 bytes.
pub(crate) fn map_size(t: &mut Test) -> Result {
    kunit_assert_eq!(t, EXTENT_MAP_SIZE, 104);
    t.log(format_args!("sizeof extent map: {} bytes", EXTENT_MAP_SIZE));
    Ok(())
}
