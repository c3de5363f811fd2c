// SPDX-License-Identifier: GPL-2.0

//! Property tests: random sequences of writes (plain and compressed), hole punches, drops and
//! loads from disk (`btrfs_add_extent_mapping`'s `-EEXIST` resolution, which trims a loaded map
//! to the gap between cached ones) over a small file, applied to a sorted list of maps with
//! extmap's rules, and to a model that records, for every block of the file, where its data
//! lives. After every step both must agree on every block, and every map must pass the same
//! consistency checks btrfs's debug build applies. The runs count what they really exercised
//! (merges done, maps split, maps trimmed to a gap, compressed maps) and must reach each.

use extmap_rules::rules::*;

const BLOCK: u64 = 4096;
const FILE_BLOCKS: u64 = 48;

/// xorshift64*: small, deterministic, no dependencies.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Where a block's data is: on disk at a byte address, at a position in the uncompressed data of
/// a compressed extent (which starts at the given disk address), or a hole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Loc {
    Disk(u64),
    Compressed(u64, u64),
    Hole,
}

#[derive(Clone, Copy, Debug)]
struct Map {
    f: MapFields,
    flags: u32,
}

/// The maps of a file, sorted and non-overlapping, changed only through the rules.
#[derive(Default)]
struct Maps(Vec<Map>);

impl Maps {
    fn loc(&self, pos: u64) -> Option<Loc> {
        let m = self.0.iter().find(|m| m.f.contains(pos))?;
        Some(if !m.f.is_real() {
            Loc::Hole
        } else if is_compressed(m.flags) {
            Loc::Compressed(m.f.disk_bytenr, m.f.offset + (pos - m.f.start))
        } else {
            Loc::Disk(m.f.block_start(m.flags) + (pos - m.f.start))
        })
    }

    /// `btrfs_drop_extent_map_range` over `[start, end)` with the split rules; returns the
    /// number of split maps made.
    fn drop_range(&mut self, start: u64, end: u64) -> usize {
        let mut out = Vec::new();
        let mut splits = 0;
        for m in self.0.drain(..) {
            if !m.f.overlaps(start, end - start) {
                out.push(m);
                continue;
            }
            if m.f.start < start {
                out.push(Map {
                    f: split_front(&m.f, start),
                    flags: m.flags & !LOGGING,
                });
                splits += 1;
            }
            if m.f.end() > end {
                out.push(Map {
                    f: split_back(&m.f, end),
                    flags: m.flags & !LOGGING,
                });
                splits += 1;
            }
        }
        out.sort_by_key(|m| m.f.start);
        self.0 = out;
        splits
    }

    /// Inserts `m` (which must not overlap) and merges it with its neighbours like
    /// `try_merge_map`; returns the number of neighbours merged.
    fn insert_and_merge(&mut self, m: Map) -> usize {
        let idx = self.0.partition_point(|x| x.f.start < m.f.start);
        self.0.insert(idx, m);
        let mut idx = idx;
        let mut merges = 0;
        if !can_merge(m.flags, false) {
            return 0;
        }
        if idx > 0 && self.0[idx].f.start != 0 {
            let (p, e) = (self.0[idx - 1], self.0[idx]);
            if can_merge(p.flags, false) && mergeable(&p.f, p.flags, &e.f, e.flags) {
                let f = merged(&p.f, &e.f, true);
                self.0[idx] = Map {
                    f,
                    flags: e.flags | MERGED,
                };
                self.0.remove(idx - 1);
                idx -= 1;
                merges += 1;
            }
        }
        if idx + 1 < self.0.len() {
            let (e, n) = (self.0[idx], self.0[idx + 1]);
            if can_merge(n.flags, false) && mergeable(&e.f, e.flags, &n.f, n.flags) {
                let f = merged(&e.f, &n.f, false);
                self.0[idx] = Map {
                    f,
                    flags: e.flags | MERGED,
                };
                self.0.remove(idx + 1);
                merges += 1;
            }
        }
        merges
    }

    /// `btrfs_add_extent_mapping` of `record` (loaded from disk for `pos`) with its `-EEXIST`
    /// resolution: nothing if a cached map already covers `pos`, else the record trimmed to the
    /// gap between the cached maps around `pos` (`merge_extent_mapping`). Returns the map
    /// inserted, if any, and whether it had to be trimmed.
    fn add(&mut self, record: Map, pos: u64) -> Option<(Map, bool)> {
        if self.0.iter().any(|m| m.f.contains(pos)) {
            return None;
        }
        let overlaps = self
            .0
            .iter()
            .any(|m| m.f.overlaps(record.f.start, record.f.len));
        let f = if overlaps {
            let prev_end = self
                .0
                .iter()
                .filter(|m| m.f.end() <= pos)
                .map(|m| m.f.end())
                .max();
            let next_start = self
                .0
                .iter()
                .filter(|m| m.f.start > pos)
                .map(|m| m.f.start)
                .min();
            trim_to_gap(&record.f, pos, prev_end, next_start)
                .expect("the gap around an uncached position holds it")
        } else {
            record.f
        };
        let m = Map { f, ..record };
        self.insert_and_merge(m);
        Some((m, overlaps))
    }

    fn check(&self, model: &[Option<Loc>], step: usize, seed: u64) {
        for w in self.0.windows(2) {
            assert!(
                w[0].f.end() <= w[1].f.start,
                "seed {seed} step {step}: overlap {:?}",
                w
            );
        }
        for m in &self.0 {
            if let Err(why) = validate(&m.f, m.flags) {
                panic!("seed {seed} step {step}: invalid map {:?}: {why}", m);
            }
        }
        for b in 0..FILE_BLOCKS {
            let pos = b * BLOCK;
            assert_eq!(
                self.loc(pos),
                model[b as usize],
                "seed {seed} step {step}: block {b} disagrees; maps {:?}",
                self.0
            );
        }
    }
}

/// What a run really exercised.
#[derive(Default, Debug)]
struct Reached {
    /// Neighbours merged.
    merges: usize,
    /// Split maps made by drops.
    splits: usize,
    /// Maps loaded from disk and trimmed to the gap between cached maps.
    trims: usize,
    /// Compressed maps inserted.
    compressed: usize,
}

/// The file's on-disk extent records, one per block: the map of the write or punch that last
/// covered it, and that write's number (the record's identity).
type Records = Vec<Option<(Map, usize)>>;

/// The on-disk record covering block `b`, as the file's extent items hold it after later
/// writes split it: the blocks around `b` that the same write still covers.
fn record_at(records: &Records, b: usize) -> Option<Map> {
    let (m, id) = records[b]?;
    let same = |i: usize| matches!(records[i], Some((_, j)) if j == id);
    let mut first = b;
    while first > 0 && same(first - 1) {
        first -= 1;
    }
    let mut last = b;
    while last + 1 < records.len() && same(last + 1) {
        last += 1;
    }
    let (start, end) = (first as u64 * BLOCK, (last as u64 + 1) * BLOCK);
    let mut f = m.f;
    if f.start < start {
        f = split_back(&f, start);
    }
    if f.end() > end {
        f = split_front(&f, end);
    }
    Some(Map { f, flags: m.flags })
}

fn run(seed: u64, steps: usize, reached: &mut Reached) {
    let mut rng = Rng(seed | 1);
    let mut maps = Maps::default();
    let mut model = vec![None; FILE_BLOCKS as usize];
    let mut records: Records = vec![None; FILE_BLOCKS as usize];
    let mut truth = vec![None; FILE_BLOCKS as usize];
    let mut next_disk = 1 << 20;
    for step in 0..steps {
        let start_b = rng.below(FILE_BLOCKS);
        let len_b = 1 + rng.below((FILE_BLOCKS - start_b).min(8));
        let (start, len) = (start_b * BLOCK, len_b * BLOCK);
        let blocks = start_b as usize..(start_b + len_b) as usize;
        match rng.below(5) {
            // Write: new data at a fresh or at the next contiguous disk address (so maps can
            // merge), possibly into the middle of an existing extent (offset > 0), sometimes
            // compressed (never merged; its blocks are positions in the uncompressed data).
            0 | 1 => {
                if rng.below(3) == 0 {
                    next_disk += rng.below(4) * BLOCK;
                }
                let (extent_len, offset) = if rng.below(4) == 0 {
                    let pre = rng.below(3) * BLOCK;
                    (len + pre + rng.below(3) * BLOCK, pre)
                } else {
                    (len, 0)
                };
                let compressed = rng.below(5) == 0;
                let (f, flags) = if compressed {
                    let disk_len = BLOCK * (1 + rng.below(extent_len / BLOCK));
                    let f = MapFields {
                        start,
                        len,
                        disk_bytenr: next_disk,
                        disk_num_bytes: disk_len,
                        offset,
                        ram_bytes: extent_len,
                    };
                    next_disk += disk_len;
                    (f, COMPRESS_ZLIB)
                } else {
                    let disk = next_disk - offset;
                    next_disk += extent_len - offset;
                    let f = MapFields {
                        start,
                        len,
                        disk_bytenr: disk,
                        disk_num_bytes: extent_len,
                        offset,
                        ram_bytes: extent_len,
                    };
                    (f, 0)
                };
                reached.splits += maps.drop_range(start, start + len);
                reached.merges += maps.insert_and_merge(Map { f, flags });
                reached.compressed += compressed as usize;
                for (i, b) in blocks.enumerate() {
                    let at = offset + i as u64 * BLOCK;
                    model[b] = Some(if compressed {
                        Loc::Compressed(f.disk_bytenr, at)
                    } else {
                        Loc::Disk(f.disk_bytenr + at)
                    });
                    truth[b] = model[b];
                    records[b] = Some((Map { f, flags }, step));
                }
            }
            // Punch a hole.
            2 => {
                let f = MapFields {
                    start,
                    len,
                    disk_bytenr: HOLE,
                    disk_num_bytes: 0,
                    offset: 0,
                    ram_bytes: len,
                };
                reached.splits += maps.drop_range(start, start + len);
                reached.merges += maps.insert_and_merge(Map { f, flags: 0 });
                for b in blocks {
                    model[b] = Some(Loc::Hole);
                    truth[b] = model[b];
                    records[b] = Some((Map { f, flags: 0 }, step));
                }
            }
            // Drop cached maps (release_folio, truncate of the cache).
            3 => {
                reached.splits += maps.drop_range(start, start + len);
                for b in blocks {
                    model[b] = None;
                }
            }
            // A read of block `start_b` loads its record from disk.
            _ => {
                let b = start_b as usize;
                if let Some(record) = record_at(&records, b) {
                    if let Some((m, trimmed)) = maps.add(record, start) {
                        reached.trims += trimmed as usize;
                        for pos in (m.f.start..m.f.end()).step_by(BLOCK as usize) {
                            let i = (pos / BLOCK) as usize;
                            model[i] = truth[i];
                        }
                    }
                }
            }
        }
        maps.check(&model, step, seed);
    }
}

#[test]
fn random_sequences_agree_with_the_model() {
    let mut reached = Reached::default();
    for seed in 1..=300u64 {
        run(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15), 200, &mut reached);
    }
    // The sequences must really exercise each rule, or the test proves nothing: real merges
    // (neighbours absorbed), real splits, loads trimmed to a gap, compressed maps.
    assert!(reached.merges > 1000, "{reached:?}");
    assert!(reached.splits > 1000, "{reached:?}");
    assert!(reached.trims > 500, "{reached:?}");
    assert!(reached.compressed > 1000, "{reached:?}");
    println!("{reached:?}");
}

#[test]
fn merge_of_two_extents_keeps_every_block() {
    let prev = MapFields {
        start: 0,
        len: 8192,
        disk_bytenr: 40960,
        disk_num_bytes: 16384,
        offset: 4096,
        ram_bytes: 16384,
    };
    let next = MapFields {
        start: 8192,
        len: 4096,
        disk_bytenr: 53248,
        disk_num_bytes: 4096,
        offset: 0,
        ram_bytes: 4096,
    };
    assert!(mergeable(&prev, 0, &next, 0));
    let m = merged(&prev, &next, true);
    assert_eq!((m.start, m.len), (0, 12288));
    assert_eq!(m.disk_bytenr, 40960);
    assert_eq!(m.disk_num_bytes, 16384);
    assert_eq!(m.ram_bytes, 16384);
    assert_eq!(m.offset, 4096);
    assert_eq!(m.block_start(0), 45056);
    assert!(validate(&m, 0).is_ok());
}

#[test]
fn flags_must_match_ignoring_merged() {
    let a = MapFields {
        start: 0,
        len: 4096,
        disk_bytenr: 0,
        disk_num_bytes: 4096,
        offset: 0,
        ram_bytes: 4096,
    };
    let b = MapFields {
        start: 4096,
        disk_bytenr: 4096,
        ..a
    };
    assert!(mergeable(&a, MERGED, &b, 0));
    assert!(!mergeable(&a, PREALLOC, &b, 0));
    assert!(mergeable(&a, PREALLOC, &b, PREALLOC | MERGED));
    assert!(!can_merge(PINNED, false));
    assert!(!can_merge(LOGGING, false));
    assert!(!can_merge(COMPRESS_ZSTD, false));
    assert!(!can_merge(0, true));
    assert!(can_merge(MERGED | PREALLOC, false));
}

#[test]
fn holes_merge_by_equal_disk_bytenr_and_keep_the_survivor() {
    let a = MapFields {
        start: 0,
        len: 4096,
        disk_bytenr: HOLE,
        disk_num_bytes: 0,
        offset: 0,
        ram_bytes: 4096,
    };
    let b = MapFields {
        start: 4096,
        len: 8192,
        ram_bytes: 8192,
        ..a
    };
    assert!(mergeable(&a, 0, &b, 0));
    assert!(!mergeable(
        &a,
        0,
        &MapFields {
            disk_bytenr: INLINE,
            ..b
        },
        0
    ));
    let m = merged(&a, &b, false);
    assert_eq!(
        (m.start, m.len, m.disk_bytenr, m.ram_bytes),
        (0, 12288, HOLE, 4096)
    );
}

#[test]
fn trim_to_gap_adjusts_offset_for_real_and_compressed() {
    // btrfs test_case_8: compressed [108K, 144K) trimmed after [120K, 128K).
    let em = MapFields {
        start: 108 << 10,
        len: 36 << 10,
        disk_bytenr: 0,
        disk_num_bytes: 4096,
        offset: 0,
        ram_bytes: 36 << 10,
    };
    let t = trim_to_gap(&em, 140 << 10, Some(128 << 10), None).unwrap();
    assert_eq!((t.start, t.len, t.offset), (128 << 10, 16 << 10, 20 << 10));
    // Holes keep offset 0.
    let hole = MapFields {
        disk_bytenr: HOLE,
        disk_num_bytes: 0,
        ..em
    };
    assert_eq!(
        trim_to_gap(&hole, 140 << 10, Some(128 << 10), None)
            .unwrap()
            .offset,
        0
    );
    // A start outside the map, or a gap that misses it, is refused.
    assert!(trim_to_gap(&em, 100 << 10, None, None).is_none());
    assert!(trim_to_gap(&em, 140 << 10, Some(150 << 10), None).is_none());
}
