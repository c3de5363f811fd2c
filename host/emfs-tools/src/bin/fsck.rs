// SPDX-License-Identifier: GPL-2.0

//! `fsck.emfs [-n] DEVICE`: checks an emfs, read-only. Exit codes as e2fsck's: 0 clean,
//! 4 errors left uncorrected, 8 operational error, 16 usage error.

use emfs_tools::fsck::{exit as code, fsck};
use std::fs::File;
use std::process::exit;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "-n" && a != "-f")
        .collect();
    let [path] = args.as_slice() else {
        eprintln!("usage: fsck.emfs [-n] DEVICE");
        exit(code::USAGE);
    };
    let mut dev = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("fsck.emfs: {path}: {e}");
            exit(code::OPERATIONAL);
        }
    };
    let report = match fsck(&mut dev) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("fsck.emfs: {path}: read failed: {e}");
            exit(code::OPERATIONAL);
        }
    };
    for e in &report.errors {
        println!("{path}: {e}");
    }
    if let Some(sb) = report.superblock {
        println!(
            "{path}: {}: generation {}, {} files, {} orphans, {} extents, {}/{} blocks used",
            if report.errors.is_empty() {
                "clean"
            } else {
                "ERRORS"
            },
            sb.generation,
            report.files,
            report.orphans,
            report.extents,
            report.used_blocks,
            sb.total_blocks
        );
    }
    exit(report.exit_code());
}
