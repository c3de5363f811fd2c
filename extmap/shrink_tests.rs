// SPDX-License-Identifier: GPL-2.0

//! KUnit suite `extmap_shrink`: what the shrinker's walk of one tree removes, keeps and counts,
//! where it resumes, and that it never waits for the tree's lock.

use super::{
    rules::*,
    shrink::{Keep, Walk, SHRINK},
    tests::{real, Fixture},
    ExtentMap,
};
use crate::kernel_ext::kunit::{kunit_assert, kunit_assert_eq, Test};
use core::sync::atomic::Ordering;
use kernel::prelude::*;

const SZ_4K: u64 = 4096;
/// The running transaction of these cases.
const CURRENT: u64 = 5;

/// Inserts the 4K map at block `i` (disk blocks far apart, so that nothing merges) with
/// `generation` and `flags`, on the modified list if `modified`; returns the caller's reference.
fn put(fx: &Fixture, i: u64, generation: u64, flags: u32, modified: bool) -> Result<ExtentMap> {
    let mut em = ExtentMap::alloc(real(i * SZ_4K, SZ_4K, (1000 + 2 * i) * SZ_4K, SZ_4K), flags)?;
    em.set_generation(generation)?;
    fx.tree.write().insert(&mut em, modified)?;
    Ok(em)
}

fn kept() -> [u64; 5] {
    let mut k = [0; 5];
    for (k, c) in k.iter_mut().zip(SHRINK.kept.iter()) {
        *k = c.load(Ordering::Relaxed);
    }
    k
}

fn starts(fx: &Fixture) -> Result<KVec<u64>> {
    let mut v = KVec::new();
    for m in fx.maps()?.iter() {
        v.push(m.fields.start / SZ_4K, GFP_KERNEL)?;
    }
    Ok(v)
}

/// Each reason to keep a map keeps it, and is counted under its name; the others go.
pub(crate) fn shrink_keeps_what_is_needed(t: &mut Test) -> Result {
    let fx = Fixture::new()?;
    drop(put(&fx, 0, 1, 0, false)?); // old, unmodified: goes
    drop(put(&fx, 1, 1, PINNED, true)?); // a write in flight
    let held = put(&fx, 2, 1, 0, false)?; // a reader holds it
    drop(put(&fx, 3, CURRENT, 0, true)?); // modified in the running transaction
    let logged = put(&fx, 4, CURRENT, 0, true)?;
    fx.tree.write().set_logging(&logged);
    drop(logged); // fsync's reference is not what keeps it here: LOGGING is
    drop(put(&fx, 5, CURRENT, 0, false)?); // written since the commit, off the list
    drop(put(&fx, 6, 2, 0, true)?); // on the list, but committed: fsync would only unlist it
    let before = kept();
    let (scanned, freed) = (
        SHRINK.scanned.load(Ordering::Relaxed),
        SHRINK.freed.load(Ordering::Relaxed),
    );
    let walk = fx.tree.shrink(100, CURRENT);
    kunit_assert_eq!(
        t,
        walk,
        Some(Walk {
            scanned: 7,
            freed: 2,
            wrapped: true
        })
    );
    kunit_assert_eq!(t, &starts(&fx)?[..], &[1, 2, 3, 4, 5][..]);
    let after = kept();
    for why in [
        Keep::Pinned,
        Keep::Held,
        Keep::Modified,
        Keep::Logging,
        Keep::New,
    ] {
        let i = why as usize;
        kunit_assert!(
            t,
            after[i] - before[i] == 1,
            "{:?} counted {} times",
            why,
            after[i] - before[i]
        );
    }
    kunit_assert_eq!(t, SHRINK.scanned.load(Ordering::Relaxed) - scanned, 7);
    kunit_assert_eq!(t, SHRINK.freed.load(Ordering::Relaxed) - freed, 2);
    // Once the holder is gone, its map may go too.
    drop(held);
    kunit_assert_eq!(t, fx.tree.shrink(100, CURRENT).map(|w| w.freed), Some(1));
    // Logging, pinned and modified maps must go back to the tree's rules before teardown.
    fx.tree.drop_all();
    fx.teardown(t)
}

/// A walk looks at no more maps than asked, and the next one starts after the last map the
/// previous one looked at: maps that must stay are not scanned again and again.
pub(crate) fn shrink_resumes_where_it_stopped(t: &mut Test) -> Result {
    let fx = Fixture::new()?;
    let mut held = KVec::new();
    for i in 0..5 {
        held.push(put(&fx, i, 1, 0, false)?, GFP_KERNEL)?;
    }
    for i in 5..10 {
        drop(put(&fx, i, 1, 0, false)?);
    }
    let w = fx.tree.shrink(5, CURRENT);
    kunit_assert_eq!(
        t,
        w.map(|w| (w.scanned, w.freed, w.wrapped)),
        Some((5, 0, false))
    );
    // Resumes at block 5, not at the held maps again.
    let w = fx.tree.shrink(3, CURRENT);
    kunit_assert_eq!(
        t,
        w.map(|w| (w.scanned, w.freed, w.wrapped)),
        Some((3, 3, false))
    );
    kunit_assert_eq!(t, &starts(&fx)?[..], &[0, 1, 2, 3, 4, 8, 9][..]);
    // The rest of the tree, then the walk wraps to the start.
    let w = fx.tree.shrink(5, CURRENT);
    kunit_assert_eq!(
        t,
        w.map(|w| (w.scanned, w.freed, w.wrapped)),
        Some((2, 2, true))
    );
    let w = fx.tree.shrink(2, CURRENT);
    kunit_assert_eq!(
        t,
        w.map(|w| (w.scanned, w.freed, w.wrapped)),
        Some((2, 0, false))
    );
    drop(held);
    let w = fx.tree.shrink(100, CURRENT);
    // From block 2: 2, 3, 4 go; then it wraps.
    kunit_assert_eq!(
        t,
        w.map(|w| (w.scanned, w.freed, w.wrapped)),
        Some((3, 3, true))
    );
    kunit_assert_eq!(t, &starts(&fx)?[..], &[0, 1][..]);
    kunit_assert_eq!(t, fx.tree.count_hint(), 2);
    fx.teardown(t)
}

/// A tree whose lock somebody holds is skipped at once and counted, and left as it was.
pub(crate) fn shrink_skips_a_locked_tree(t: &mut Test) -> Result {
    let fx = Fixture::new()?;
    drop(put(&fx, 0, 1, 0, false)?);
    let busy = SHRINK.trees_busy.load(Ordering::Relaxed);
    {
        let writer = fx.tree.write();
        kunit_assert!(t, fx.tree.shrink(100, CURRENT).is_none());
        // The count does not wait either: it gives the number last seen (none yet).
        kunit_assert_eq!(t, fx.tree.count_hint(), 0);
        kunit_assert_eq!(t, writer.len(), 1);
    }
    kunit_assert_eq!(t, SHRINK.trees_busy.load(Ordering::Relaxed) - busy, 1);
    kunit_assert_eq!(t, fx.tree.count_hint(), 1);
    kunit_assert_eq!(t, fx.tree.shrink(100, CURRENT).map(|w| w.freed), Some(1));
    fx.teardown(t)
}
