// SPDX-License-Identifier: GPL-2.0

//! `mkfs.emfs [-i INODE_TABLE_BLOCKS] [-n BLOCKS] DEVICE`: makes an empty emfs.

use emfs_tools::{device_blocks, mkfs};
use std::fs::OpenOptions;
use std::process::exit;

fn usage() -> ! {
    eprintln!("usage: mkfs.emfs [-i INODE_TABLE_BLOCKS] [-n BLOCKS] DEVICE");
    exit(1);
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut itb, mut blocks, mut path) = (None, None, None);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-i" => {
                itb = Some(
                    args.next()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or_else(|| usage()),
                )
            }
            "-n" => {
                blocks = Some(
                    args.next()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or_else(|| usage()),
                )
            }
            _ if a.starts_with('-') || path.is_some() => usage(),
            _ => path = Some(a),
        }
    }
    let path = path.unwrap_or_else(|| usage());
    let mut dev = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| {
            eprintln!("mkfs.emfs: {path}: {e}");
            exit(1);
        });
    let total = match blocks {
        Some(b) => b,
        None => device_blocks(&mut dev).unwrap_or_else(|e| {
            eprintln!("mkfs.emfs: {path}: {e}");
            exit(1);
        }),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    // A uuid from the clock and the process id: unique enough to tell file systems apart.
    let seed = (now as u64).rotate_left(17)
        ^ (std::process::id() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut uuid = [0u8; 16];
    uuid[..8].copy_from_slice(&seed.to_le_bytes());
    uuid[8..].copy_from_slice(&seed.wrapping_mul(0xff51_afd7_ed55_8ccd).to_le_bytes());
    let opts = mkfs::Options {
        total_blocks: total,
        inode_table_blocks: itb,
        uuid,
        time: now,
    };
    match mkfs::mkfs(&mut dev, &opts) {
        Ok(sb) => println!(
            "emfs: {} blocks of 4096 bytes, {} inodes, {} free blocks",
            sb.total_blocks, sb.inode_count, sb.free_blocks
        ),
        Err(e) => {
            eprintln!("mkfs.emfs: {path}: {e}");
            exit(1);
        }
    }
}
