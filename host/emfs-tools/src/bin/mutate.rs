// SPDX-License-Identifier: GPL-2.0

//! `emfs-mutate DEVICE INO FIELD VALUE`: sets one field of inode `INO` in the current
//! superblock's inode table (format version 2) and re-seals the inode's checksum, so that the damage gets past the
//! CRC32C check and reaches the code that parses the field. For tests of crafted images.
//! FIELD is `extent_count`, `extent_block` or `size`. Exit codes as fsck.emfs: 0 done, 8 operational
//! error, 16 usage error.

use emfs_tools::dinode::DiskInode;
use emfs_tools::fsck::exit as code;
use emfs_tools::superblock::{inode_location, inode_table_block, DiskSuperblock};
use emfs_tools::{format::SB_SLOTS, read_block, write_block};
use std::fs::OpenOptions;
use std::process::exit;

fn fail(what: String) -> ! {
    eprintln!("emfs-mutate: {what}");
    exit(code::OPERATIONAL);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || -> ! {
        eprintln!("usage: emfs-mutate DEVICE INO extent_count|extent_block|size VALUE");
        exit(code::USAGE);
    };
    let [path, ino, field, value] = args.as_slice() else {
        usage()
    };
    let (Ok(ino), Ok(value)) = (ino.parse::<u32>(), value.parse::<u64>()) else {
        usage()
    };
    let mut dev = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap_or_else(|e| fail(format!("{path}: {e}")));
    // The newest valid superblock, with its inode-table list.
    let (_, table) = SB_SLOTS
        .iter()
        .filter_map(|&slot| read_block(&mut dev, slot).ok())
        .filter_map(|b| {
            let sb = DiskSuperblock::decode(&b).ok()?;
            let table: Vec<u64> = (0..sb.inode_table_blocks as usize)
                .map(|i| inode_table_block(&b, i))
                .collect();
            Some((sb.generation, table))
        })
        .max_by_key(|(generation, _)| *generation)
        .unwrap_or_else(|| fail(format!("{path}: no valid superblock of format version 2")));
    let (blk, off) = inode_location(&table, ino).unwrap_or_else(|| fail(format!("no inode {ino}")));
    let mut block = read_block(&mut dev, blk).unwrap_or_else(|e| fail(format!("read: {e}")));
    let mut inode = DiskInode::decode(&block[off..], ino)
        .unwrap_or_else(|e| fail(format!("inode {ino} does not decode: {e:?}")));
    match field.as_str() {
        "extent_count" => {
            inode.count = u32::try_from(value).unwrap_or_else(|_| usage());
        }
        "extent_block" => inode.first_block = value,
        "size" => inode.size = value,
        _ => usage(),
    }
    inode.encode(&mut block[off..]);
    write_block(&mut dev, blk, &block).unwrap_or_else(|e| fail(format!("write: {e}")));
    println!("{path}: inode {ino}: {field} = {value}");
}
