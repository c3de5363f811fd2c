// SPDX-License-Identifier: GPL-2.0

//! Which paths of the extent-map code a script reached, read from its answers: a generator
//! that stops reaching merges or refusals shows it in the report, and `run` fails if a path
//! that must be reached was not.

use std::collections::{BTreeMap, HashMap};

/// A map as an answer shows it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Map {
    start: u64,
    end: u64,
    flags: u64,
    refs: u64,
    hole: bool,
    inline: bool,
}

fn field<'a>(desc: &'a str, key: &str) -> Option<&'a str> {
    desc.split_whitespace()
        .find_map(|t| t.strip_prefix(key))
        .map(|v| v.trim_end_matches(']'))
}

fn parse_map(answer: &str) -> Option<Map> {
    let desc = &answer[answer.find('[')?..answer.find(']')? + 1];
    let (start, len) = desc[1..].split_whitespace().next()?.split_once('+')?;
    let (start, len): (u64, u64) = (start.parse().ok()?, len.parse().ok()?);
    let flags = u64::from_str_radix(field(desc, "f=")?.trim_start_matches("0x"), 16).ok()?;
    let disk = field(desc, "d=")?;
    Some(Map {
        start,
        end: start.saturating_add(len),
        flags,
        refs: field(desc, "refs=")?.parse().ok()?,
        hole: disk == "hole",
        inline: disk == "inline",
    })
}

/// The `t=COUNT:` of an answer.
fn tree_count(answer: &str) -> Option<u64> {
    let t = answer.rsplit_once(" t=")?.1;
    t.split(':').next()?.parse().ok()
}

/// Path counts, by name.
#[derive(Default)]
pub struct Paths(pub BTreeMap<&'static str, u64>);

/// Paths every `run` must reach (across all its seeds).
pub const REQUIRED: &[&str] = &[
    "merge_prev",
    "merge_next",
    "merge_both",
    "merge_on_clear_logging",
    "refused_while_held",
    "pinned_not_merged",
    "logging_not_merged",
    "eexist_existing",
    "eexist_trimmed",
    "drop_split",
    "drop_skip_pinned",
    "replace",
    "split",
    "unpin_missing",
    "unpin_other_start",
    "hole",
    "inline",
    "prealloc",
    "compressed",
];

impl Paths {
    fn hit(&mut self, name: &'static str) {
        *self.0.entry(name).or_default() += 1;
    }

    /// Adds a counter read from outside the answers (extmap's debugfs counters).
    pub fn add(&mut self, name: &'static str, n: u64) {
        *self.0.entry(name).or_default() += n;
    }

    /// The required paths not reached.
    pub fn missing(&self) -> Vec<&'static str> {
        REQUIRED
            .iter()
            .copied()
            .filter(|p| self.0.get(p).copied().unwrap_or(0) == 0)
            .collect()
    }

    fn kind(&mut self, m: &Map) {
        if m.hole {
            self.hit("hole");
        }
        if m.inline {
            self.hit("inline");
        }
        if m.flags & 0x10 != 0 {
            self.hit("prealloc");
        }
        if m.flags & 0xe != 0 {
            self.hit("compressed");
        }
    }

    /// `now` is `was` after an operation that may merge it.
    fn merge(&mut self, was: &Map, now: &Map) {
        match (now.start < was.start, now.end > was.end) {
            (true, true) => self.hit("merge_both"),
            (true, false) => self.hit("merge_prev"),
            (false, true) => self.hit("merge_next"),
            _ => {}
        }
    }

    /// Classifies the answers of one script.
    pub fn count(&mut self, script: &str, answers: &str) {
        let lines: Vec<&str> = script.lines().collect();
        // What each slot was last allocated as, and last shown as.
        let mut allocated: HashMap<&str, Map> = HashMap::new();
        let mut shown: HashMap<&str, Map> = HashMap::new();
        let mut scenario: Option<&str> = None;
        let mut count_before = 0;
        let mut last_line = 0;
        for answer in answers.lines() {
            let mut toks = answer.split_whitespace();
            let Some(n) = toks.next().and_then(|n| n.parse::<usize>().ok()) else {
                continue;
            };
            let (Some(op), Some(ret)) = (toks.next(), toks.next()) else {
                continue;
            };
            if n == 0 || n > lines.len() || op == "dump" || n == last_line {
                continue;
            }
            // Scenario comments between the previous operation and this one.
            for l in &lines[last_line..n - 1] {
                if let Some(name) = l.trim().strip_prefix("# scenario: ") {
                    scenario = Some(name);
                }
            }
            last_line = n;
            let args: Vec<&str> = lines[n - 1].split_whitespace().skip(1).collect();
            let slot = args.first().copied().unwrap_or("");
            let map = parse_map(answer);
            let count = tree_count(answer).unwrap_or(0);
            match (op, ret) {
                ("alloc", "0") => {
                    if let Some(m) = map {
                        allocated.insert(slot, m);
                    }
                }
                ("add", "0") => {
                    let own = toks.next() == Some("own=1");
                    if let (Some(m), Some(a)) = (map, allocated.get(slot)) {
                        if !own {
                            self.hit("eexist_existing");
                        } else {
                            if m.start > a.start || m.end < a.end {
                                self.hit("eexist_trimmed");
                            }
                            self.merge(a, &m);
                            self.kind(&m);
                            let apart = m.start >= a.start && m.end <= a.end;
                            match scenario.take() {
                                Some("next-to-pinned") if apart => self.hit("pinned_not_merged"),
                                Some("next-to-logging") if apart => self.hit("logging_not_merged"),
                                _ => {}
                            }
                        }
                    }
                }
                ("replace", "0") => {
                    self.hit("replace");
                    if let (Some(m), Some(a)) = (map, allocated.get(slot)) {
                        self.merge(a, &m);
                        self.kind(&m);
                    }
                }
                ("clearlog", "0") => {
                    if let (Some(m), Some(was)) = (map, shown.get(slot)) {
                        if m.start < was.start || m.end > was.end {
                            self.hit("merge_on_clear_logging");
                        }
                        self.merge(was, &m);
                        if scenario == Some("held-during-fsync")
                            && m.refs >= 3
                            && m.start == was.start
                            && m.end == was.end
                        {
                            self.hit("refused_while_held");
                        }
                    }
                    scenario = None;
                }
                ("unpin", "-2") => self.hit("unpin_missing"),
                ("unpin", "-117") => self.hit("unpin_other_start"),
                ("unpin", "0") => self.hit("unpin"),
                ("split", "0") => self.hit("split"),
                ("drop", "0") if count > count_before => self.hit("drop_split"),
                ("lookup", "0") if scenario == Some("drop-skips-pinned") => {
                    scenario = None;
                    if map.is_some_and(|m| m.flags & 1 != 0) {
                        self.hit("drop_skip_pinned");
                    }
                }
                ("remove", "0") => self.hit("remove"),
                ("pop", "0") => self.hit("pop"),
                _ => {}
            }
            if let Some(m) = map {
                shown.insert(slot, m);
            }
            count_before = count;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified() {
        let script = "alloc 0 4096 4096 1 4096 0 4096 1 0\nadd 0 4096 4096\n# scenario: next-to-pinned\nalloc 0 8192 4096 hole 0 0 4096 1 0\nadd 0 8192 4096\nunpin 0 4096 2\n";
        let answers = "1 alloc 0 [4096+4096 d=1 n=4096 o=0 r=4096 g=1 f=0x0 refs=1 list=0 tree=0] t=1:0\n\
                       2 add 0 own=1 [0+8192 d=0 n=8192 o=0 r=8192 g=1 f=0x40 refs=2 list=0 tree=1] t=1:0\n\
                       4 alloc 0 [8192+4096 d=hole n=0 o=0 r=4096 g=1 f=0x0 refs=1 list=0 tree=0] t=1:0\n\
                       5 add 0 own=1 [8192+4096 d=hole n=0 o=0 r=4096 g=1 f=0x0 refs=2 list=0 tree=1] t=2:0\n\
                       6 unpin -2 t=2:0\n";
        let mut p = Paths::default();
        p.count(script, answers);
        assert_eq!(p.0.get("merge_prev"), Some(&1));
        assert_eq!(p.0.get("pinned_not_merged"), Some(&1));
        assert_eq!(p.0.get("hole"), Some(&1));
        assert_eq!(p.0.get("unpin_missing"), Some(&1));
        assert!(p.missing().contains(&"merge_both"));
    }
}
