// SPDX-License-Identifier: GPL-2.0

//! Running a script on both interpreters, comparing their answers, and shrinking a script that
//! makes them differ.

use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::path::PathBuf;

use crate::gen::is_op;

/// An interpreter of extent-map scripts.
pub trait Side {
    /// Runs `script` and returns the answers.
    fn run(&self, script: &str) -> io::Result<String>;
}

/// An interpreter behind a debugfs command file: write the script, read the answers, on one
/// open file.
pub struct CmdFile(pub PathBuf);

impl Side for CmdFile {
    fn run(&self, script: &str) -> io::Result<String> {
        let mut f = OpenOptions::new().read(true).write(true).open(&self.0)?;
        f.write_all(script.as_bytes())?;
        let mut answers = String::new();
        f.read_to_string(&mut answers)?;
        Ok(answers)
    }
}

/// The first difference between two answer texts.
#[derive(Debug, PartialEq)]
pub struct Difference {
    /// The script line number of the operation whose answers differ (0 if unknown).
    pub op_line: usize,
    /// btrfs's answer line, or `<none>`.
    pub btrfs: String,
    /// extmap's answer line, or `<none>`.
    pub extmap: String,
}

/// The script line number an answer line starts with.
fn op_line(answer: &str) -> usize {
    answer
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Compares two answer texts line by line.
pub fn compare(btrfs: &str, extmap: &str) -> Option<Difference> {
    let (mut a, mut b) = (btrfs.lines(), extmap.lines());
    loop {
        match (a.next(), b.next()) {
            (None, None) => return None,
            (x, y) if x == y => continue,
            (x, y) => {
                return Some(Difference {
                    op_line: op_line(x.or(y).unwrap_or("")),
                    btrfs: x.unwrap_or("<none>").to_string(),
                    extmap: y.unwrap_or("<none>").to_string(),
                })
            }
        }
    }
}

/// Runs `script` on both sides; `Some` if their answers differ.
pub fn run_both(
    btrfs: &dyn Side,
    extmap: &dyn Side,
    script: &str,
) -> io::Result<(Option<Difference>, String)> {
    let a = btrfs.run(script)?;
    let b = extmap.run(script)?;
    Ok((compare(&a, &b), b))
}

/// Shrinks a script that makes the sides differ: removes operations (in chunks, then one by
/// one) while a difference remains. Comments are dropped. Returns the smallest script found.
pub fn shrink(btrfs: &dyn Side, extmap: &dyn Side, script: &str) -> io::Result<String> {
    let mut ops: Vec<&str> = script.lines().filter(|l| is_op(l)).collect();
    let differs = |ops: &[&str]| -> io::Result<bool> {
        let s = ops.join("\n") + "\n";
        Ok(run_both(btrfs, extmap, &s)?.0.is_some())
    };
    if !differs(&ops)? {
        return Ok(script.to_string());
    }
    let mut chunk = ops.len() / 2;
    while chunk >= 1 {
        let mut i = 0;
        while i < ops.len() {
            let mut trial = ops.clone();
            trial.drain(i..(i + chunk).min(ops.len()));
            if !trial.is_empty() && differs(&trial)? {
                ops = trial;
            } else {
                i += chunk;
            }
        }
        chunk /= 2;
    }
    Ok(ops.join("\n") + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy interpreter: answers each op with its line number and text, except that the
    /// "mutant" answers `bad` after it has seen both `a` and `b`.
    struct Toy(bool);

    impl Side for Toy {
        fn run(&self, script: &str) -> io::Result<String> {
            let (mut a, mut b) = (false, false);
            let mut out = String::new();
            for (i, l) in script.lines().enumerate() {
                if !is_op(l) {
                    continue;
                }
                a |= l == "a";
                b |= l == "b";
                let bad = self.0 && a && b && l == "c";
                out += &format!("{} {}\n", i + 1, if bad { "bad" } else { l });
            }
            Ok(out)
        }
    }

    #[test]
    fn compare_reports_the_first_difference() {
        assert_eq!(compare("1 x\n2 y\n", "1 x\n2 y\n"), None);
        let d = compare("1 x\n2 y\n", "1 x\n2 z\n").unwrap();
        assert_eq!(
            (d.op_line, d.btrfs.as_str(), d.extmap.as_str()),
            (2, "2 y", "2 z")
        );
        let d = compare("1 x\n", "1 x\n2 z\n").unwrap();
        assert_eq!((d.op_line, d.btrfs.as_str()), (2, "<none>"));
    }

    #[test]
    fn shrink_keeps_only_what_the_difference_needs() {
        let script = "x\nx\na\n# note\nx\nb\nx\nx\nc\nx\n";
        let (d, _) = run_both(&Toy(false), &Toy(true), script).unwrap();
        assert_eq!(d.unwrap().op_line, 9);
        let small = shrink(&Toy(false), &Toy(true), script).unwrap();
        assert_eq!(small, "a\nb\nc\n");
    }
}
