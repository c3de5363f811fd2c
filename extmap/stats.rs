// SPDX-License-Identifier: GPL-2.0

//! Counters of what extmap did, shown in `/sys/kernel/debug/extmap/`.

use crate::kernel_ext::{debugfs::DebugfsDir, percpu::Event};
use core::sync::atomic::AtomicU64;
use kernel::c_str;

/// Event counters, global to the module: per-CPU, so that counting on the hot paths costs no
/// shared atomic read-modify-write.
pub struct Stats {
    /// `lookup` and `search` calls.
    pub lookups: Event,
    /// Lookups and searches that returned a map.
    pub lookup_hits: Event,
    /// Maps linked into a tree (by `insert`, `add`, `replace_range`).
    pub inserts: Event,
    /// `add` calls that hit `EEXIST` and resolved it (existing map returned or new one trimmed).
    pub eexist_resolved: Event,
    /// Neighbours absorbed by merges.
    pub merges: Event,
    /// Merges refused because someone besides the tree and the merging task held the map.
    pub merges_refused: Event,
    /// The map's reference count just before the last refused merge (`make run` shows it).
    pub last_refused_refs: AtomicU64,
    /// Split maps created by `drop_range`.
    pub splits: Event,
    /// Maps dropped by `drop_range` and `drop_all`.
    pub drops: Event,
    /// Times `drop_range` and `drop_all` let waiters in (the write lock dropped and retaken).
    pub drop_yields: Event,
}

/// The module's counters.
pub static STATS: Stats = Stats {
    lookups: Event::new(0),
    lookup_hits: Event::new(1),
    inserts: Event::new(2),
    eexist_resolved: Event::new(3),
    merges: Event::new(4),
    merges_refused: Event::new(5),
    last_refused_refs: AtomicU64::new(0),
    splits: Event::new(6),
    drops: Event::new(7),
    drop_yields: Event::new(8),
};

/// A snapshot of the counters, to compare before and after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// See [`Stats::lookups`].
    pub lookups: u64,
    /// See [`Stats::lookup_hits`].
    pub lookup_hits: u64,
    /// See [`Stats::inserts`].
    pub inserts: u64,
    /// See [`Stats::eexist_resolved`].
    pub eexist_resolved: u64,
    /// See [`Stats::merges`].
    pub merges: u64,
    /// See [`Stats::merges_refused`].
    pub merges_refused: u64,
    /// See [`Stats::splits`].
    pub splits: u64,
    /// See [`Stats::drops`].
    pub drops: u64,
}

impl Stats {
    /// The current values.
    pub fn snapshot(&self) -> Snapshot {
        let l = |c: &Event| c.sum();
        Snapshot {
            lookups: l(&self.lookups),
            lookup_hits: l(&self.lookup_hits),
            inserts: l(&self.inserts),
            eexist_resolved: l(&self.eexist_resolved),
            merges: l(&self.merges),
            merges_refused: l(&self.merges_refused),
            splits: l(&self.splits),
            drops: l(&self.drops),
        }
    }
}

/// Creates `/sys/kernel/debug/extmap/` with one file per counter, `maps_alive`, the shrinker's
/// files ([`super::shrink`]) and `script` (the script interpreter, [`super::script`]).
pub fn register_debugfs() -> DebugfsDir {
    let dir = DebugfsDir::new(c_str!("extmap"));
    dir.add_event(c_str!("lookups"), &STATS.lookups);
    dir.add_event(c_str!("lookup_hits"), &STATS.lookup_hits);
    dir.add_event(c_str!("inserts"), &STATS.inserts);
    dir.add_event(c_str!("eexist_resolved"), &STATS.eexist_resolved);
    dir.add_event(c_str!("merges"), &STATS.merges);
    dir.add_event(c_str!("merges_refused"), &STATS.merges_refused);
    dir.add_u64(c_str!("last_refused_refs"), &STATS.last_refused_refs);
    dir.add_event(c_str!("splits"), &STATS.splits);
    dir.add_event(c_str!("drops"), &STATS.drops);
    dir.add_event(c_str!("drop_yields"), &STATS.drop_yields);
    dir.add_live_objects(c_str!("maps_alive"), &super::EXTENT_MAP_CACHE);
    super::shrink::register_debugfs(&dir);
    dir.add_cmdfile::<super::script::Script>(c_str!("script"));
    dir
}
