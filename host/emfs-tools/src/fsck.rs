// SPDX-License-Identifier: GPL-2.0

//! Checking an emfs (`Documentation/filesystems/emfs.rst`): the choice between the superblock
//! slots, the rules of each block, slot and chain (`emfs/superblock.rs`, `dinode.rs`,
//! `dirent.rs`), the block rules ([`crate::blocks`]: every block owned once, the bitmap exact),
//! then the namespace (`emfs/ns_check.rs`). Read-only: it reports, it never repairs.

use crate::blocks::{check_bitmap, check_extents, ExtentChain, Limits, Owner};
use crate::dinode::{DiskInode, S_IFLNK};
use crate::dirent::{decode_dir_block, dir_entries, ChainWalk};
use crate::format::{FormatError, INODES_PER_BLOCK, INODE_SIZE, SB_SLOTS, S_IFDIR, S_IFREG};
use crate::names::names_unique;
use crate::ns_check::{check_namespace, InodeFacts, Link};
pub use crate::report::{exit, Report};
use crate::superblock::{
    bitmap_block, inode_table_block, probe, DiskSuperblock, SlotProbe, V1_REFUSED, VERSION,
};
use crate::{device_blocks, read_block, Device};
use std::collections::HashMap;
use std::io;

/// Checks the file system on `dev`. `Err` only if the device cannot be read at all.
///
/// The slots are chosen between as the mount chooses (`emfs/meta.rs`): among those that keep
/// what every version keeps (magic, block size, checksum) and are of version 1 or 2, the one
/// of the highest generation. Version 1 is refused ([`Report::refused`]), as the mount refuses
/// it; a slot of another version is reported and takes no part.
pub fn fsck(dev: &mut impl Device) -> io::Result<Report> {
    let mut r = Report::default();
    let dev_blocks = device_blocks(dev)?;
    let mut newest: Option<(SlotProbe, u64)> = None;
    for slot in SB_SLOTS.into_iter().filter(|&s| s < dev_blocks) {
        let Ok(p) = probe(&read_block(dev, slot)?) else {
            continue;
        };
        if p.version != 1 && p.version != VERSION {
            r.error(format!(
                "superblock slot {slot}: format version {} is not supported",
                p.version
            ));
        } else if newest.is_none_or(|(n, _)| p.generation > n.generation) {
            newest = Some((p, slot));
        }
    }
    match newest {
        None => r.error("no valid superblock in either slot".into()),
        Some((p, _)) if p.version != VERSION => r.refused = Some(V1_REFUSED),
        Some((_, slot)) => check(dev, slot, dev_blocks, &mut r)?,
    }
    Ok(r)
}

/// Checks the file system whose newest superblock is in slot `slot`.
fn check(dev: &mut impl Device, slot: u64, dev_blocks: u64, r: &mut Report) -> io::Result<()> {
    let b = read_block(dev, slot)?;
    let sb = match DiskSuperblock::decode(&b) {
        Ok(sb) => sb,
        Err(e) => {
            r.error(format!("superblock slot {slot}: {}", e.what()));
            return Ok(());
        }
    };
    r.superblock = Some(sb);
    if sb.total_blocks > dev_blocks {
        r.error(format!(
            "superblock: {} blocks, but the device has {dev_blocks}",
            sb.total_blocks
        ));
        return Ok(());
    }
    match sb.read_only_features() {
        // The rules of an unknown incompatible feature are unknown: nothing can be checked.
        Err(_) => {
            r.error(format!(
                "superblock: unknown incompatible features {:#x}",
                sb.incompat
            ));
            r.unsupported = true;
            return Ok(());
        }
        Ok(true) => r.error(format!(
            "superblock: unknown read-only-compatible features {:#x}",
            sb.ro_compat
        )),
        Ok(false) => {}
    }
    let table: Vec<u64> = (0..sb.inode_table_blocks as usize)
        .map(|i| inode_table_block(&b, i))
        .collect();
    let bitmap: Vec<u64> = (0..sb.bitmap_blocks as usize)
        .map(|i| bitmap_block(&b, i))
        .collect();
    let limits = Limits {
        generation: sb.generation,
        total_blocks: sb.total_blocks,
    };

    let mut owners: HashMap<u64, Owner> = HashMap::new();
    let mut claim = |r: &mut Report, blk: u64, owner: Owner| {
        if blk >= sb.total_blocks {
            r.error(format!(
                "block {blk} of {owner:?} is beyond the end of the file system"
            ));
        } else if let Some(prev) = owners.insert(blk, owner) {
            // Records of one file may share a data extent (a split extent): same owner.
            if prev != owner {
                r.error(format!(
                    "block {blk} is owned twice: by {prev:?} and by {owner:?}"
                ));
            }
        }
    };
    for slot in SB_SLOTS {
        claim(r, slot, Owner::DiskSuperblock);
    }
    for &blk in &table {
        claim(r, blk, Owner::InodeTable);
    }
    for &blk in &bitmap {
        claim(r, blk, Owner::Bitmap);
    }

    let mut facts = vec![InodeFacts::default(); sb.inode_count as usize];
    let mut links: Vec<Link> = Vec::new();
    for (t, &blk) in table.iter().enumerate() {
        let block = read_block(dev, blk)?;
        for i in 0..INODES_PER_BLOCK {
            let ino = (t * INODES_PER_BLOCK + i) as u32;
            let raw = &block[i * INODE_SIZE..(i + 1) * INODE_SIZE];
            let inode = match DiskInode::decode(raw, ino) {
                Ok(inode) if inode.in_use() => inode,
                Ok(_) => continue,
                Err(e) => {
                    r.error(format!("inode {ino}: {}", e.what()));
                    continue;
                }
            };
            if inode.generation > sb.generation {
                r.error(format!(
                    "inode {ino}: generation {} is newer than the superblock's {}",
                    inode.generation, sb.generation
                ));
            }
            facts[ino as usize] = InodeFacts {
                dtype: inode.dtype(),
                links: inode.nlink,
                parent: inode.parent,
            };
            if inode.nlink == 0 {
                r.orphans += 1;
            }
            match inode.kind() {
                S_IFREG => {
                    r.files += 1;
                    let chain = ExtentChain {
                        first_block: inode.first_block,
                        count: inode.count,
                        size: inode.size,
                    };
                    check_extents(dev, &limits, ino, &chain, r, &mut claim)?;
                }
                S_IFDIR => {
                    r.directories += 1;
                    check_dir(dev, &limits, ino, &inode, r, &mut claim, &mut links)?;
                }
                S_IFLNK => {
                    r.symlinks += 1;
                    if !inode.target_inline() {
                        claim(r, inode.first_block, Owner::TargetBlock(ino));
                        if inode.first_block < sb.total_blocks {
                            let target = read_block(dev, inode.first_block)?;
                            if let Err(e) = inode.block_target(&target) {
                                r.error(format!("inode {ino}: target block: {}", e.what()));
                            }
                        }
                    }
                }
                _ => r.special += 1,
            }
        }
    }
    if facts
        .get(crate::format::ROOT_INO as usize)
        .is_none_or(|n| n.dtype == 0)
    {
        r.error("no root directory".into());
    } else {
        let mut names = vec![0; facts.len()];
        let mut namer = vec![0; facts.len()];
        if let Err(e) = check_namespace(&facts, links.iter().copied(), &mut names, &mut namer) {
            r.error(format!("namespace: {e:?}"));
        }
    }
    check_bitmap(dev, &bitmap, &limits, sb.free_blocks, &owners, r)?;
    r.used_blocks = owners.len() as u64;
    Ok(())
}

/// Follows directory `ino`'s chain: each block's rules, the chain's (cookies, count, size),
/// names unique; collects its entries into `links`.
fn check_dir(
    dev: &mut impl Device,
    limits: &Limits,
    ino: u32,
    dir: &DiskInode,
    r: &mut Report,
    claim: &mut impl FnMut(&mut Report, u64, Owner),
    links: &mut Vec<Link>,
) -> io::Result<()> {
    let mut walk = ChainWalk::new(dir.count, dir.next_cookie);
    let mut names: Vec<Vec<u8>> = Vec::new();
    let mut blk = dir.first_block;
    let mut failed = None;
    while blk != 0 {
        if blk >= limits.total_blocks {
            failed = Some((blk, FormatError::BadField("directory block number")));
            break;
        }
        claim(r, blk, Owner::DirBlock(ino));
        let b = read_block(dev, blk)?;
        let h = match decode_dir_block(&b, ino, limits.generation) {
            Ok(h) => h,
            Err(e) => {
                failed = Some((blk, e));
                break;
            }
        };
        for e in dir_entries(&b, &h) {
            names.push(e.name.to_vec());
            links.push(Link {
                dir: ino,
                ino: e.ino,
                dtype: e.dtype,
            });
        }
        match walk.block(&b, &h) {
            Ok(next) => blk = next,
            Err(e) => {
                failed = Some((blk, e));
                break;
            }
        }
    }
    match failed {
        Some((blk, e)) => r.error(format!("directory {ino}: block {blk}: {}", e.what())),
        None => match walk.finish(dir.size) {
            Ok(true) => {}
            Ok(false) => r.error(format!(
                "directory {ino}: size {}, its names take other bytes",
                dir.size
            )),
            Err(e) => r.error(format!("directory {ino}: {}", e.what())),
        },
    }
    let mut refs: Vec<&[u8]> = names.iter().map(|n| &n[..]).collect();
    if !names_unique(&mut refs) {
        r.error(format!("directory {ino}: a name is used twice"));
    }
    Ok(())
}
