// SPDX-License-Identifier: GPL-2.0

//! `mkfs.emfs [-i INODE_TABLE_BLOCKS] [-n BLOCKS] [-d DIR [-e EXTENT_BLOCKS] [-g]] DEVICE`
//! (long options beside; `--help`, `--version`): makes an emfs (`Documentation/filesystems/
//! emfs.rst`), empty or holding DIR's whole tree: directories, files, hard links, symlinks,
//! FIFOs, sockets and device nodes, with modes, owners and times; files in extents of
//! EXTENT_BLOCKS blocks, contiguous on disk, or with a one-block gap between extents with -g.
//! Refuses a block device that holds a mounted file system. Exit codes as mke2fs's: 0 made, 1
//! anything else (usage included).
//!
//! `--format-version 1` writes only the superblock of a file system of format version 1, which
//! the mount and fsck.emfs refuse: for the tests of that refusal.

use clap::{error::ErrorKind, Parser};
use emfs_tools::{device_blocks, mkfs};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::process::exit;

/// Makes an emfs file system, empty or holding a copy of a directory's tree.
#[derive(Parser)]
#[command(name = "mkfs.emfs", bin_name = "mkfs.emfs", version)]
struct Cli {
    /// Inode-table blocks (16 inodes each, 1 to 384; default: one per 256 blocks, and at least
    /// enough for the tree).
    #[arg(short = 'i', long)]
    inode_table_blocks: Option<u32>,
    /// Size in blocks of 4096 bytes (default: the whole device).
    #[arg(short = 'n', long)]
    blocks: Option<u64>,
    /// Copy this directory's tree into the file system.
    #[arg(short = 'd', long)]
    dir: Option<String>,
    /// With --dir: extents of this many blocks.
    #[arg(short = 'e', long, default_value_t = 16, requires = "dir")]
    extent_blocks: u64,
    /// With --dir: a free block between consecutive extents of a file (so that they cannot
    /// merge).
    #[arg(short = 'g', long, requires = "dir")]
    gaps: bool,
    /// The on-disk format version: 2; 1 writes only a superblock of version 1 (one flat
    /// directory), which the mount and fsck.emfs refuse, for the tests of that refusal.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=2))]
    format_version: u32,
    /// The device or image to write.
    device: String,
}

fn fail(what: String) -> ! {
    eprintln!("mkfs.emfs: {what}");
    exit(1);
}

/// Where `path`, a block device, is mounted, if it is (as mke2fs does, from /proc/mounts).
fn mount_point(path: &str) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.file_type().is_block_device() {
        return None;
    }
    let mounts = std::fs::read_to_string("/proc/mounts").ok()?;
    mounts.lines().find_map(|l| {
        let mut f = l.split_whitespace();
        let (source, target) = (f.next()?, f.next()?);
        let m = std::fs::metadata(source).ok()?;
        (m.file_type().is_block_device() && m.rdev() == meta.rdev()).then(|| target.to_string())
    })
}

fn main() {
    let cli = Cli::try_parse().unwrap_or_else(|e| {
        let _ = e.print();
        exit(match e.kind() {
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
            _ => 1,
        })
    });
    let path = cli.device;
    if let Some(at) = mount_point(&path) {
        fail(format!(
            "{path} is mounted on {at}: will not make a file system here"
        ));
    }
    let (itb, blocks, dir, extent_blocks, gaps) = (
        cli.inode_table_blocks,
        cli.blocks,
        cli.dir,
        cli.extent_blocks,
        cli.gaps,
    );
    let mut dev: File = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| fail(format!("{path}: {e}")));
    let total = match blocks {
        Some(b) => b,
        None => device_blocks(&mut dev).unwrap_or_else(|e| fail(format!("{path}: {e}"))),
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
    if cli.format_version == 1 {
        if dir.is_some() || itb.is_some() {
            fail("format version 1: only its superblock is written; -d and -i do not apply".into());
        }
        match mkfs::write_version_1(&mut dev, total)
            .and_then(|()| dev.sync_all().map_err(|e| e.to_string()))
        {
            Ok(()) => println!(
                "emfs: format 1, {total} blocks of 4096 bytes: its superblock only (refused by \
                 the mount and fsck.emfs)"
            ),
            Err(e) => fail(format!("{path}: {e}")),
        }
        return;
    }
    let tree = match &dir {
        Some(d) => {
            mkfs::read_tree(std::path::Path::new(d)).unwrap_or_else(|e| fail(format!("{d}: {e}")))
        }
        None => mkfs::empty_tree(now),
    };
    let opts = mkfs::Options {
        total_blocks: total,
        inode_table_blocks: itb,
        uuid,
        extent_blocks,
        gaps,
    };
    // Durable before it says so: fsync of a block device flushes its cache too (without it,
    // the new file system could sit in a disk cache when the caller goes on).
    let made = mkfs::mkfs(&mut dev, &opts, &tree)
        .and_then(|sb| dev.sync_all().map(|()| sb).map_err(|e| e.to_string()));
    match made {
        Ok(sb) => println!(
            "emfs: format 2, {} blocks of 4096 bytes, {} inodes ({} used), {} free blocks",
            sb.total_blocks,
            sb.inode_count,
            tree.len(),
            sb.free_blocks
        ),
        Err(e) => fail(format!("{path}: {e}")),
    }
}
