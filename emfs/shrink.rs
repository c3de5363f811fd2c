// SPDX-License-Identifier: GPL-2.0

//! emfs's side of the extent-map shrinker: the trees of the cached inodes, and the walk over
//! them that the super block's shrinker runs (`nr_cached_objects`, `free_cached_objects`).
//!
//! Each cached inode's tree is registered here by inode number while the inode lives. A walk
//! starts at the inode where the last one stopped, gives each tree what is left of the budget
//! ([`ExtentMapTree::shrink`], which resumes inside the tree too) and stops when the budget is
//! spent or every inode was visited once. The walk holds a reference to one tree at a time, not
//! to the inode: it never ends an inode's life (an `iput` in reclaim could evict it there), and
//! a tree whose inode was evicted meanwhile is empty and goes with the walk's reference.
//!
//! Only one walk runs per mount; a reclaiming task that finds one running returns at once
//! (btrfs's shrinker stalled when many reclaiming tasks walked the same trees). Nothing here
//! allocates or sleeps: the slots are allocated at mount.

use crate::extmap::{shrink::SHRINK, ExtentMapTree};
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use kernel::{
    new_spinlock,
    prelude::*,
    sync::{Arc, SpinLock},
    time::Ktime,
};

/// Setting this to non-zero turns the shrinker off (`/sys/kernel/debug/emfs/shrinker_off`): a
/// test shows with it that it needs the shrinker.
pub static SHRINKER_OFF: AtomicU64 = AtomicU64::new(0);

/// By inode number: the tree of the cached inode, if it is cached.
type Slots = KVec<Option<Arc<ExtentMapTree>>>;

/// The registry of one mount's cached inodes' extent-map trees, by inode number, and the state
/// of the shrinker's walk over them.
pub struct TreeRegistry {
    /// The registered trees.
    slots: Pin<KBox<SpinLock<Slots>>>,
    /// The number of slots, fixed at mount: read without the lock.
    inodes: usize,
    /// The inode number the next walk starts at.
    cursor: AtomicUsize,
    /// A walk is running.
    running: AtomicBool,
}

impl TreeRegistry {
    /// Room for inode numbers below `inodes`, allocated now so that registering never
    /// allocates.
    pub fn new(inodes: usize) -> Result<Self> {
        let mut v = KVec::with_capacity(inodes, GFP_KERNEL)?;
        for _ in 0..inodes {
            v.push(None, GFP_KERNEL)?;
        }
        Ok(Self {
            slots: KBox::pin_init(new_spinlock!(v, "emfs_trees"), GFP_KERNEL)?,
            inodes,
            cursor: AtomicUsize::new(0),
            running: AtomicBool::new(false),
        })
    }

    /// Makes `tree`, inode `ino`'s, visible to the shrinker (replacing an earlier one of the
    /// same number, whose inode is gone).
    pub fn register(&self, ino: u64, tree: &Arc<ExtentMapTree>) {
        self.update(ino, |s| s.replace(tree.clone()));
    }

    /// Forgets inode `ino`'s tree, if `tree` is the one registered.
    pub fn unregister(&self, ino: u64, tree: &Arc<ExtentMapTree>) {
        self.update(ino, |s| {
            if s.as_ref().is_some_and(|t| Arc::ptr_eq(t, tree)) {
                s.take()
            } else {
                None
            }
        });
    }

    /// Runs `f` on slot `ino` (if there is one) under the lock; the tree it takes out is
    /// dropped after the lock, since it may be the last reference.
    fn update(
        &self,
        ino: u64,
        f: impl FnOnce(&mut Option<Arc<ExtentMapTree>>) -> Option<Arc<ExtentMapTree>>,
    ) {
        let old = {
            let mut slots = self.slots.lock();
            usize::try_from(ino)
                .ok()
                .and_then(|i| slots.get_mut(i))
                .and_then(f)
        };
        drop(old);
    }

    /// The number of maps of the cached inodes (`nr_cached_objects`); a tree whose lock is
    /// held counts what it had when last counted.
    pub fn count(&self) -> usize {
        if SHRINKER_OFF.load(Ordering::Relaxed) != 0 {
            return 0;
        }
        (0..self.inodes)
            .filter_map(|i| self.get(i))
            .map(|t| t.count_hint())
            .fold(0usize, usize::saturating_add)
    }

    fn get(&self, ino: usize) -> Option<Arc<ExtentMapTree>> {
        self.slots.lock().get(ino)?.clone()
    }

    /// Removes up to about `nr_to_scan` maps (`free_cached_objects`); `current_generation` is
    /// the running transaction. Returns the number removed.
    pub fn shrink(&self, nr_to_scan: usize, current_generation: u64) -> usize {
        if SHRINKER_OFF.load(Ordering::Relaxed) != 0 {
            return 0;
        }
        if self.running.swap(true, Ordering::Acquire) {
            SHRINK.busy.fetch_add(1, Ordering::Relaxed);
            return 0;
        }
        let start = Ktime::ktime_get();
        let n = self.inodes;
        let mut ino = self.cursor.load(Ordering::Relaxed);
        let (mut budget, mut freed) = (nr_to_scan, 0);
        for _ in 0..n {
            if ino >= n {
                ino = 0;
            }
            // A tree whose lock is held is skipped (and counted) by `shrink`.
            let walk = self
                .get(ino)
                .and_then(|t| t.shrink(budget, current_generation));
            if let Some(w) = walk {
                freed += w.freed;
                budget = budget.saturating_sub(w.scanned);
                if !w.wrapped {
                    break;
                }
            }
            ino += 1;
            if budget == 0 {
                break;
            }
        }
        self.cursor.store(ino, Ordering::Relaxed);
        let ns = Ktime::ktime_get().to_ns() - start.to_ns();
        SHRINK.call_done(u64::try_from(ns).unwrap_or(0));
        self.running.store(false, Ordering::Release);
        freed
    }
}
