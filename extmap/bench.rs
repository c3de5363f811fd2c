// SPDX-License-Identifier: GPL-2.0

//! `bench OP N` of the extent-map script language (`Documentation/extmap-script.rst`): one
//! operation timed `N` times inside the kernel on a tree of `N` maps. btrfs's interpreter (the
//! project's patch) runs the same workloads with the same maps, the same order (the same
//! xorshift sequence) and the same locking per operation, so that `make bench` compares the
//! two implementations and nothing else. Setting the tree up and tearing it down are not timed.
//!
//! `drop_all_wait` measures latency, not throughput: a reader thread takes the tree's read lock
//! over and over (a lookup each time) while the whole tree is dropped; it answers the reader's
//! longest wait for the lock (`ns`) and how many times it got it (`ops`).

use super::{rules::*, ExtentMap, ExtentMapTree};
use crate::kernel_ext::{kthread::KThread, time::cond_resched};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use kernel::{c_str, prelude::*, sync::Arc, time::Ktime};

/// The workloads, in the order of their numbers in scripts.
pub const OPS: [&str; 11] = [
    "add_asc",
    "add_rand",
    "add_merge",
    "lookup_hit",
    "lookup_miss",
    "lookup_hold_put",
    "drop_all",
    "drop_split",
    "unpin",
    "clearlog_merge",
    "drop_all_wait",
];

const B: u64 = 4096;
const DISK_BASE: u64 = 1 << 30;
/// Every this many operations the loop lets others run (both sides alike).
const RESCHED_EVERY: u64 = 4096;

/// xorshift64, seeded with 1 on both sides.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A map of `len` blocks at file block `block`, disk block `disk` (past `DISK_BASE`).
fn map(block: u64, len: u64, disk: u64, flags: u32) -> Result<ExtentMap> {
    ExtentMap::alloc(
        MapFields {
            start: block * B,
            len: len * B,
            disk_bytenr: DISK_BASE + disk * B,
            disk_num_bytes: len * B,
            offset: 0,
            ram_bytes: len * B,
        },
        flags,
    )
}

fn add(tree: &ExtentMapTree, em: ExtentMap) -> Result {
    let start = em.start();
    let len = em.len();
    let r = tree.write().add(em, start, len);
    r.map(drop)
}

/// Untimed set-up: `n` maps of `len` blocks at blocks `i * step` (disk `i * disk_step`).
fn fill(tree: &ExtentMapTree, n: u64, step: u64, len: u64, disk_step: u64, flags: u32) -> Result {
    for i in 0..n {
        add(tree, map(i * step, len, i * disk_step, flags)?)?;
        if i % RESCHED_EVERY == 0 {
            cond_resched();
        }
    }
    Ok(())
}

fn resched(i: u64) {
    if i % RESCHED_EVERY == RESCHED_EVERY - 1 {
        cond_resched();
    }
}

fn now() -> i64 {
    Ktime::ktime_get().to_ns()
}

/// Runs workload `op` (an index into [`OPS`]) with `n` maps on `tree`, which must be empty.
/// Returns the nanoseconds of the timed part and the number of operations timed.
pub fn run(tree: &ExtentMapTree, op: usize, n: u64) -> Result<(u64, u64)> {
    if !tree.read().is_empty() || n == 0 || n > 1 << 24 {
        return Err(EINVAL);
    }
    let r = timed(tree, op, n);
    tree.drop_all();
    r
}

fn timed(tree: &ExtentMapTree, op: usize, n: u64) -> Result<(u64, u64)> {
    let mut rng = Rng(1);
    let mut ops = n;
    // Set in every arm around its timed part only.
    let (t0, t1);
    match OPS.get(op).copied().ok_or(EINVAL)? {
        name @ ("add_asc" | "add_rand" | "add_merge") => {
            let mut order = KVVec::with_capacity(n as usize, GFP_KERNEL)?;
            for i in 0..n {
                order.push(i, GFP_KERNEL)?;
            }
            if name == "add_rand" {
                let o = order.as_mut_slice();
                for i in (1..o.len()).rev() {
                    o.swap(i, rng.below(i as u64 + 1) as usize);
                }
            }
            // add_merge: each new map is disk-contiguous with the one before it only.
            let (step, first, disk_step, disk_first) = if name == "add_merge" {
                fill(tree, n, 2, 1, 3, 0)?;
                (2, 1, 3, 1)
            } else {
                (1, 0, 2, 0)
            };
            let mut maps = KVVec::with_capacity(n as usize, GFP_KERNEL)?;
            for &i in order.iter() {
                maps.push(
                    Some(map(i * step + first, 1, i * disk_step + disk_first, 0)?),
                    GFP_KERNEL,
                )?;
            }
            // The vector is freed after the timed part, as btrfs's array is.
            t0 = now();
            for (i, em) in maps.iter_mut().enumerate() {
                add(tree, em.take().ok_or(EINVAL)?)?;
                resched(i as u64);
            }
            t1 = now();
        }
        name @ ("lookup_hit" | "lookup_miss") => {
            fill(tree, n, 2, 1, 3, 0)?;
            let miss = (name == "lookup_miss") as u64;
            t0 = now();
            for i in 0..n {
                let block = rng.below(n) * 2 + miss;
                drop(tree.lookup(block * B, B));
                resched(i);
            }
            t1 = now();
        }
        "lookup_hold_put" => {
            fill(tree, n, 2, 1, 3, 0)?;
            let mut held = KVVec::with_capacity(n as usize, GFP_KERNEL)?;
            t0 = now();
            for i in 0..n {
                let block = rng.below(n) * 2;
                // Within the capacity: never allocates.
                held.push(tree.lookup(block * B, B), GFP_KERNEL)?;
                resched(i);
            }
            // The references are put here, the vector freed after the timed part (btrfs's
            // array too).
            for em in held.iter_mut() {
                drop(em.take());
            }
            t1 = now();
        }
        "drop_all" => {
            fill(tree, n, 2, 1, 3, 0)?;
            t0 = now();
            tree.drop_range(0, u64::MAX, false);
            t1 = now();
        }
        "drop_split" => {
            // Maps of three blocks with a gap after each; the middle block of each is dropped.
            fill(tree, n, 4, 3, 4, 0)?;
            t0 = now();
            for i in 0..n {
                tree.drop_range((4 * i + 1) * B, (4 * i + 2) * B - 1, false);
                resched(i);
            }
            t1 = now();
        }
        "unpin" => {
            fill(tree, n, 1, 1, 2, PINNED)?;
            t0 = now();
            for i in 0..n {
                tree.unpin(i * B, B, 2)?;
                resched(i);
            }
            t1 = now();
        }
        "drop_all_wait" => return drop_all_wait(n),
        "clearlog_merge" => {
            // Pairs: a clean map and, disk-contiguous after it, one being logged.
            ops = n / 2;
            let mut held = KVVec::with_capacity(ops as usize, GFP_KERNEL)?;
            for i in 0..ops {
                add(tree, map(2 * i, 1, 3 * i, 0)?)?;
                add(tree, map(2 * i + 1, 1, 3 * i + 1, LOGGING)?)?;
                held.push(tree.lookup((2 * i + 1) * B, B).ok_or(ENOENT)?, GFP_KERNEL)?;
                resched(i);
            }
            t0 = now();
            for (i, em) in held.iter_mut().enumerate() {
                tree.write().clear_logging(em);
                resched(i as u64);
            }
            t1 = now();
        }
        _ => return Err(EINVAL),
    }
    Ok(((t1 - t0).max(0) as u64, ops))
}

/// What the reader of `drop_all_wait` and the thread dropping the tree share.
#[pin_data]
struct Contended {
    #[pin]
    tree: ExtentMapTree,
    /// The reader got the lock once: the drop may start.
    started: AtomicBool,
    /// The drop is over: the reader stops.
    done: AtomicBool,
    /// The reader's longest wait for the read lock, in ns.
    longest: AtomicU64,
    /// How many times the reader got the read lock.
    reads: AtomicU64,
}

/// `drop_all_wait`: `n` maps dropped with [`ExtentMapTree::drop_all`] (the tree of an inode
/// being evicted) while a reader looks maps up in a loop. Its own tree: the reader thread needs
/// a reference to it.
fn drop_all_wait(n: u64) -> Result<(u64, u64)> {
    let c = Arc::pin_init(
        pin_init!(Contended {
            tree <- ExtentMapTree::new(),
            started: AtomicBool::new(false),
            done: AtomicBool::new(false),
            longest: AtomicU64::new(0),
            reads: AtomicU64::new(0),
        }),
        GFP_KERNEL,
    )?;
    fill(&c.tree, n, 2, 1, 3, 0)?;
    let r = c.clone();
    let reader = KThread::spawn(c_str!("extmap_bench_reader"), move || {
        let (mut rng, mut longest, mut reads) = (Rng(1), 0, 0u64);
        while !r.done.load(Ordering::Acquire) {
            let t0 = now();
            let maps = r.tree.read();
            longest = longest.max(now() - t0);
            let em = maps.lookup(rng.below(n) * 2 * B, B);
            drop(maps);
            drop(em);
            reads += 1;
            r.started.store(true, Ordering::Release);
            resched(reads);
        }
        r.longest.store(longest.max(0) as u64, Ordering::Relaxed);
        r.reads.store(reads, Ordering::Relaxed);
        0
    })?;
    while !c.started.load(Ordering::Acquire) {
        cond_resched();
    }
    c.tree.drop_all();
    c.done.store(true, Ordering::Release);
    reader.join();
    Ok((
        c.longest.load(Ordering::Relaxed),
        c.reads.load(Ordering::Relaxed),
    ))
}
