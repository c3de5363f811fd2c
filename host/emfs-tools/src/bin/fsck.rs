// SPDX-License-Identifier: GPL-2.0

//! `fsck.emfs [-n] [-f] DEVICE`: checks an emfs, read-only: it never writes, whatever the
//! options; format version 1 is refused (exit 8), as the mount refuses it. Exit codes as
//! e2fsck's: 0 clean, 4 errors left uncorrected, 8 operational error, 16 usage error.

use clap::{error::ErrorKind, Parser};
use emfs_tools::fsck::{exit as code, fsck};
use std::fs::File;
use std::process::exit;

/// Checks an emfs file system. It only reads: errors are reported, never repaired.
#[derive(Parser)]
#[command(name = "fsck.emfs", bin_name = "fsck.emfs", version)]
struct Cli {
    /// Open the file system read-only and answer "no" to every repair (always so: fsck.emfs
    /// never writes).
    #[arg(short = 'n', long = "no-changes")]
    _no_changes: bool,
    /// Check even if the file system seems clean (always so).
    #[arg(short = 'f', long)]
    _force: bool,
    /// The device or image to check.
    device: String,
}

fn main() {
    let cli = Cli::try_parse().unwrap_or_else(|e| {
        let _ = e.print();
        exit(match e.kind() {
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => code::CLEAN,
            _ => code::USAGE,
        })
    });
    let path = &cli.device;
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
    if let Some(why) = report.refused {
        eprintln!("fsck.emfs: {path}: {why}");
        exit(report.exit_code());
    }
    for e in &report.errors {
        println!("{path}: {e}");
    }
    let state = if report.errors.is_empty() {
        "clean"
    } else {
        "ERRORS"
    };
    if let Some(sb) = report.superblock {
        println!(
            "{path}: {state}: format 2, generation {}, {} files, {} directories, {} symlinks, \
             {} special files, {} orphans, {} extents, {}/{} blocks used",
            sb.generation,
            report.files,
            report.directories,
            report.symlinks,
            report.special,
            report.orphans,
            report.extents,
            report.used_blocks,
            sb.total_blocks
        );
    }
    exit(report.exit_code());
}
