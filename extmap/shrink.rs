// SPDX-License-Identifier: GPL-2.0

//! Reclaiming extent maps under memory pressure: which maps may go, the walk over one file's
//! tree that resumes where the last one stopped, and the shrinker's counters.
//!
//! btrfs 6.12 has a shrinker for extent maps (`btrfs_free_extent_maps`) but runs it only on
//! debug builds: on others it caused stalls (many reclaiming tasks waiting for the same tree
//! locks, each rescanning from the first map). Here a walk
//!
//! - never waits for a tree's lock: [`ExtentMapTree::shrink`] takes it with a trylock and skips
//!   a tree somebody holds;
//! - looks at no more maps than it was asked to, and the next walk of the tree starts after the
//!   last map this one looked at (the tree's cursor, as ext4's extent-status shrinker keeps
//!   one per inode), so maps that must stay are not rescanned on every call;
//! - removes only maps nobody needs: not pinned (a write in flight), not being logged, held by
//!   no one but the tree (a holder keeps the memory alive anyway, and may be reading it), and
//!   older than the running transaction. A map of an older transaction that is still on the
//!   modified list goes too (taken off the list): fsync would only take it off the list
//!   ([`super::MapsWrite::log_next_modified`]), and the next lookup loads it again from the
//!   file's records.
//!
//! The file system calls the walk from its `free_cached_objects`, which the VFS runs only for
//! allocations that may enter file systems and never during unmount; the walk allocates
//! nothing, sleeps nowhere and takes no lock but the tree's, without waiting.

use super::{ExtentMapKind, ExtentMapTree, LOGGING, PINNED};
use crate::kernel_ext::{
    debugfs::{CmdHandler, CmdOutput, DebugfsDir},
    reftree::NodeView,
};
use core::{
    fmt::Write,
    sync::atomic::{AtomicU64, AtomicUsize, Ordering},
};
use kernel::{c_str, prelude::*};

/// Why a walk left a map in the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// A write to its range is in flight (`PINNED`).
    Pinned,
    /// fsync is logging it (`LOGGING`).
    Logging,
    /// Someone besides the tree holds a reference: removing it would free nothing.
    Held,
    /// On the modified list and of the running transaction: fsync needs it.
    Modified,
    /// Of the running transaction, not on the list (written since the last commit).
    New,
}

/// Whether the map `v` shows may go, for a file system whose running transaction is
/// `current_generation`.
pub fn evictable(v: &NodeView<'_, ExtentMapKind>, current_generation: u64) -> Result<(), Keep> {
    let flags = v.flags();
    if flags & PINNED != 0 {
        return Err(Keep::Pinned);
    }
    if flags & LOGGING != 0 {
        return Err(Keep::Logging);
    }
    // Under the tree's write lock no lookup can take a reference: one above the tree's own is
    // a holder from before.
    if v.refcount() > 1 {
        return Err(Keep::Held);
    }
    if v.generation() >= current_generation {
        return Err(if v.on_list() {
            Keep::Modified
        } else {
            Keep::New
        });
    }
    Ok(())
}

/// What one walk of one tree did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Walk {
    /// Maps looked at.
    pub scanned: usize,
    /// Maps removed (and freed, unless a stale holder from before still had them).
    pub freed: usize,
    /// The walk reached the last map: the next one starts from the first.
    pub wrapped: bool,
}

impl ExtentMapTree {
    /// Removes evictable maps ([`evictable`]), looking at no more than `nr_to_scan` maps, from
    /// where the last walk of this tree stopped. `None`, at once, if someone holds the tree's
    /// lock.
    pub fn shrink(&self, nr_to_scan: usize, current_generation: u64) -> Option<Walk> {
        let Some(lock) = self.lock.try_write() else {
            SHRINK.trees_busy.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        let mut maps = super::Maps { tree: lock };
        let mut pos = self.shrink_pos.load(Ordering::Relaxed);
        let mut walk = Walk::default();
        let mut kept = [0u64; 5];
        while walk.scanned < nr_to_scan {
            // The first map that ends after the cursor.
            let Some(m) = maps
                .tree()
                .find_mut(|t| t.search(pos).filter(|v| v.fields().end() > pos))
            else {
                walk.wrapped = true;
                pos = 0;
                break;
            };
            walk.scanned += 1;
            pos = m.fields().end();
            match evictable(&m.view(), current_generation) {
                Ok(()) => {
                    drop(m.remove());
                    walk.freed += 1;
                }
                Err(why) => kept[why as usize] += 1,
            }
            if pos == u64::MAX {
                walk.wrapped = true;
                pos = 0;
                break;
            }
        }
        self.shrink_pos.store(pos, Ordering::Relaxed);
        self.len_hint.store(maps.len(), Ordering::Relaxed);
        drop(maps);
        let s = &SHRINK;
        let add = |c: &AtomicU64, n: u64| {
            if n != 0 {
                c.fetch_add(n, Ordering::Relaxed);
            }
        };
        add(&s.scanned, walk.scanned as u64);
        add(&s.freed, walk.freed as u64);
        for (c, n) in s.kept.iter().zip(kept) {
            add(c, n);
        }
        Some(walk)
    }

    /// The number of maps in the tree, for the shrinker's count: read under the lock when a
    /// read trylock gets it, else the number last seen (never waits). Every map counts, the
    /// ones the shrinker would keep too (a slight overcount the walk pays for in scanning).
    pub fn count_hint(&self) -> usize {
        if let Some(t) = self.lock.try_read() {
            let n = t.len();
            self.len_hint.store(n, Ordering::Relaxed);
            return n;
        }
        self.len_hint.load(Ordering::Relaxed)
    }
}

/// The number of call durations kept for `shrink_calls`.
const CALL_SAMPLES: usize = 4096;

/// The shrinker's counters, global to the module (`/sys/kernel/debug/extmap/shrink_*`).
pub struct ShrinkStats {
    /// Calls of the file systems' `free_cached_objects`.
    pub calls: AtomicU64,
    /// Calls that returned at once because another task was already shrinking that file
    /// system (many reclaiming tasks must not all walk the same trees).
    pub busy: AtomicU64,
    /// Maps looked at.
    pub scanned: AtomicU64,
    /// Maps removed.
    pub freed: AtomicU64,
    /// Maps kept, by [`Keep`] (in its order).
    pub kept: [AtomicU64; 5],
    /// Trees skipped because their lock was held.
    pub trees_busy: AtomicU64,
    /// The longest call, in nanoseconds.
    pub max_call_ns: AtomicU64,
    /// The last [`CALL_SAMPLES`] call durations in nanoseconds (a ring; `next_sample` counts).
    samples: [AtomicU64; CALL_SAMPLES],
    next_sample: AtomicUsize,
}

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicU64 = AtomicU64::new(0);

/// The module's shrinker counters.
pub static SHRINK: ShrinkStats = ShrinkStats {
    calls: ZERO,
    busy: ZERO,
    scanned: ZERO,
    freed: ZERO,
    kept: [ZERO; 5],
    trees_busy: ZERO,
    max_call_ns: ZERO,
    samples: [ZERO; CALL_SAMPLES],
    next_sample: AtomicUsize::new(0),
};

impl ShrinkStats {
    /// Records one `free_cached_objects` call that took `ns` nanoseconds.
    pub fn call_done(&self, ns: u64) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.max_call_ns.fetch_max(ns, Ordering::Relaxed);
        let i = self.next_sample.fetch_add(1, Ordering::Relaxed) % CALL_SAMPLES;
        self.samples[i].store(ns, Ordering::Relaxed);
    }
}

/// `shrink_calls`: reading lists the kept call durations in nanoseconds, one per line, oldest
/// first (up to the last 4,096 calls); `reset` written and read back on one open file forgets
/// them and the maximum, so that a benchmark sees only its own calls.
struct ShrinkCalls;

impl CmdHandler for ShrinkCalls {
    fn run(input: &[u8], out: &mut CmdOutput<'_>) -> Result {
        let s = &SHRINK;
        match input {
            b"" => {}
            b"reset" | b"reset\n" => {
                s.next_sample.store(0, Ordering::Relaxed);
                s.max_call_ns.store(0, Ordering::Relaxed);
                return Ok(());
            }
            _ => return Err(EINVAL),
        }
        let n = s.next_sample.load(Ordering::Relaxed);
        for i in n.saturating_sub(CALL_SAMPLES)..n {
            let ns = s.samples[i % CALL_SAMPLES].load(Ordering::Relaxed);
            writeln!(out, "{ns}").map_err(|_| ENOMEM)?;
        }
        Ok(())
    }
}

/// Adds the shrinker's files to extmap's debugfs directory.
pub(super) fn register_debugfs(dir: &DebugfsDir) {
    let s = &SHRINK;
    dir.add_u64(c_str!("shrink_calls_total"), &s.calls);
    dir.add_u64(c_str!("shrink_busy"), &s.busy);
    dir.add_u64(c_str!("shrink_scanned"), &s.scanned);
    dir.add_u64(c_str!("shrink_freed"), &s.freed);
    dir.add_u64(c_str!("shrink_kept_pinned"), &s.kept[Keep::Pinned as usize]);
    dir.add_u64(
        c_str!("shrink_kept_logging"),
        &s.kept[Keep::Logging as usize],
    );
    dir.add_u64(c_str!("shrink_kept_held"), &s.kept[Keep::Held as usize]);
    dir.add_u64(
        c_str!("shrink_kept_modified"),
        &s.kept[Keep::Modified as usize],
    );
    dir.add_u64(c_str!("shrink_kept_new"), &s.kept[Keep::New as usize]);
    dir.add_u64(c_str!("shrink_trees_busy"), &s.trees_busy);
    dir.add_u64(c_str!("shrink_max_call_ns"), &s.max_call_ns);
    dir.add_cmdfile::<ShrinkCalls>(c_str!("shrink_calls"));
}
