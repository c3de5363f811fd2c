// SPDX-License-Identifier: GPL-2.0

//! emfs's debugfs files (`/sys/kernel/debug/emfs/`): counters, and the hook that lets a test
//! hold a reader inside the read path with a map in its hands, so that the 2020 race window is
//! reached on purpose rather than by luck.
//!
//! The hook: write an inode number to `park_ino` and a file offset to `park_offset`. The next
//! reader of that inode whose map contains the offset takes the hook (it is one-shot: `park_ino`
//! goes back to 0), counts itself in `parked` and waits, still holding the map, until `release`
//! changes value (or 20 seconds pass, so that a test that died cannot hang the reader).
//!
//! The same for writeback, with `wb_park_ino` and `wb_park_offset`: the writeback allocation
//! whose range starts at the offset parks before it allocates (a test looks at the space
//! accounting between two allocations of one batch).
//!
//! `shrinker_off` set to non-zero turns the extent-map shrinker off ([`super::shrink`]);
//! `read_bios_N` count readahead's read bios of `N` to `2N - 1` blocks.
//!
//! Fault injection: `drop_before_unpin` set to an inode number makes that inode's next write
//! completion drop the inode's maps before it unpins (one-shot), so that the unpin finds no
//! map; `unpin_failed` counts completions whose unpin failed.

use crate::kernel_ext::{debugfs::DebugfsDir, time::msleep};
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::c_str;

/// Where a task parks: an inode (0: nobody) and a file offset.
pub struct Park {
    ino: AtomicU64,
    offset: AtomicU64,
}

/// The reader that parks holding a map.
pub static READ_PARK: Park = Park::new();
/// The writeback allocation that parks before it allocates.
pub static WRITEBACK_PARK: Park = Park::new();
/// The inode whose next write completion drops its maps before unpinning (0: none).
pub static DROP_BEFORE_UNPIN: AtomicU64 = AtomicU64::new(0);
/// Write completions whose unpin failed (no map, or not where the write was).
pub static UNPIN_FAILED: AtomicU64 = AtomicU64::new(0);
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

impl Park {
    const fn new() -> Self {
        Self {
            ino: AtomicU64::new(0),
            offset: AtomicU64::new(0),
        }
    }

    /// Called by a task at `[start, end)` of inode `ino`: parks if the hook is armed for it.
    pub(crate) fn maybe_park(&self, ino: u64, start: u64, end: u64) {
        if self.ino.load(Ordering::Acquire) != ino || ino == 0 {
            return;
        }
        let offset = self.offset.load(Ordering::Acquire);
        if offset < start || offset >= end {
            return;
        }
        // One task only.
        if self
            .ino
            .compare_exchange(ino, 0, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return;
        }
        wait_for_release();
    }
}

/// Whether inode `ino`'s write completion must drop its maps first (one-shot).
pub(crate) fn take_drop_before_unpin(ino: u64) -> bool {
    ino != 0
        && DROP_BEFORE_UNPIN
            .compare_exchange(ino, 0, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
}

fn wait_for_release() {
    let release = RELEASE.load(Ordering::Acquire);
    PARKED.fetch_add(1, Ordering::AcqRel);
    let mut waited = 0;
    while RELEASE.load(Ordering::Acquire) == release && waited < PARK_TIMEOUT_MS {
        msleep(1);
        waited += 1;
    }
}

/// Creates `/sys/kernel/debug/emfs/`.
pub(crate) fn register_debugfs() -> DebugfsDir {
    let dir = DebugfsDir::new(c_str!("emfs"));
    dir.add_u64_rw(c_str!("park_ino"), &READ_PARK.ino);
    dir.add_u64_rw(c_str!("park_offset"), &READ_PARK.offset);
    dir.add_u64_rw(c_str!("wb_park_ino"), &WRITEBACK_PARK.ino);
    dir.add_u64_rw(c_str!("wb_park_offset"), &WRITEBACK_PARK.offset);
    dir.add_u64_rw(c_str!("drop_before_unpin"), &DROP_BEFORE_UNPIN);
    dir.add_u64(c_str!("unpin_failed"), &UNPIN_FAILED);
    dir.add_u64_rw(c_str!("release"), &RELEASE);
    dir.add_u64(c_str!("parked"), &PARKED);
    dir.add_u64(c_str!("commits"), &COMMITS);
    dir.add_u64(c_str!("write_bios"), &WRITE_BIOS);
    dir.add_u64(c_str!("fsync_logged"), &FSYNC_LOGGED);
    dir.add_u64_rw(c_str!("shrinker_off"), &super::shrink::SHRINKER_OFF);
    // Readahead's bios by size: read_bios_N counts those of N to 2N - 1 blocks.
    let bios = &crate::kernel_ext::vfs::READ_BIO_BLOCKS;
    let names = [
        c_str!("read_bios_1"),
        c_str!("read_bios_2"),
        c_str!("read_bios_4"),
        c_str!("read_bios_8"),
        c_str!("read_bios_16"),
        c_str!("read_bios_32"),
        c_str!("read_bios_64"),
        c_str!("read_bios_128"),
        c_str!("read_bios_256"),
    ];
    for (name, count) in names.into_iter().zip(bios) {
        dir.add_u64(name, count);
    }
    dir
}
