// SPDX-License-Identifier: GPL-2.0

//! Checking an emfs: every invariant of the format (`Documentation/filesystems/emfs.rst`).
//! Read-only: it reports, it never repairs.

use crate::blocks::{check_bitmap, check_extents, Owner};
use crate::format::*;
pub use crate::report::{exit, Report};
use crate::{device_blocks, read_block, Device};
use std::collections::{HashMap, HashSet};

/// Checks the file system on `dev`. `Err` only if the device cannot be read at all.
pub fn fsck(dev: &mut impl Device) -> std::io::Result<Report> {
    let mut r = Report::default();
    let dev_blocks = device_blocks(dev)?;
    // Choose between the slots by what every version keeps; the version decides the rest.
    let mut newest: Option<(crate::superblock::SlotProbe, u64)> = None;
    for slot in SB_SLOTS.into_iter().filter(|&s| s < dev_blocks) {
        let b = read_block(dev, slot)?;
        let Ok(p) = crate::superblock::probe(&b) else {
            continue;
        };
        // A slot of a version this code knows that keeps what every version keeps takes part
        // in the choice: a newest slot of version 2 with a bad field is reported as that, not
        // as a missing superblock. Another version is damage as far as fsck can tell.
        if !(1..=2).contains(&p.version) {
            r.error(format!(
                "superblock slot {slot}: format version {} is not supported",
                p.version
            ));
        } else if newest.is_none_or(|(n, _)| p.generation > n.generation) {
            newest = Some((p, slot));
        }
    }
    match newest {
        Some((p, slot)) if p.version == 2 => {
            crate::fsck_v2::check(dev, slot, dev_blocks, &mut r)?;
            return Ok(r);
        }
        _ => {}
    }

    // The superblock: the valid slot with the higher generation.
    let mut best: Option<Superblock> = None;
    for slot in SB_SLOTS {
        if slot >= dev_blocks {
            continue;
        }
        match Superblock::decode(&read_block(dev, slot)?) {
            Ok(sb) if best.is_none_or(|b| sb.generation > b.generation) => best = Some(sb),
            Ok(_) => {}
            Err(_) => {}
        }
    }
    let Some(sb) = best else {
        r.error("no valid superblock in either slot".into());
        return Ok(r);
    };
    r.superblock = Some(sb);
    if sb.total_blocks > dev_blocks {
        r.error(format!(
            "superblock: {} blocks, but the device has {dev_blocks}",
            sb.total_blocks
        ));
        return Ok(r);
    }

    let mut owners: HashMap<u64, Owner> = HashMap::new();
    let mut claim = |r: &mut Report, blk: u64, owner: Owner| {
        if blk >= sb.total_blocks {
            r.error(format!(
                "block {blk} of {owner:?} is beyond the end of the file system"
            ));
            return;
        }
        if let Some(prev) = owners.insert(blk, owner) {
            // Records of one file may share a data extent (a split extent): same owner.
            if prev != owner {
                r.error(format!(
                    "block {blk} is owned twice: by {prev:?} and by {owner:?}"
                ));
            }
        }
    };
    for slot in SB_SLOTS {
        claim(&mut r, slot, Owner::Superblock);
    }
    for &blk in &sb.inode_table[..sb.inode_table_blocks as usize] {
        claim(&mut r, blk, Owner::InodeTable);
    }
    for &blk in &sb.bitmap[..sb.bitmap_blocks as usize] {
        claim(&mut r, blk, Owner::Bitmap);
    }

    // Inodes.
    let mut names: HashSet<Vec<u8>> = HashSet::new();
    let mut root_seen = false;
    for (t, &blk) in sb.inode_table[..sb.inode_table_blocks as usize]
        .iter()
        .enumerate()
    {
        let block = read_block(dev, blk)?;
        for i in 0..INODES_PER_BLOCK {
            let ino = (t * INODES_PER_BLOCK + i) as u32;
            let raw = &block[i * INODE_SIZE..(i + 1) * INODE_SIZE];
            let inode = match Inode::decode(raw) {
                Ok(inode) => inode,
                Err(e) => {
                    r.error(format!("inode {ino}: {e:?}"));
                    continue;
                }
            };
            if !inode.in_use() {
                if ino == ROOT_INO {
                    r.error("the root directory inode is free".into());
                }
                continue;
            }
            if ino == 0 {
                r.error("inode 0 is in use".into());
                continue;
            }
            if inode.ino != ino {
                r.error(format!("inode {ino}: records itself as {}", inode.ino));
            }
            if inode.generation > sb.generation {
                r.error(format!(
                    "inode {ino}: generation {} is newer than the superblock's {}",
                    inode.generation, sb.generation
                ));
            }
            if ino == ROOT_INO {
                root_seen = true;
                // The kernel refuses a root with an extent chain (emfs/state/check.rs).
                if inode.mode & S_IFMT != S_IFDIR
                    || inode.nlink != 2
                    || inode.extent_count != 0
                    || inode.extent_block != 0
                {
                    r.error("the root inode is not an empty-extent directory with 2 links".into());
                }
                continue;
            }
            if inode.mode & S_IFMT != S_IFREG {
                r.error(format!(
                    "inode {ino}: not a regular file (only the root is a directory)"
                ));
                continue;
            }
            if inode.nlink == 0 {
                // An orphan: unlinked while open, freed at the next mount.
                r.orphans += 1;
                if !inode.name().is_empty() {
                    r.error(format!("inode {ino}: an orphan (no link) with a name"));
                }
                check_extents(dev, &sb.into(), ino, &inode.into(), &mut r, &mut claim)?;
                continue;
            }
            r.files += 1;
            if inode.nlink != 1 {
                r.error(format!(
                    "inode {ino}: {} links (files have exactly 1)",
                    inode.nlink
                ));
            }
            let name = inode.name().to_vec();
            if name.is_empty()
                || name.contains(&b'/')
                || name.contains(&0)
                || name == b"."
                || name == b".."
            {
                r.error(format!(
                    "inode {ino}: invalid name {:?}",
                    String::from_utf8_lossy(&name)
                ));
            } else if !names.insert(name.clone()) {
                r.error(format!(
                    "inode {ino}: name {:?} used twice",
                    String::from_utf8_lossy(&name)
                ));
            }
            check_extents(dev, &sb.into(), ino, &inode.into(), &mut r, &mut claim)?;
        }
    }
    if !root_seen && !r.errors.iter().any(|e| e.contains("root")) {
        r.error("no root directory".into());
    }

    let bitmap: Vec<u64> = sb.bitmap[..sb.bitmap_blocks as usize].to_vec();
    check_bitmap(dev, &bitmap, &sb.into(), sb.free_blocks, &owners, &mut r)?;
    r.used_blocks = owners.len() as u64;
    Ok(r)
}
