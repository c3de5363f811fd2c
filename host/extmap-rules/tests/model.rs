// SPDX-License-Identifier: GPL-2.0

//! Property tests: random sequences of writes, drops and merges over a small file, applied to a
//! sorted list of maps with extmap's rules, and to a model that records, for every block of the
//! file, where its data lives. After every step both must agree on every block, and every map
//! must pass the same consistency checks btrfs's debug build applies.

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

/// Where a block's data is: on disk at a byte address, or a hole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Loc {
    Disk(u64),
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
        Some(if m.f.is_real() {
            Loc::Disk(m.f.block_start(m.flags) + (pos - m.f.start))
        } else {
            Loc::Hole
        })
    }

    /// `btrfs_drop_extent_map_range` over `[start, end)` with the split rules.
    fn drop_range(&mut self, start: u64, end: u64) {
        let mut out = Vec::new();
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
            }
            if m.f.end() > end {
                out.push(Map {
                    f: split_back(&m.f, end),
                    flags: m.flags & !LOGGING,
                });
            }
        }
        out.sort_by_key(|m| m.f.start);
        self.0 = out;
    }

    /// Inserts `m` (which must not overlap) and merges it with its neighbours like
    /// `try_merge_map`.
    fn insert_and_merge(&mut self, m: Map) {
        let idx = self.0.partition_point(|x| x.f.start < m.f.start);
        self.0.insert(idx, m);
        let mut idx = idx;
        if !can_merge(m.flags, false) {
            return;
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
            }
        }
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

fn run(seed: u64, steps: usize) -> (usize, usize) {
    let mut rng = Rng(seed | 1);
    let mut maps = Maps::default();
    let mut model = vec![None; FILE_BLOCKS as usize];
    let mut next_disk = 1 << 20;
    let (mut merges, mut splits) = (0, 0);
    for step in 0..steps {
        let start_b = rng.below(FILE_BLOCKS);
        let len_b = 1 + rng.below((FILE_BLOCKS - start_b).min(8));
        let (start, len) = (start_b * BLOCK, len_b * BLOCK);
        let before = maps.0.len();
        match rng.below(4) {
            // Write: new data at a fresh or at the next contiguous disk address (so maps can
            // merge), possibly into the middle of an existing extent (offset > 0).
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
                maps.drop_range(start, start + len);
                maps.insert_and_merge(Map { f, flags: 0 });
                for b in start_b..start_b + len_b {
                    model[b as usize] = Some(Loc::Disk(disk + offset + (b - start_b) * BLOCK));
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
                maps.drop_range(start, start + len);
                maps.insert_and_merge(Map { f, flags: 0 });
                for b in start_b..start_b + len_b {
                    model[b as usize] = Some(Loc::Hole);
                }
            }
            // Drop cached maps (release_folio, truncate of the cache).
            _ => {
                maps.drop_range(start, start + len);
                for b in start_b..start_b + len_b {
                    model[b as usize] = None;
                }
            }
        }
        if maps.0.len() < before {
            merges += 1;
        } else if maps.0.len() > before + 1 {
            splits += 1;
        }
        maps.check(&model, step, seed);
    }
    (merges, splits)
}

#[test]
fn random_sequences_agree_with_the_model() {
    let (mut merges, mut splits) = (0, 0);
    for seed in 1..=300u64 {
        let (m, s) = run(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15), 200);
        merges += m;
        splits += s;
    }
    // The sequences must really exercise merges and splits, or the test proves nothing.
    assert!(merges > 1000, "only {merges} merging steps");
    assert!(splits > 1000, "only {splits} splitting steps");
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
