// SPDX-License-Identifier: GPL-2.0

//! `mkfs.emfs [-i INODE_TABLE_BLOCKS] [-n BLOCKS] [-d DIR [-e EXTENT_BLOCKS] [-g]] DEVICE`:
//! makes an emfs, empty or holding the regular files of DIR (in extents of EXTENT_BLOCKS blocks,
//! contiguous on disk, or with a one-block gap between extents with -g).

use emfs_tools::{device_blocks, mkfs};
use std::fs::OpenOptions;
use std::process::exit;

fn usage() -> ! {
    eprintln!("usage: mkfs.emfs [-i INODE_TABLE_BLOCKS] [-n BLOCKS] [-d DIR [-e EXTENT_BLOCKS] [-g]] DEVICE");
    exit(1);
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut itb, mut blocks, mut path) = (None, None, None);
    let (mut dir, mut extent_blocks, mut gaps) = (None::<String>, 16u64, false);
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
            "-d" => dir = Some(args.next().unwrap_or_else(|| usage())),
            "-e" => {
                extent_blocks = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "-g" => gaps = true,
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
    let files = match &dir {
        Some(d) => read_dir(d).unwrap_or_else(|e| {
            eprintln!("mkfs.emfs: {d}: {e}");
            exit(1);
        }),
        None => Vec::new(),
    };
    match mkfs::mkfs(&mut dev, &opts).and_then(|mut sb| {
        mkfs::populate(&mut dev, &mut sb, &files, extent_blocks, !gaps).map(|()| sb)
    }) {
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

fn read_dir(dir: &str) -> std::io::Result<Vec<mkfs::NewFile>> {
    use std::os::unix::{ffi::OsStrExt, fs::MetadataExt};
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    let mut files = Vec::new();
    for e in entries {
        if e.file_type()?.is_file() {
            files.push(mkfs::NewFile {
                name: e.file_name().as_bytes().to_vec(),
                data: std::fs::read(e.path())?,
                mtime: e.metadata()?.mtime(),
            });
        }
    }
    Ok(files)
}
