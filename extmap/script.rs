// SPDX-License-Identifier: GPL-2.0

//! The extent-map script interpreter: runs a text script of extent-map operations on a fresh
//! [`ExtentMapTree`] through extmap's public API and answers each operation with one canonical
//! line. A twin of it in btrfs's sanity-test code (`patches/`) runs the same scripts on btrfs's
//! own `extent_map.c`; both print the same text when they behave the same. The language and the
//! answers are described in `Documentation/extmap-script.rst`.
//!
//! It is reached through `/sys/kernel/debug/extmap/script`: write a script to one open file,
//! read the answers from it.

use super::{rules::*, ExtentMap, ExtentMapTree, MapInfo};
use crate::kernel_ext::debugfs::{CmdHandler, CmdOutput};
use core::fmt::Write;
use kernel::prelude::*;

/// Number of reference slots a script can use.
pub const SLOTS: usize = 16;

/// The command-file handler of `/sys/kernel/debug/extmap/script`.
pub struct Script;

impl CmdHandler for Script {
    fn run(input: &[u8], out: &mut CmdOutput<'_>) -> Result {
        let tree = KBox::pin_init(ExtentMapTree::new(), GFP_KERNEL)?;
        let mut interp = Interp {
            tree: &tree,
            slots: Default::default(),
        };
        let result = interp.run(input, out);
        // Whatever happened, the slots are released and the tree emptied.
        interp.slots = Default::default();
        let (count, refs_ok) = {
            let maps = tree.read();
            let mut ok = true;
            maps.for_each(|i| ok &= i.refs == 1);
            (maps.len(), ok)
        };
        tree.drop_all();
        result?;
        writeln!(out, "end maps={} refs_ok={}", count, refs_ok as u8).map_err(|_| ENOMEM)
    }
}

/// One script line that cannot be run: the answer is `-EINVAL` with this reason.
struct Malformed(&'static str);

/// What an operation answers besides the tree state.
enum Answer {
    /// A return code, with the slot whose map to show, if any.
    Code(i32, Option<usize>),
    /// `add` succeeded: whether the slot holds the map that was passed in (`own=1`) or one that
    /// was already in the tree (`own=0`), and the slot.
    Added(bool, usize),
    /// The operation found no map.
    None,
    /// Nothing more (`dump` prints its own lines).
    Silent,
    /// `bench`: the workload, the number of maps, and what [`super::bench::run`] measured.
    Bench(usize, u64, Result<(u64, u64)>),
}

struct Interp<'a> {
    tree: &'a ExtentMapTree,
    slots: [Option<ExtentMap>; SLOTS],
}

fn number(tok: &str) -> Result<u64, Malformed> {
    let parsed = match tok {
        "hole" => Ok(HOLE),
        "inline" => Ok(INLINE),
        "last" => Ok(LAST_BYTE),
        "max" => Ok(u64::MAX),
        // Digits only: no sign, no second prefix (the C twin is as strict).
        _ => match tok.strip_prefix("0x") {
            Some(hex) if hex.bytes().all(|c| c.is_ascii_hexdigit()) => {
                u64::from_str_radix(hex, 16).map_err(|_| ())
            }
            None if tok.bytes().all(|c| c.is_ascii_digit()) => tok.parse::<u64>().map_err(|_| ()),
            _ => Err(()),
        },
    };
    parsed.map_err(|()| Malformed("bad number"))
}

/// The number of arguments of `op`, and whether the first is a slot; `None` if unknown.
fn arity(op: &str) -> Option<(usize, bool)> {
    Some(match op {
        "alloc" => (9, true),
        "add" | "lookup" | "search" => (3, true),
        "replace" => (2, true),
        "remove" | "pop" | "setlog" | "clearlog" | "put" => (1, true),
        "drop" | "unpin" => (3, false),
        "split" => (4, false),
        "dump" => (0, false),
        "bench" => (2, false),
        _ => return None,
    })
}

/// Parses one line into the operation and its numeric arguments: nothing runs unless the whole
/// line is well formed.
fn parse(line: &str) -> Result<(&str, [u64; 9]), Malformed> {
    let mut toks = line.split_ascii_whitespace();
    let op = toks.next().unwrap_or("");
    let (want, has_slot) = arity(op).ok_or(Malformed("unknown operation"))?;
    let mut args = [0u64; 9];
    let mut got = 0;
    for tok in toks {
        if got == want {
            return Err(Malformed("too many arguments"));
        }
        args[got] = if op == "bench" && got == 0 {
            let i = super::bench::OPS.iter().position(|&b| b == tok);
            i.ok_or(Malformed("unknown benchmark"))? as u64
        } else {
            number(tok)?
        };
        got += 1;
    }
    if got != want {
        return Err(Malformed("missing argument"));
    }
    if has_slot && args[0] >= SLOTS as u64 {
        return Err(Malformed("no such slot"));
    }
    Ok((op, args))
}

fn disk(v: u64) -> DiskName {
    DiskName(v)
}

/// `disk_bytenr` as scripts spell it.
struct DiskName(u64);

impl core::fmt::Display for DiskName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            HOLE => f.write_str("hole"),
            INLINE => f.write_str("inline"),
            LAST_BYTE => f.write_str("last"),
            v => write!(f, "{}", v),
        }
    }
}

/// FNV-1a over 64-bit words, the tree digest of the answers (the C twin computes the same).
struct Digest(u64);

impl Digest {
    fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    fn add(&mut self, v: u64) {
        self.0 = (self.0 ^ v).wrapping_mul(0x100_0000_01b3);
    }
}

/// Stops the script at line `n`: `LINE error -22 REASON`, also logged.
fn malformed(out: &mut CmdOutput<'_>, n: usize, why: &str) -> Result {
    pr_info!("extmap: script line {}: {}\n", n, why);
    writeln!(out, "{} error {} {}", n, EINVAL.to_errno(), why).map_err(|_| ENOMEM)?;
    Err(EINVAL)
}

/// `[disk, disk + len)` wraps nowhere and ends below the special values.
fn disk_range_ok(disk: u64, len: u64) -> bool {
    disk.checked_add(len).is_some_and(|end| end < LAST_BYTE)
}

/// What an answer shows of a slot's map.
fn info(em: &ExtentMap) -> MapInfo {
    MapInfo {
        fields: em.fields(),
        flags: em.flags(),
        generation: em.generation(),
        modified: em.on_list(),
        refs: em.refcount(),
    }
}

/// ` [START+LEN d=... tree=T]`, the same text as the C twin's.
fn write_map(out: &mut CmdOutput<'_>, i: &MapInfo, in_tree: bool) -> core::fmt::Result {
    let f = &i.fields;
    write!(
        out,
        " [{}+{} d={} n={} o={} r={} g={} f={:#x} refs={} list={} tree={}]",
        f.start,
        f.len,
        disk(f.disk_bytenr),
        f.disk_num_bytes,
        f.offset,
        f.ram_bytes,
        i.generation,
        i.flags,
        i.refs,
        i.modified as u8,
        in_tree as u8
    )
}

impl Interp<'_> {
    fn run(&mut self, input: &[u8], out: &mut CmdOutput<'_>) -> Result {
        for (i, raw) in input.split(|&b| b == b'\n').enumerate() {
            let n = i + 1;
            // Text only, as the C twin, which stops at a NUL: refused before anything else.
            if raw.iter().any(|&b| b == 0 || b > 0x7f) {
                return malformed(out, n, "not ASCII text");
            }
            let line = core::str::from_utf8(raw).map_err(|_| EINVAL)?;
            let line = line.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\x0b' | '\x0c'));
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (op, args) = match parse(line) {
                Ok(parsed) => parsed,
                Err(Malformed(why)) => return malformed(out, n, why),
            };
            let answer = self.op(op, &args, out, n).map_err(|_| ENOMEM)?;
            self.answer(out, n, op, answer).map_err(|_| ENOMEM)?;
        }
        Ok(())
    }

    fn answer(&self, out: &mut CmdOutput<'_>, n: usize, op: &str, a: Answer) -> core::fmt::Result {
        match a {
            Answer::Silent => return Ok(()),
            Answer::None => write!(out, "{} {} none", n, op)?,
            Answer::Code(code, s) => {
                write!(out, "{} {} {}", n, op, code)?;
                if let Some(em) = s.and_then(|s| self.slots[s].as_ref()) {
                    write_map(out, &info(em), em.in_tree())?;
                }
            }
            Answer::Bench(w, maps, r) => match r {
                Ok((ns, ops)) => write!(
                    out,
                    "{} {} {} {} ns={} ops={}",
                    n,
                    op,
                    super::bench::OPS[w],
                    maps,
                    ns,
                    ops
                )?,
                Err(e) => write!(out, "{} {} {}", n, op, e.to_errno())?,
            },
            Answer::Added(own, s) => {
                write!(out, "{} {} 0 own={}", n, op, own as u8)?;
                if let Some(em) = self.slots[s].as_ref() {
                    write_map(out, &info(em), em.in_tree())?;
                }
            }
        }
        // Output may allocate: not under the spinning tree lock.
        let maps = self.tree.read();
        let mut d = Digest::new();
        maps.for_each(|i| {
            let f = &i.fields;
            for v in [
                f.start,
                f.len,
                f.disk_bytenr,
                f.disk_num_bytes,
                f.offset,
                f.ram_bytes,
                i.generation,
                i.flags.into(),
                i.refs.into(),
                i.modified.into(),
            ] {
                d.add(v);
            }
        });
        let count = maps.len();
        drop(maps);
        writeln!(out, " t={}:{:016x}", count, d.0)
    }

    /// `dump`: the maps are copied under the lock and printed after it, since printing may
    /// allocate.
    fn dump(&self, out: &mut CmdOutput<'_>, n: usize) -> core::fmt::Result {
        let len = self.tree.read().len();
        let mut infos = KVVec::with_capacity(len, GFP_KERNEL).map_err(|_| core::fmt::Error)?;
        self.tree.read().for_each(|i| {
            // Within the capacity (the script is the tree's only user): never allocates.
            if infos.len() < len {
                let _ = infos.push(*i, GFP_ATOMIC);
            }
        });
        writeln!(out, "{} dump {}", n, infos.len())?;
        for i in infos.iter() {
            write!(out, "{}  ", n)?;
            write_map(out, i, true)?;
            writeln!(out)?;
        }
        Ok(())
    }

    /// Runs one parsed operation. `Err` only if the output cannot grow.
    fn op(
        &mut self,
        op: &str,
        args: &[u64; 9],
        out: &mut CmdOutput<'_>,
        n: usize,
    ) -> Result<Answer, core::fmt::Error> {
        // `parse` checked that a slot argument is in range.
        let s = args[0] as usize;
        let code = |r: Result| match r {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        };
        let answer = match op {
            "alloc" => {
                let [_, start, len, disk_bytenr, disk_num_bytes, offset, ram_bytes, gen, flags] =
                    *args;
                self.slots[s] = None;
                let fields = MapFields {
                    start,
                    len,
                    disk_bytenr,
                    disk_num_bytes,
                    offset,
                    ram_bytes,
                };
                // A real map whose offset range wraps, or whose disk range wraps or reaches the
                // special values, would let btrfs's merge build a map its validation stops the
                // kernel on: both interpreters refuse it.
                let real = disk_bytenr < LAST_BYTE;
                if len == 0
                    || start.checked_add(len).is_none()
                    || flags & !(ALL_FLAGS as u64) != 0
                    || flags & LOGGING as u64 != 0
                    || (real
                        && (offset.checked_add(len).is_none()
                            || !disk_range_ok(disk_bytenr, disk_num_bytes)))
                {
                    Answer::Code(EINVAL.to_errno(), None)
                } else {
                    match ExtentMap::alloc(fields, flags as u32) {
                        Ok(mut em) => match em.set_generation(gen) {
                            Ok(()) => {
                                self.slots[s] = Some(em);
                                Answer::Code(0, Some(s))
                            }
                            Err(e) => Answer::Code(e.to_errno(), None),
                        },
                        Err(e) => Answer::Code(e.to_errno(), None),
                    }
                }
            }
            "add" => {
                let (start, len) = (args[1], args[2]);
                match self.slots[s].take() {
                    None => Answer::Code(ENOENT.to_errno(), None),
                    Some(em) => {
                        let f = em.fields();
                        let r: Result<bool> = if em.in_tree() || em.flags() & LOGGING != 0 {
                            Err(EINVAL)
                        } else if em.refcount() != 1 {
                            Err(EBUSY)
                        } else if (f.disk_bytenr == INLINE && f.start != 0) || !f.contains(start) {
                            Err(EINVAL)
                        } else {
                            let id = em.id();
                            self.tree.write().add(em, start, len).map(|em| {
                                let own = em.id() == id;
                                self.slots[s] = Some(em);
                                own
                            })
                        };
                        match r {
                            Ok(own) => Answer::Added(own, s),
                            Err(e) => Answer::Code(e.to_errno(), Some(s)),
                        }
                    }
                }
            }
            "replace" => {
                let modified = args[1] != 0;
                match self.slots[s].as_mut() {
                    None => Answer::Code(ENOENT.to_errno(), None),
                    Some(em) => {
                        let r = if em.flags() & LOGGING != 0 {
                            Err(EINVAL)
                        } else {
                            self.tree.replace_range(em, modified)
                        };
                        Answer::Code(code(r), Some(s))
                    }
                }
            }
            "lookup" | "search" => {
                let (start, len) = (args[1], args[2]);
                self.slots[s] = None;
                let maps = self.tree.read();
                self.slots[s] = if op == "lookup" {
                    maps.lookup(start, len)
                } else {
                    maps.search(start, len)
                };
                drop(maps);
                match self.slots[s] {
                    Some(_) => Answer::Code(0, Some(s)),
                    None => Answer::None,
                }
            }
            "remove" => match self.slots[s].as_ref() {
                None => Answer::Code(ENOENT.to_errno(), None),
                Some(em) => {
                    let r = if !em.in_tree() {
                        Err(ENOENT)
                    } else if em.flags() & PINNED != 0 {
                        Err(EBUSY)
                    } else {
                        self.tree.write().remove(em)
                    };
                    Answer::Code(code(r), Some(s))
                }
            },
            "drop" => {
                let (start, end, skip_pinned) = (args[0], args[1], args[2] != 0);
                if end < start {
                    Answer::Code(EINVAL.to_errno(), None)
                } else {
                    self.tree.drop_range(start, end, skip_pinned);
                    Answer::Code(0, None)
                }
            }
            "split" => {
                let [start, len, pre, new_logical, ..] = *args;
                let r = if pre == 0 || pre >= len || !disk_range_ok(new_logical, pre) {
                    Err(EINVAL)
                } else {
                    self.tree.split(start, len, pre, new_logical)
                };
                Answer::Code(code(r), None)
            }
            "unpin" => {
                let (start, len, gen) = (args[0], args[1], args[2]);
                Answer::Code(code(self.tree.unpin(start, len, gen)), None)
            }
            "pop" => {
                self.slots[s] = None;
                self.slots[s] = self.tree.write().pop_modified();
                match self.slots[s] {
                    Some(_) => Answer::Code(0, Some(s)),
                    None => Answer::None,
                }
            }
            "setlog" => match self.slots[s].as_ref() {
                None => Answer::Code(ENOENT.to_errno(), None),
                Some(em) if em.on_list() => Answer::Code(EINVAL.to_errno(), Some(s)),
                Some(em) => {
                    self.tree.write().set_logging(em);
                    Answer::Code(0, Some(s))
                }
            },
            "clearlog" => match self.slots[s].as_mut() {
                None => Answer::Code(ENOENT.to_errno(), None),
                Some(em) => {
                    self.tree.write().clear_logging(em);
                    Answer::Code(0, Some(s))
                }
            },
            "put" => match self.slots[s].take() {
                None => Answer::Code(ENOENT.to_errno(), None),
                Some(_) => Answer::Code(0, None),
            },
            "dump" => {
                self.dump(out, n)?;
                Answer::Silent
            }
            "bench" => {
                // `parse` checked that the workload exists.
                let w = args[0] as usize;
                Answer::Bench(w, args[1], super::bench::run(self.tree, w, args[1]))
            }
            _ => Answer::Silent,
        };
        Ok(answer)
    }
}
