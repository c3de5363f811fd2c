// SPDX-License-Identifier: GPL-2.0

//! emfs's debugfs files (`/sys/kernel/debug/emfs/`): counters, and the hook that lets a test
//! hold a reader inside the read path with a map in its hands, so that the 2020 race window is
//! reached on purpose rather than by luck.
//!
//! The hook: write an inode number to `park_ino` and a file offset to `park_offset`. The next
//! reader of that inode whose map contains the offset takes the hook (it is one-shot: `park_ino`
//! goes back to 0), counts itself in `parked` and waits, still holding the map, until `release`
//! changes value (or 20 seconds pass, so that a test that died cannot hang the reader).

use crate::kernel_ext::{debugfs::Dir, time::msleep};
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::c_str;

/// The inode whose reader parks; 0: nobody.
pub static PARK_INO: AtomicU64 = AtomicU64::new(0);
/// The file offset whose map the reader holds while parked.
pub static PARK_OFFSET: AtomicU64 = AtomicU64::new(0);
/// Readers that parked.
pub static PARKED: AtomicU64 = AtomicU64::new(0);
/// Any change releases the parked reader.
pub static RELEASE: AtomicU64 = AtomicU64::new(0);
/// Commits written.
pub static COMMITS: AtomicU64 = AtomicU64::new(0);
/// Write bios submitted by writeback.
pub static WRITE_BIOS: AtomicU64 = AtomicU64::new(0);
/// fsync calls that logged at least one map.
pub static FSYNC_LOGGED: AtomicU64 = AtomicU64::new(0);

/// Longest park, in milliseconds.
const PARK_TIMEOUT_MS: u32 = 20_000;

/// Called by a reader holding a map of inode `ino` that contains `[start, end)`: parks if the
/// hook is armed for it.
pub(crate) fn maybe_park(ino: u64, start: u64, end: u64) {
    if PARK_INO.load(Ordering::Acquire) != ino || ino == 0 {
        return;
    }
    let offset = PARK_OFFSET.load(Ordering::Acquire);
    if offset < start || offset >= end {
        return;
    }
    // One reader only.
    if PARK_INO
        .compare_exchange(ino, 0, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return;
    }
    let release = RELEASE.load(Ordering::Acquire);
    PARKED.fetch_add(1, Ordering::AcqRel);
    let mut waited = 0;
    while RELEASE.load(Ordering::Acquire) == release && waited < PARK_TIMEOUT_MS {
        msleep(1);
        waited += 1;
    }
}

/// Creates `/sys/kernel/debug/emfs/`.
pub(crate) fn register_debugfs() -> Dir {
    let dir = Dir::new(c_str!("emfs"));
    dir.add_u64_rw(c_str!("park_ino"), &PARK_INO);
    dir.add_u64_rw(c_str!("park_offset"), &PARK_OFFSET);
    dir.add_u64_rw(c_str!("release"), &RELEASE);
    dir.add_u64(c_str!("parked"), &PARKED);
    dir.add_u64(c_str!("commits"), &COMMITS);
    dir.add_u64(c_str!("write_bios"), &WRITE_BIOS);
    dir.add_u64(c_str!("fsync_logged"), &FSYNC_LOGGED);
    dir
}
