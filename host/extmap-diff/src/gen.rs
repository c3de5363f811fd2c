// SPDX-License-Identifier: GPL-2.0

//! Seeded random extent-map scripts, weighted so that every path of the extent-map code is
//! reached: merges with the previous, the next and both neighbours, merges refused because a
//! slot holds the map, pinned and logging maps that must not merge, `-EEXIST` resolution that
//! returns the tree's map and that trims the new one, `drop` that splits and that skips pinned
//! maps, `replace`, `split`, `unpin` of a missing map, and holes, inline, prealloc and
//! compressed maps.
//!
//! Scenario comments (`# scenario: NAME`) mark sequences whose outcome the path report checks;
//! the interpreters ignore them.

use std::fmt::Write;

/// Unit of file offsets and lengths.
const BLOCK: u64 = 4096;
/// File offsets stay in `[0, FILE_BLOCKS)` blocks so that maps meet often.
const FILE_BLOCKS: u64 = 64;
/// Where block 0 of the file lives on disk in the "natural" layout, in which file-contiguous
/// maps are disk-contiguous and so mergeable.
const DISK_BASE: u64 = 1 << 30;

const PINNED: u64 = 1 << 0;
const COMPRESS_ZLIB: u64 = 1 << 1;
const PREALLOC: u64 = 1 << 4;

/// Slots for maps being inserted.
const TEMP: u64 = 0;
/// Slots readers hold maps in.
const READERS: std::ops::Range<u64> = 4..10;
/// Slot fsync pops maps into.
const FSYNC: u64 = 12;

struct Gen {
    rng: fastrand::Rng,
    out: String,
    generation: u64,
    /// Ranges (in blocks) written back and not yet unpinned.
    pinned: Vec<(u64, u64)>,
}

/// The kind of map `read_insert` makes.
#[derive(Clone, Copy)]
enum Kind {
    Natural,
    Elsewhere,
    Hole,
    Inline,
    Prealloc,
    Compressed,
}

impl Gen {
    fn line(&mut self, s: &str) {
        self.out.push_str(s);
        self.out.push('\n');
    }

    fn range(&mut self, max_len: u64) -> (u64, u64) {
        let b = self.rng.u64(0..FILE_BLOCKS);
        let k = self.rng.u64(1..=max_len).min(FILE_BLOCKS - b).max(1);
        (b, k)
    }

    fn kind(&mut self) -> Kind {
        match self.rng.u32(0..100) {
            0..=54 => Kind::Natural,
            55..=64 => Kind::Elsewhere,
            65..=79 => Kind::Hole,
            80..=82 => Kind::Inline,
            83..=91 => Kind::Prealloc,
            _ => Kind::Compressed,
        }
    }

    /// `alloc` of slot `s` for blocks `[b, b+k)`.
    fn alloc(&mut self, s: u64, b: u64, k: u64, kind: Kind, flags: u64) {
        let (start, len) = (b * BLOCK, k * BLOCK);
        let g = self.generation;
        let (disk, dnum, off, ram, f) = match kind {
            Kind::Natural => (format!("{}", DISK_BASE + start), len, 0, len, 0),
            Kind::Elsewhere => {
                // A map that references the middle of a larger extent.
                let d = DISK_BASE * 4 + self.rng.u64(0..1024) * BLOCK;
                let extra = self.rng.u64(0..3) * BLOCK;
                (format!("{}", d), len + 2 * extra, extra, len + 2 * extra, 0)
            }
            Kind::Hole => ("hole".into(), 0, 0, len, 0),
            Kind::Inline => ("inline".into(), 0, 0, len, 0),
            Kind::Prealloc => (format!("{}", DISK_BASE + start), len, 0, len, PREALLOC),
            Kind::Compressed => {
                let d = DISK_BASE * 8 + self.rng.u64(0..1024) * BLOCK;
                (format!("{}", d), BLOCK, 0, len, COMPRESS_ZLIB)
            }
        };
        let (start, len) = match kind {
            Kind::Inline => (0, BLOCK),
            _ => (start, len),
        };
        let (dnum, ram) = match kind {
            Kind::Inline => (0, BLOCK),
            _ => (dnum, ram),
        };
        let line = format!(
            "alloc {} {} {} {} {} {} {} {} {:#x}",
            s,
            start,
            len,
            disk,
            dnum,
            off,
            ram,
            g,
            f | flags
        );
        self.line(&line);
    }

    /// The read path: a map loaded from disk, added with `-EEXIST` resolution.
    fn read_insert(&mut self) {
        let (b, k) = self.range(8);
        let kind = self.kind();
        self.alloc(TEMP, b, k, kind, 0);
        let (b, k) = match kind {
            Kind::Inline => (0, 1),
            _ => (b, k),
        };
        let want = b + self.rng.u64(0..k);
        let want_len = self.rng.u64(1..=4);
        let line = format!("add {} {} {}", TEMP, want * BLOCK, want_len * BLOCK);
        self.line(&line);
        if self.rng.u32(0..10) < 7 {
            self.line("put 0");
        } else {
            let r = self.rng.u64(READERS);
            let line = format!("put {}\nlookup {} {} {}", r, r, want * BLOCK, BLOCK);
            self.line(&line);
        }
    }

    /// Writeback: a new pinned map on the modified list replaces what covered its range.
    fn writeback(&mut self, b: u64, k: u64) {
        let kind = match self.rng.u32(0..8) {
            0 => Kind::Prealloc,
            1 | 2 => Kind::Elsewhere,
            _ => Kind::Natural,
        };
        self.alloc(TEMP, b, k, kind, PINNED);
        self.line("replace 0 1");
        self.line("put 0");
        self.pinned.push((b, k));
    }

    fn unpin(&mut self) {
        self.generation += 1;
        if !self.pinned.is_empty() && self.rng.u32(0..4) != 0 {
            let i = self.rng.usize(0..self.pinned.len());
            let (b, k) = self.pinned.swap_remove(i);
            let line = format!("unpin {} {} {}", b * BLOCK, k * BLOCK, self.generation);
            self.line(&line);
        } else {
            // Usually no map there, or one with another start.
            let (b, k) = self.range(4);
            let line = format!(
                "unpin {} {} {}",
                b * BLOCK + self.rng.u64(0..2) * 512,
                k * BLOCK,
                self.generation
            );
            self.line(&line);
        }
    }

    /// fsync: every modified map is popped, logged, and its logging cleared (the merge).
    fn fsync(&mut self, maps: u32) {
        for _ in 0..maps {
            let line = format!("pop {f}\nsetlog {f}\nclearlog {f}\nput {f}", f = FSYNC);
            self.line(&line);
        }
    }

    /// The 2020 race: a reader holds a freshly written map while fsync clears its logging.
    fn held_during_fsync(&mut self) {
        let (b, k) = self.range(3);
        let b = b.max(2).min(FILE_BLOCKS - k);
        // Empty the modified list, so that the pop below takes the map written here.
        self.fsync(16);
        // A clean left neighbour the logged map would merge with.
        self.alloc(TEMP, b - 2, 2, Kind::Natural, 0);
        let line = format!("add 0 {} {}\nput 0", (b - 2) * BLOCK, BLOCK);
        self.line(&line);
        self.writeback(b, k);
        self.pinned.pop();
        self.generation += 1;
        let r = self.rng.u64(READERS);
        let line = format!(
            "unpin {s} {l} {g}\n# scenario: held-during-fsync\nlookup {r} {s} {blk}\npop {f}\nsetlog {f}\nclearlog {f}\nput {f}\nput {r}",
            s = b * BLOCK,
            l = k * BLOCK,
            g = self.generation,
            r = r,
            blk = BLOCK,
            f = FSYNC
        );
        self.line(&line);
    }

    /// A clean map next to a pinned one, or to one being logged: neither may merge.
    fn next_to_busy(&mut self) {
        let (b, k) = self.range(3);
        let b = b.min(FILE_BLOCKS - k - 2);
        self.writeback(b, k);
        if self.rng.bool() {
            self.line("# scenario: next-to-pinned");
        } else {
            self.pinned.pop();
            self.generation += 1;
            let line = format!(
                "unpin {} {} {g}\npop {f}\nsetlog {f}\n# scenario: next-to-logging",
                b * BLOCK,
                k * BLOCK,
                g = self.generation,
                f = FSYNC
            );
            self.line(&line);
        }
        self.alloc(TEMP, b + k, 2, Kind::Natural, 0);
        let line = format!("add 0 {} {}\nput 0", (b + k) * BLOCK, BLOCK);
        self.line(&line);
    }

    fn drop_range(&mut self) {
        if self.rng.u32(0..6) == 0 {
            // A pinned map in the range stays when pinned maps are skipped.
            let (b, k) = self.range(3);
            self.writeback(b, k);
            let r = self.rng.u64(READERS);
            let line = format!(
                "drop {} {} 1\n# scenario: drop-skips-pinned\nlookup {} {} {}",
                b.saturating_sub(1) * BLOCK,
                (b + k + 1) * BLOCK - 1,
                r,
                b * BLOCK,
                BLOCK
            );
            self.line(&line);
            return;
        }
        if self.rng.u32(0..30) == 0 {
            self.line("drop 0 max 0");
            self.pinned.clear();
            return;
        }
        let (b, k) = self.range(10);
        let skip = self.rng.u32(0..3) == 0;
        let start = b * BLOCK + if self.rng.u32(0..4) == 0 { 512 } else { 0 };
        let line = format!("drop {} {} {}", start, (b + k) * BLOCK - 1, skip as u8);
        self.line(&line);
        if !skip {
            self.pinned.retain(|&(pb, pk)| pb + pk <= b || pb >= b + k);
        }
    }

    fn split(&mut self) {
        let Some(i) = self.pinned.iter().position(|&(_, k)| k >= 2) else {
            return;
        };
        let (b, k) = self.pinned.swap_remove(i);
        let pre = self.rng.u64(1..k);
        let new_logical = DISK_BASE * 2 + self.rng.u64(0..1024) * BLOCK;
        let line = format!(
            "split {} {} {} {}",
            b * BLOCK,
            k * BLOCK,
            pre * BLOCK,
            new_logical
        );
        self.line(&line);
        self.pinned.push((b, pre));
        self.pinned.push((b + pre, k - pre));
    }

    fn op(&mut self) {
        match self.rng.u32(0..100) {
            0..=21 => self.read_insert(),
            22..=33 => {
                let (b, k) = self.range(6);
                self.writeback(b, k);
            }
            34..=45 => self.unpin(),
            46..=53 => {
                let r = self.rng.u64(READERS);
                let (b, k) = self.range(4);
                let op = if self.rng.bool() { "lookup" } else { "search" };
                let line = format!("{} {} {} {}", op, r, b * BLOCK, k * BLOCK);
                self.line(&line);
            }
            54..=60 => {
                let r = self.rng.u64(0..16);
                let line = format!("put {}", r);
                self.line(&line);
            }
            61..=66 => {
                let n = self.rng.u32(1..4);
                self.fsync(n);
            }
            67..=72 => self.drop_range(),
            73..=75 => self.split(),
            76..=78 => {
                let r = self.rng.u64(READERS);
                let line = format!("remove {}", r);
                self.line(&line);
            }
            79..=82 => self.held_during_fsync(),
            83..=86 => self.next_to_busy(),
            87..=90 => {
                // replace without the modified flag merges like an insert.
                let (b, k) = self.range(4);
                let kind = self.kind();
                self.alloc(TEMP, b, k, kind, 0);
                self.line("replace 0 0\nput 0");
            }
            91..=92 => {
                // Inconsistent or out-of-range input, refused the same way on both sides.
                let (b, _) = self.range(1);
                let line = match self.rng.u32(0..4) {
                    0 => format!(
                        "alloc 0 {} {} 4096 0 0 4096 1 0\nadd 0 {} 4096",
                        b * BLOCK,
                        BLOCK,
                        b * BLOCK
                    ),
                    1 => format!(
                        "alloc 0 {} {} hole 0 4096 4096 1 0\nreplace 0 1\nput 0",
                        b * BLOCK,
                        BLOCK
                    ),
                    2 => format!("drop {} {} 0", b * BLOCK + 1, b * BLOCK),
                    _ => format!(
                        "alloc 1 {} {} {} {} 0 {} 1 0\nadd 1 {} 4096",
                        b * BLOCK,
                        BLOCK,
                        DISK_BASE,
                        BLOCK,
                        BLOCK,
                        (b + 1) * BLOCK
                    ),
                };
                self.line(&line);
            }
            93..=94 => self.line("dump"),
            _ => {
                let s = self.rng.u64(0..16);
                let line = format!("setlog {s}\nclearlog {s}");
                self.line(&line);
            }
        }
    }
}

/// The script of `seed` with about `ops` operations (a scenario is never cut).
pub fn script(seed: u64, ops: usize) -> String {
    let mut g = Gen {
        rng: fastrand::Rng::with_seed(seed),
        out: String::new(),
        generation: 1,
        pinned: Vec::new(),
    };
    let _ = writeln!(g.out, "# extmap-diff seed {} ops {}", seed, ops);
    while count_ops(&g.out) < ops {
        g.op();
    }
    g.line("dump");
    g.out
}

/// The number of operation lines (not comments or blank lines) of a script.
pub fn count_ops(script: &str) -> usize {
    script.lines().filter(|l| is_op(l)).count()
}

/// Whether a script line is an operation.
pub fn is_op(line: &str) -> bool {
    let l = line.trim();
    !l.is_empty() && !l.starts_with('#')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_scripts_repeat() {
        assert_eq!(script(7, 500), script(7, 500));
        assert_ne!(script(7, 500), script(8, 500));
        assert!(count_ops(&script(7, 500)) >= 500);
    }

    #[test]
    fn every_scenario_is_generated() {
        let s = script(1, 5000);
        for name in ["held-during-fsync", "next-to-pinned", "next-to-logging"] {
            assert!(s.contains(&format!("# scenario: {name}")), "{name}");
        }
        for op in [
            "alloc", "add", "replace", "lookup", "search", "remove", "drop", "split", "unpin",
            "pop", "setlog", "clearlog", "put", "dump",
        ] {
            assert!(s.lines().any(|l| l.starts_with(op)), "{op}");
        }
    }
}
