// SPDX-License-Identifier: GPL-2.0

//! extmap: btrfs's extent-map cache (`fs/btrfs/extent_map.c`, 6.12) in safe Rust.
//!
//! An extent map says "file range `[start, start+len)` lives at disk range X". A file's maps
//! live in an [`ExtentMapTree`]: an intrusive red-black tree keyed by `start` under a `rwlock_t`,
//! with a list of maps modified since the last fsync. Maps are reference counted: the tree holds
//! one reference, every task that looked a map up holds another and may use the map after
//! dropping the tree lock.
//!
//! Adjacent maps are merged to save memory, on insertion of an unmodified map, on [`unpin`] and
//! on [`clear_logging`]. A merge rewrites the map's range in place, so it needs write access to
//! a map other tasks may be reading: until 2020 btrfs did exactly that, and a reader saw the new
//! start with the old length. Here the only write access to a map in a tree is
//! [`Tree::exclusive`], which requires the tree's write guard and a reference count of at most
//! two (the tree's and the merging task's). A merge that cannot get it is refused and counted.
//! The absorbed neighbour is only unlinked, never written.
//!
//! Who writes what of a map in a tree, and when (btrfs: under the tree's write lock):
//!
//! - the range fields: only a merge, through [`Exclusive`] (write lock and no other holder);
//! - the generation and the flags (`PINNED` cleared by unpin and drops, `LOGGING` set and
//!   cleared by fsync, `MERGED` set by a merge): only under a mutable borrow of the tree that
//!   links the map, through a [`NodeMut`]; for extmap's trees, which live inside their lock,
//!   only [`MapsWrite`] (the write lock) has that borrow. A holder of an [`ExtentMap`] reads
//!   them.
//! - before a map is shared (one reference, in no tree) its creator writes everything, through
//!   [`NodeRef::get_mut`]. A map that is in no tree but shared (it left its tree) has only
//!   `LOGGING` set or cleared, by [`Maps::set_logging`] and [`Maps::clear_logging`], in one
//!   atomic update that is not made if a tree has claimed the map meanwhile (also during an
//!   insertion that then fails and gives the map back: the racing insertion wins).
//!
//! [`unpin`]: ExtentMapTree::unpin
//! [`clear_logging`]: Maps::clear_logging
//! [`Exclusive`]: crate::kernel_ext::reftree::Exclusive

#![forbid(unsafe_code)]

pub mod bench;
pub mod rules;
pub mod script;
pub mod shrink;
pub(crate) mod shrink_tests;
pub mod stats;
pub(crate) mod tests;

use crate::kernel_ext::{
    errno::euclean,
    printk::ratelimit,
    reftree::{Node, NodeKind, NodeMut, NodeRef, NodeView, Range, Tree},
    rwlock::{new_rwlock, ReadGuard, RwLock, WriteGuard},
    slab::KmemCache,
};
use core::{
    ops::Deref,
    pin::Pin,
    sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering},
};
use kernel::{c_str, prelude::*, str::CStr};
use rules::*;
use stats::STATS;

/// The node kind of extent maps: [`MapFields`] are the range.
pub struct ExtentMapKind;

impl Range for MapFields {
    fn start(&self) -> u64 {
        self.start
    }

    fn end(&self) -> u64 {
        MapFields::end(self)
    }
}

static EXTENT_MAP_CACHE: KmemCache<Node<ExtentMapKind>> = KmemCache::new();

impl NodeKind for ExtentMapKind {
    type Fields = MapFields;

    const CACHE: &'static KmemCache<Node<Self>> = &EXTENT_MAP_CACHE;
}

/// The size of one extent map in memory (btrfs 6.12: 104 bytes).
pub const EXTENT_MAP_SIZE: usize = core::mem::size_of::<Node<ExtentMapKind>>();

/// Creates the extent-map slab cache; called once at module init.
pub fn init(cache_name: &'static CStr) -> Result {
    EXTENT_MAP_CACHE.create(cache_name)
}

/// Destroys the slab cache; refused (`EBUSY`) while maps are alive.
pub fn exit() -> Result {
    EXTENT_MAP_CACHE.destroy()
}

/// The number of extent maps alive (allocated and not yet freed).
pub fn maps_alive() -> usize {
    EXTENT_MAP_CACHE.live()
}

/// Allocations of maps still to fail on purpose (tests of the `ENOMEM` paths).
static FAIL_ALLOCS: AtomicU32 = AtomicU32::new(0);

/// Makes the next `n` map allocations fail with `ENOMEM` (for tests).
pub fn inject_alloc_failures(n: u32) {
    FAIL_ALLOCS.store(n, Ordering::Relaxed);
}

/// A counted reference to an extent map (`struct extent_map *` with a reference held).
///
/// It offers reads of the map and extmap's own operations, nothing of the node underneath:
/// its fields and flags are written only by extmap, under the tree's write lock or while
/// nobody else can see the map; a map that left its tree may have `LOGGING` changed (fsync
/// ending its log) and nothing else, since other holders compute disk addresses from the rest.
///
/// # Examples
///
/// ```ignore
/// let mut em = ExtentMap::alloc(fields, rules::PINNED)?;
/// em.set_generation(7)?; // nobody else holds it yet
/// tree.write().insert(&mut em, true)?;
/// let found = tree.lookup(fields.start, 4096).ok_or(ENOENT)?;
/// assert!(found.ptr_eq(&em));
/// ```
#[derive(Clone)]
pub struct ExtentMap(NodeRef<ExtentMapKind>);

impl ExtentMap {
    /// Allocates a map with `generation` 0 (`alloc_extent_map`), not in any tree.
    pub fn alloc(fields: MapFields, flags: u32) -> Result<ExtentMap> {
        // A plain load first: no atomic read-modify-write unless a test asked for failures.
        if FAIL_ALLOCS.load(Ordering::Relaxed) != 0
            && FAIL_ALLOCS
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
        {
            return Err(ENOMEM);
        }
        NodeRef::new(fields, 0, flags & ALL_FLAGS).map(ExtentMap)
    }

    /// The node reference underneath, for extmap's tree operations.
    fn node(&self) -> &NodeRef<ExtentMapKind> {
        &self.0
    }

    /// The node reference underneath, mutably borrowed: for an exclusive view, which needs
    /// the caller's reference borrowed so that it cannot be cloned meanwhile.
    fn node_mut(&mut self) -> &mut NodeRef<ExtentMapKind> {
        &mut self.0
    }

    /// The range fields (a snapshot).
    pub fn fields(&self) -> MapFields {
        self.0.fields()
    }

    /// The flags (a snapshot).
    pub fn flags(&self) -> u32 {
        self.0.flags()
    }

    /// The generation (a snapshot).
    pub fn generation(&self) -> u64 {
        self.0.generation()
    }

    /// Whether the map is linked in a tree: `false` once it was merged away or dropped.
    pub fn in_tree(&self) -> bool {
        self.0.in_tree()
    }

    /// Whether the map is on its tree's modified list.
    pub fn on_list(&self) -> bool {
        self.0.on_list()
    }

    /// The reference count, the tree's included (a snapshot).
    pub fn refcount(&self) -> u32 {
        self.0.refcount()
    }

    /// Whether `self` and `other` refer to the same map.
    pub fn ptr_eq(&self, other: &Self) -> bool {
        self.0.ptr_eq(&other.0)
    }

    /// The map's identity (its address), to tell later whether another reference is to the
    /// same map without holding a second reference meanwhile.
    pub fn id(&self) -> usize {
        self.0.id()
    }

    /// First file byte.
    pub fn start(&self) -> u64 {
        self.fields().start
    }

    /// Length in file bytes.
    pub fn len(&self) -> u64 {
        self.fields().len
    }

    /// Whether the map covers no byte (only possible before it is inserted).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One past the last file byte (saturating).
    pub fn end(&self) -> u64 {
        self.fields().end()
    }

    /// Sets the generation of a map nobody else can see yet (one reference, in no tree);
    /// `EBUSY` otherwise. In a tree, only unpin and merges write it, under the write lock.
    pub fn set_generation(&mut self, generation: u64) -> Result {
        self.0.get_mut().ok_or(EBUSY)?.set_generation(generation);
        Ok(())
    }

    /// Sets or clears `LOGGING` of a map in no tree (the script interface, and fsync ending the
    /// log of a map dropped meanwhile), atomically with the check that no tree has linked it:
    /// a map in a tree has its flags written under that tree's write lock only. `false` if a
    /// tree links it.
    fn set_logging_unlinked(&self, logging: bool) -> bool {
        if logging {
            self.0.update_flags_unlinked(LOGGING, 0)
        } else {
            self.0.update_flags_unlinked(0, LOGGING)
        }
    }

    /// Disk address of `start` (`btrfs_extent_map_block_start`).
    pub fn block_start(&self) -> u64 {
        self.fields().block_start(self.flags())
    }
}

/// A snapshot of one map, as [`Maps::for_each`] shows it.
#[derive(Clone, Copy, Debug)]
pub struct MapInfo {
    /// The range fields.
    pub fields: MapFields,
    /// The flags.
    pub flags: u32,
    /// The generation.
    pub generation: u64,
    /// Whether the map is on the modified list.
    pub modified: bool,
    /// The reference count, the tree's included.
    pub refs: u32,
}

/// The maps of one file, as seen under the tree lock: `G` is the lock's guard. Reads need the
/// read lock ([`ExtentMapTree::read`], [`MapsRead`]), everything that changes the tree the write
/// lock ([`ExtentMapTree::write`], [`MapsWrite`]). The tree itself is never reachable mutably
/// from here: it is pinned (its list's entries point into it), and the write guard hands it out
/// only as `Pin<&mut Tree>`.
pub struct Maps<G> {
    tree: G,
}

/// [`Maps`] under the read lock.
pub type MapsRead<'a> = Maps<ReadGuard<'a, Tree<ExtentMapKind>>>;

/// [`Maps`] under the write lock.
pub type MapsWrite<'a> = Maps<WriteGuard<'a, Tree<ExtentMapKind>>>;

/// A file's extent maps: the tree, its lock, and the full-sync flag.
#[pin_data]
pub struct ExtentMapTree {
    #[pin]
    lock: RwLock<Tree<ExtentMapKind>>,
    /// A modified map was dropped without being split (out of memory): the next fsync must log
    /// the whole file (btrfs's `btrfs_set_inode_full_sync`).
    full_sync: AtomicBool,
    /// Where the shrinker's next walk of this tree starts ([`ExtentMapTree::shrink`]); written under the
    /// write lock.
    shrink_pos: AtomicU64,
    /// The number of maps when last counted ([`ExtentMapTree::count_hint`]).
    len_hint: AtomicUsize,
}

impl ExtentMapTree {
    /// An empty tree (`extent_map_tree_init`).
    pub fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            lock <- new_rwlock!(Tree::new(), "extent_map_tree"),
            full_sync: AtomicBool::new(false),
            shrink_pos: AtomicU64::new(0),
            len_hint: AtomicUsize::new(0),
        })
    }

    /// Takes the tree lock for reading.
    pub fn read(&self) -> MapsRead<'_> {
        Maps {
            tree: self.lock.read(),
        }
    }

    /// Takes the tree lock for writing.
    pub fn write(&self) -> MapsWrite<'_> {
        Maps {
            tree: self.lock.write(),
        }
    }

    /// Whether a modified map was dropped whole, so that a fast fsync would miss it.
    pub fn needs_full_sync(&self) -> bool {
        self.full_sync.load(Ordering::Acquire)
    }

    /// Clears the full-sync flag (after a full sync).
    pub fn clear_full_sync(&self) {
        self.full_sync.store(false, Ordering::Release)
    }

    /// The map overlapping `[start, start+len)` (read lock taken and dropped here).
    pub fn lookup(&self, start: u64, len: u64) -> Option<ExtentMap> {
        self.read().lookup(start, len)
    }

    /// Marks the map at `start` written (`unpin_extent_cache`): sets its generation, clears
    /// `PINNED`, and tries to merge it. `ENOENT` if no map overlaps the range, `EUCLEAN` if the
    /// map found does not start at `start`.
    pub fn unpin(&self, start: u64, len: u64, generation: u64) -> Result {
        let mut maps = self.write();
        let Some(mut m) = maps.tree().find_mut(|t| lookup_view(t, start, len, true)) else {
            // Rate limited: a caller's bug, but one a script can repeat at will.
            if ratelimit(c_str!("extmap")) {
                pr_warn!(
                    "extmap: no extent map found when unpinning [{}, {}), generation {}\n",
                    start,
                    range_end(start, len),
                    generation
                );
            }
            return Err(ENOENT);
        };
        if m.fields().start != start {
            if ratelimit(c_str!("extmap")) {
                pr_warn!(
                    "extmap: extent map at {} has unexpected start when unpinning [{}, {})\n",
                    m.fields().start,
                    start,
                    range_end(start, len)
                );
            }
            return Err(euclean());
        }
        m.set_generation(generation);
        m.clear_flags(PINNED);
        // One descent in all, as upstream: the merge starts from the lookup's own node. Upstream
        // merges holding the lookup's reference (refused above two); with none taken, the same
        // rule is "no reference but the tree's".
        merge(m, None);
        Ok(())
    }

    /// Drops the maps overlapping `[start, end]` (`end` inclusive), splitting those that extend
    /// outside it (`btrfs_drop_extent_map_range`). With `skip_pinned`, pinned maps stay.
    pub fn drop_range(&self, start: u64, end: u64, skip_pinned: bool) {
        let (start, len, end) = if end == u64::MAX {
            if start == 0 && !skip_pinned {
                self.drop_all();
                return;
            }
            (start, u64::MAX, u64::MAX)
        } else if end < start {
            return;
        } else {
            (start, end - start + 1, end + 1)
        };

        // At most two splits are ever needed (a map sticking out at each end), so allocate them
        // before taking the spinning lock. Failing is fine: see below.
        let mut spare = [Self::spare_map(), Self::spare_map()];
        let mut maps = self.write();
        // One descent; the walk then steps from map to map.
        let mut cur = maps.tree().find_mut(|t| lookup_view(t, start, len, true));
        while let Some(mut m) = cur {
            let f = m.fields();
            let em_end = f.end();
            // A next map can be in the range only if this one ends before `end`.
            let more = em_end < end;
            if skip_pinned && m.flags() & PINNED != 0 {
                cur = if more {
                    below(m.into_next(), end)
                } else {
                    None
                };
            } else {
                // Splits keep PINNED but never LOGGING: only the map being logged is logged.
                let split_flags = m.flags() & !LOGGING;
                m.clear_flags(PINNED);
                let modified = m.on_list();
                let generation = m.generation();
                STATS.drops.inc();
                let front = (f.start < start).then(|| split_front(&f, start));
                let back = (em_end > end).then(|| split_back(&f, end));
                if front.is_none() && back.is_none() {
                    let (old, next) = if more {
                        m.remove_and_next()
                    } else {
                        (m.remove(), None)
                    };
                    drop(old);
                    cur = below(next, end);
                } else {
                    // As btrfs: the first piece takes the map's place in the tree, the second
                    // (a map sticking out at both ends) is inserted. If a piece cannot be made
                    // (no memory), the rest of the map is dropped whole, as upstream.
                    let mut pieces = [front, back].into_iter().flatten();
                    let first = pieces
                        .next()
                        .and_then(|p| fill_spare(&mut spare, p, split_flags, generation));
                    let (old, mut whole) = match first {
                        Some(mut piece) => match piece.0.get_mut() {
                            Some(alone) => match m.replace(alone, modified) {
                                Ok((old, pm)) => {
                                    STATS.splits.inc();
                                    merge(pm, Some(&mut piece));
                                    (old, false)
                                }
                                // Not reached: the piece lies inside the map it replaces.
                                Err(m) => (m.remove(), true),
                            },
                            // Not reached: `fill_spare` gives a map nobody else holds.
                            None => (m.remove(), true),
                        },
                        None => (m.remove(), true),
                    };
                    if let Some(p) = pieces.next() {
                        whole = whole
                            || !maps.insert_split(&mut spare, p, split_flags, generation, modified);
                    }
                    if whole && modified {
                        self.full_sync.store(true, Ordering::Release);
                    }
                    drop(old);
                    // Only a map sticking out in front can have a next one in the range; the
                    // walk goes on from its end (its successor moved with the replacement).
                    cur = if more {
                        maps.tree().find_mut(|t| overlapping(t, em_end, end))
                    } else {
                        None
                    };
                }
            }
            // Let waiters in between maps (btrfs does for a drop of the whole tree): a long drop
            // never holds the lock across an unbounded number of maps.
            if let Some(next) = cur.as_ref().filter(|_| self.lock.should_yield()) {
                let pos = next.fields().start;
                maps.let_waiters_in();
                cur = maps.tree().find_mut(|t| overlapping(t, pos, end));
            }
        }
    }

    fn spare_map() -> Option<ExtentMap> {
        ExtentMap::alloc(MapFields::default(), 0).ok()
    }

    /// Splits the pinned, modified map `[start, start + len)` in two for an ordered extent
    /// that was split (`split_extent_map`, direct I/O): `[start, start + pre)` now lives at
    /// `new_logical`, the rest where it was. `ENOMEM` if the two new maps cannot be allocated,
    /// `EIO` if no map is there, `EINVAL` if the map is not what a split needs (exact range,
    /// real, uncompressed, pinned, modified, not being logged) or `pre` is not inside it.
    pub fn split(&self, start: u64, len: u64, pre: u64, new_logical: u64) -> Result {
        if pre == 0 || pre >= len {
            return Err(EINVAL);
        }
        // Allocated before the spinning lock, as upstream.
        let mut pre_map = ExtentMap::alloc(MapFields::default(), 0)?;
        let mut mid_map = ExtentMap::alloc(MapFields::default(), 0)?;
        let mut maps = self.write();
        let em = maps.lookup(start, len).ok_or(EIO)?;
        let f = em.fields();
        let flags = em.flags();
        if f.start != start
            || f.len != len
            || !f.is_real()
            || is_compressed(flags)
            || flags & PINNED == 0
            || flags & LOGGING != 0
            || !em.on_list()
        {
            return Err(EINVAL);
        }
        let generation = em.generation();
        let fill = |m: &mut ExtentMap, fields: MapFields| -> Result {
            let mut m = m.0.get_mut().ok_or(EINVAL)?;
            *m.fields_mut() = fields;
            m.set_flags(flags);
            m.set_generation(generation);
            Ok(())
        };
        fill(
            &mut pre_map,
            MapFields {
                start,
                len: pre,
                disk_bytenr: new_logical,
                disk_num_bytes: pre,
                offset: 0,
                ram_bytes: pre,
            },
        )?;
        fill(
            &mut mid_map,
            MapFields {
                start: start + pre,
                len: len - pre,
                disk_bytenr: f.block_start(flags) + pre,
                disk_num_bytes: len - pre,
                offset: 0,
                ram_bytes: len - pre,
            },
        )?;
        let mut m = maps.tree().node_mut(em.node()).ok_or(EIO)?;
        m.clear_flags(PINNED);
        drop(m.remove());
        // The range is free now, so both inserts succeed; both stay on the modified list.
        maps.insert(&mut pre_map, true)?;
        maps.insert(&mut mid_map, true)?;
        STATS.splits.add(2);
        Ok(())
    }

    /// Drops the cached maps of a page-cache range being released (`try_release_extent_mapping`):
    /// from `start` on, each map that starts exactly where the previous one ended and lies at
    /// least partly in `[start, start + len)` is dropped whole, unless it is on the modified list
    /// (not being logged) with a generation of `current_generation` or newer, which fsync still
    /// needs. A pinned map, or a gap, ends the walk. Returns the number of maps dropped.
    pub fn try_release(&self, start: u64, len: u64, current_generation: u64) -> usize {
        let end = range_end(start, len);
        let mut pos = start;
        let mut dropped = 0;
        while pos < end {
            let mut maps = self.write();
            let Some(m) = maps
                .tree()
                .find_mut(|t| lookup_view(t, pos, end - pos, true))
            else {
                break;
            };
            let (f, flags) = (m.fields(), m.flags());
            if flags & PINNED != 0 || f.start != pos {
                break;
            }
            let keep = m.on_list() && flags & LOGGING == 0 && m.generation() >= current_generation;
            if !keep {
                drop(m.remove());
                dropped += 1;
                STATS.drops.inc();
            }
            pos = f.end();
        }
        dropped
    }

    /// Drops every map (`drop_all_extent_maps_fast`), pinned and logging ones included: the
    /// inode is going away.
    pub fn drop_all(&self) {
        let mut maps = self.write();
        let mut cur = maps.tree().find_mut(|t| t.first());
        while let Some(mut m) = cur {
            m.clear_flags(PINNED | LOGGING);
            STATS.drops.inc();
            let (old, next) = m.remove_and_next();
            drop(old);
            cur = next;
            // Let waiters in between maps (`cond_resched_rwlock_write`, as btrfs).
            if cur.is_some() && self.lock.should_yield() {
                maps.let_waiters_in();
                cur = maps.tree().find_mut(|t| t.first());
            }
        }
    }

    /// Replaces whatever maps cover `new`'s range with `new` (`btrfs_replace_extent_map_range`).
    pub fn replace_range(&self, new: &mut ExtentMap, modified: bool) -> Result {
        if new.in_tree() || new.is_empty() {
            return Err(EINVAL);
        }
        // Refuse an inconsistent map before dropping anything, so that the tree is unchanged.
        if validate(&new.fields(), new.flags()).is_err() {
            return Err(EINVAL);
        }
        loop {
            self.drop_range(new.start(), new.end() - 1, false);
            match self.write().insert(new, modified) {
                Err(e) if e == EEXIST => continue,
                r => return r,
            }
        }
    }
}

impl<G: Deref<Target = Tree<ExtentMapKind>>> Maps<G> {
    /// Every map, in order (for tests and debugging).
    pub fn for_each(&self, mut f: impl FnMut(&MapInfo)) {
        let mut cur = self.tree.first();
        while let Some(v) = cur {
            f(&MapInfo {
                fields: v.fields(),
                flags: v.flags(),
                generation: v.generation(),
                modified: v.on_list(),
                refs: v.refcount(),
            });
            cur = v.next();
        }
    }

    /// The number of maps.
    pub fn len(&self) -> usize {
        self.tree.len()
    }

    /// Whether there is no map.
    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    fn lookup_common(&self, start: u64, len: u64, strict: bool) -> Option<ExtentMap> {
        lookup_view(&self.tree, start, len, strict).map(|v| ExtentMap(v.to_ref()))
    }

    /// The first map that overlaps `[start, start+len)` (`lookup_extent_mapping`). More maps
    /// may overlap the range: check the one returned.
    pub fn lookup(&self, start: u64, len: u64) -> Option<ExtentMap> {
        self.lookup_common(start, len, true)
    }

    /// The map overlapping `[start, start+len)` or, failing that, a nearby one
    /// (`search_extent_mapping`).
    pub fn search(&self, start: u64, len: u64) -> Option<ExtentMap> {
        self.lookup_common(start, len, false)
    }

    /// The map after `em` in the tree (`next`), or before it; `None` if there is none or `em`
    /// is not in this tree.
    fn neighbour_of(&self, em: &ExtentMap, next: bool) -> Option<ExtentMap> {
        let v = self.tree.view_of(em.node())?;
        let n = if next { v.next() } else { v.prev() };
        n.map(|n| ExtentMap(n.to_ref()))
    }

    fn next_of(&self, em: &ExtentMap) -> Option<ExtentMap> {
        self.neighbour_of(em, true)
    }

    fn prev_of(&self, em: &ExtentMap) -> Option<ExtentMap> {
        self.neighbour_of(em, false)
    }

    /// Whether the modified list is empty.
    pub fn modified_is_empty(&self) -> bool {
        self.tree.list_is_empty()
    }
}

impl MapsWrite<'_> {
    fn tree(&mut self) -> Pin<&mut Tree<ExtentMapKind>> {
        self.tree.as_mut()
    }

    /// Lets waiters in ([`WriteGuard::cond_resched`]), counting the times the lock was dropped
    /// (`drop_yields`): whatever the caller found under the lock may be stale afterwards.
    fn let_waiters_in(&mut self) {
        if self.tree.cond_resched() {
            STATS.drop_yields.inc();
        }
    }

    /// Inserts `em` (`add_extent_mapping`): `EEXIST` if it overlaps a map of the tree, `EINVAL`
    /// if it is already in a tree, empty, or inconsistent. The tree takes its own reference. A
    /// `modified` map goes on the modified list; any other is merged with its neighbours when
    /// possible.
    pub fn insert(&mut self, em: &mut ExtentMap, modified: bool) -> Result {
        if em.in_tree() || em.is_empty() {
            return Err(EINVAL);
        }
        if let Err(why) = validate(&em.fields(), em.flags()) {
            if ratelimit(c_str!("extmap")) {
                pr_err!(
                    "extmap: refusing inconsistent map at {}: {}\n",
                    em.start(),
                    why
                );
            }
            return Err(EINVAL);
        }
        // A new map (the usual case) is claimed without an atomic read-modify-write.
        let m = match em.0.get_mut() {
            Some(alone) => self.tree().insert_unshared(alone, modified),
            None => self.tree().insert(em.0.clone(), modified).map_err(drop),
        }
        .map_err(|()| EEXIST)?;
        STATS.inserts.inc();
        if !modified {
            // From the insertion's own node: no descent to find it again.
            merge(m, Some(em));
        }
        Ok(())
    }

    fn insert_split(
        &mut self,
        spare: &mut [Option<ExtentMap>; 2],
        fields: MapFields,
        flags: u32,
        generation: u64,
        modified: bool,
    ) -> bool {
        let Some(mut split) = fill_spare(spare, fields, flags, generation) else {
            return false;
        };
        let Some(alone) = split.0.get_mut() else {
            return false;
        };
        let Ok(m) = self.tree().insert_unshared(alone, modified) else {
            return false;
        };
        STATS.splits.inc();
        // As any insertion (btrfs's `setup_extent_mapping`): a split of an unmodified map may
        // merge with the neighbour on its far side (a modified split is on the list: no merge).
        merge(m, Some(&mut split));
        true
    }

    /// Inserts `em`, resolving an overlap the way btrfs's read path needs
    /// (`btrfs_add_extent_mapping`): `[start, start+len)` is the range the caller wants mapped.
    /// If a map of the tree contains `start`, that map is returned and `em` dropped; otherwise
    /// `em` is trimmed to the gap around `start` (`offset` adjusted) and inserted. `EEXIST` if
    /// the trimmed map still collides, `EBUSY` if `em` is shared and so cannot be trimmed.
    pub fn add(&mut self, mut em: ExtentMap, start: u64, len: u64) -> Result<ExtentMap> {
        match self.insert(&mut em, false) {
            Err(e) if e == EEXIST => {}
            Err(e) => return Err(e),
            Ok(()) => return Ok(em),
        }
        // Someone inserted an overlapping map first: there must be a map near the range.
        let existing = self.search(start, len).ok_or(EEXIST)?;
        if existing.fields().contains(start) {
            STATS.eexist_resolved.inc();
            return Ok(existing);
        }
        let (prev, next) = if existing.start() > start {
            (self.prev_of(&existing), Some(existing))
        } else {
            let next = self.next_of(&existing);
            (Some(existing), next)
        };
        let trimmed = trim_to_gap(
            &em.fields(),
            start,
            prev.as_ref().map(|p| p.end()),
            next.as_ref().map(|n| n.start()),
        )
        .ok_or(EEXIST)?;
        *em.0.get_mut().ok_or(EBUSY)?.fields_mut() = trimmed;
        self.insert(&mut em, false)?;
        STATS.eexist_resolved.inc();
        Ok(em)
    }

    /// Removes `em` from the tree (`remove_extent_mapping`) and drops the tree's reference.
    /// `ENOENT` if it is not in this tree.
    pub fn remove(&mut self, em: &ExtentMap) -> Result {
        self.tree().remove(em.node()).map(drop).ok_or(ENOENT)
    }

    /// Takes the next map off the modified list, with a reference.
    pub fn pop_modified(&mut self) -> Option<ExtentMap> {
        self.tree().list_pop().map(|m| ExtentMap(m.to_ref()))
    }

    /// Takes the next map off the modified list for fsync (`btrfs_log_changed_extents`):
    /// `None` once the list is empty; `Some(None)` for a map of `last_commit` or older, which
    /// only leaves the list; `Some(Some(map))` for a newer one, marked `LOGGING` (it must not
    /// merge until [`Maps::clear_logging`]) and returned with a reference.
    pub fn log_next_modified(&mut self, last_commit: u64) -> Option<Option<ExtentMap>> {
        let mut m = self.tree().list_pop()?;
        if m.generation() <= last_commit {
            return Some(None);
        }
        m.set_flags(LOGGING);
        Some(Some(ExtentMap(m.to_ref())))
    }

    /// Marks `em` as being logged by fsync: it will not merge until [`Maps::clear_logging`].
    /// A map in no tree is marked too (as upstream); one in another tree is left alone.
    pub fn set_logging(&mut self, em: &ExtentMap) {
        match self.tree().node_mut(em.node()) {
            Some(mut m) => m.set_flags(LOGGING),
            None => {
                em.set_logging_unlinked(true);
            }
        }
    }

    /// Ends logging of `em` (`clear_em_logging`) and, if it is still in the tree, tries to
    /// merge it: the merge that raced with readers in 2020.
    pub fn clear_logging(&mut self, em: &mut ExtentMap) {
        match self.tree().node_mut(em.node()) {
            Some(mut m) => {
                m.clear_flags(LOGGING);
                merge(m, Some(em));
            }
            None => {
                em.set_logging_unlinked(false);
            }
        }
    }
}

/// The first map overlapping `[pos, end)`, for a walk that goes on from `pos` (not counted as
/// a lookup).
fn overlapping(
    tree: &Tree<ExtentMapKind>,
    pos: u64,
    end: u64,
) -> Option<NodeView<'_, ExtentMapKind>> {
    tree.search(pos)
        .filter(|v| v.fields().overlaps(pos, end - pos))
}

/// `next`, if it starts before `end`.
fn below(next: Option<NodeMut<'_, ExtentMapKind>>, end: u64) -> Option<NodeMut<'_, ExtentMapKind>> {
    next.filter(|n| n.fields().start < end)
}

/// A spare map from `spare`, filled in as a piece of a split map; `None` if none is left.
fn fill_spare(
    spare: &mut [Option<ExtentMap>; 2],
    fields: MapFields,
    flags: u32,
    generation: u64,
) -> Option<ExtentMap> {
    let mut split = spare.iter_mut().find_map(|s| s.take())?;
    let mut u = split.0.get_mut()?;
    *u.fields_mut() = fields;
    u.set_flags(flags);
    u.set_generation(generation);
    Some(split)
}

/// The map overlapping `[start, start+len)` (`strict`), or failing that a nearby one.
fn lookup_view(
    tree: &Tree<ExtentMapKind>,
    start: u64,
    len: u64,
    strict: bool,
) -> Option<NodeView<'_, ExtentMapKind>> {
    STATS.lookups.inc();
    let v = tree.search(start)?;
    if strict && !v.fields().overlaps(start, len) {
        return None;
    }
    STATS.lookup_hits.inc();
    Some(v)
}

/// Merges the map `m` shows with mergeable neighbours (`try_merge_map`); `em` is the caller's
/// reference to it, if it holds one. Refused, and counted, when someone besides the tree and
/// the caller holds the map: they may be reading its range.
fn merge<'a>(m: NodeMut<'a, ExtentMapKind>, em: Option<&'a mut ExtentMap>) {
    let flags = m.flags();
    if !can_merge(flags, m.on_list()) {
        return;
    }
    // Only the exclusive view decides (the 2020 rule lives there); a refusal gives the node
    // back, to count the refusal only when there was something to merge with.
    let x = match em {
        Some(em) => m.exclusive(em.node_mut()),
        None => m.exclusive_unheld(),
    };
    let mut x = match x {
        Ok(x) => x,
        Err(m) => {
            let v = m.view();
            if can_join(&v, flags) {
                STATS.merges_refused.inc();
                STATS
                    .last_refused_refs
                    .store(u64::from(v.refcount()), Ordering::Relaxed);
            }
            return;
        }
    };
    for prev_side in [true, false] {
        let cur = x.fields();
        if prev_side && cur.start == 0 {
            continue;
        }
        // The neighbour is unlinked and released, never written: a stale holder sees it out of
        // the tree with its old range intact. It is looked at and unlinked in one step.
        let Some((tree_ref, (new, n_generation))) = x.take_neighbour(prev_side, |n| {
            let nf = n.fields();
            joins(&cur, flags, &nf, n.flags(), n.on_list(), prev_side)
                .then(|| (merged_with(&cur, &nf, prev_side), n.generation()))
        }) else {
            continue;
        };
        let generation = x.generation().max(n_generation);
        *x.fields_mut() = new;
        x.set_generation(generation);
        x.set_flags(MERGED);
        STATS.merges.inc();
        drop(tree_ref);
    }
}

/// `cur` merged with its neighbour `nf` on the `prev_side` (or the next side): `cur`'s map
/// survives.
fn merged_with(cur: &MapFields, nf: &MapFields, prev_side: bool) -> MapFields {
    if prev_side {
        merged(nf, cur, true)
    } else {
        merged(cur, nf, false)
    }
}

/// Whether the map `cur` (with `flags`) and its neighbour on the `prev_side` (or the next
/// side) can merge (`try_merge_map`'s checks of the neighbour).
fn joins(
    cur: &MapFields,
    flags: u32,
    nf: &MapFields,
    n_flags: u32,
    n_on_list: bool,
    prev_side: bool,
) -> bool {
    can_merge(n_flags, n_on_list)
        && if prev_side {
            mergeable(nf, n_flags, cur, flags)
        } else {
            mergeable(cur, flags, nf, n_flags)
        }
}

/// Whether the map `v` shows (with `flags`, which allow merging) has a neighbour it can merge
/// with.
fn can_join(v: &NodeView<'_, ExtentMapKind>, flags: u32) -> bool {
    let cur = v.fields();
    let side = |n: Option<NodeView<'_, ExtentMapKind>>, prev_side: bool| {
        n.is_some_and(|n| joins(&cur, flags, &n.fields(), n.flags(), n.on_list(), prev_side))
    };
    (cur.start != 0 && side(v.prev(), true)) || side(v.next(), false)
}
