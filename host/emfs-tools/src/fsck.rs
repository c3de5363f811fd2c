// SPDX-License-Identifier: GPL-2.0

//! Checking an emfs: every invariant of the format (`Documentation/filesystems/emfs.rst`).
//! Read-only: it reports, it never repairs.

use crate::format::*;
use crate::{device_blocks, read_block, Device};
use std::collections::{BTreeMap, HashMap, HashSet};

/// e2fsck's exit codes, the ones fsck.emfs uses.
pub mod exit {
    /// No errors.
    pub const CLEAN: i32 = 0;
    /// Errors found and left uncorrected.
    pub const ERRORS: i32 = 4;
    /// Operational error: the device could not be read.
    pub const OPERATIONAL: i32 = 8;
    /// Usage error.
    pub const USAGE: i32 = 16;
}

/// What a check found.
#[derive(Debug, Default)]
pub struct Report {
    /// Every broken invariant, one line each.
    pub errors: Vec<String>,
    /// The superblock used, if one was valid.
    pub superblock: Option<Superblock>,
    /// Files (regular inodes in use).
    pub files: u64,
    /// Inodes in use with no link (unlinked while open; the next mount frees them).
    pub orphans: u64,
    /// Extent records.
    pub extents: u64,
    /// Blocks in use.
    pub used_blocks: u64,
}

impl Report {
    fn error(&mut self, msg: String) {
        self.errors.push(msg);
    }

    /// The exit code for this report.
    pub fn exit_code(&self) -> i32 {
        if self.errors.is_empty() {
            exit::CLEAN
        } else {
            exit::ERRORS
        }
    }
}

/// What owns a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    Superblock,
    InodeTable,
    Bitmap,
    ExtentBlock(u32),
    /// A data extent `(disk_bytenr, disk_num_bytes)` of a file.
    Data(u32, u64, u64),
}

/// Checks the file system on `dev`. `Err` only if the device cannot be read at all.
pub fn fsck(dev: &mut impl Device) -> std::io::Result<Report> {
    let mut r = Report::default();
    let dev_blocks = device_blocks(dev)?;

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
                check_extents(dev, &sb, ino, &inode, &mut r, &mut claim)?;
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
            check_extents(dev, &sb, ino, &inode, &mut r, &mut claim)?;
        }
    }
    if !root_seen && !r.errors.iter().any(|e| e.contains("root")) {
        r.error("no root directory".into());
    }

    // The bitmap must say exactly which blocks are used.
    let mut free = 0;
    for (i, &blk) in sb.bitmap[..sb.bitmap_blocks as usize].iter().enumerate() {
        let block = read_block(dev, blk)?;
        if !block_csum_ok(&block) {
            r.error(format!("bitmap block {i} (block {blk}): bad checksum"));
            continue;
        }
        let first = i as u64 * BITS_PER_BITMAP_BLOCK;
        for bit in 0..BITS_PER_BITMAP_BLOCK {
            let b = first + bit;
            let used = bitmap_test(&block, bit);
            let owned = b >= sb.total_blocks || owners.contains_key(&b);
            if used != owned {
                r.error(format!(
                    "block {b}: bitmap says {}, but it is {}",
                    if used { "used" } else { "free" },
                    match owners.get(&b) {
                        Some(o) => format!("owned by {o:?}"),
                        None => "owned by nothing".into(),
                    }
                ));
            }
            if !used && b < sb.total_blocks {
                free += 1;
            }
        }
    }
    if free != sb.free_blocks {
        r.error(format!(
            "superblock: {} free blocks, the bitmap has {free}",
            sb.free_blocks
        ));
    }
    r.used_blocks = owners.len() as u64;
    Ok(r)
}

fn check_extents(
    dev: &mut impl Device,
    sb: &Superblock,
    ino: u32,
    inode: &Inode,
    r: &mut Report,
    claim: &mut impl FnMut(&mut Report, u64, Owner),
) -> std::io::Result<()> {
    let mut records: Vec<ExtentRecord> = Vec::new();
    let mut blk = inode.extent_block;
    let mut seen = HashSet::new();
    while blk != 0 {
        if blk >= sb.total_blocks || !seen.insert(blk) {
            r.error(format!(
                "inode {ino}: extent chain points to block {blk} (out of range or a loop)"
            ));
            break;
        }
        claim(r, blk, Owner::ExtentBlock(ino));
        let block = read_block(dev, blk)?;
        let h = match decode_extent_header(&block) {
            Ok(h) => h,
            Err(e) => {
                r.error(format!("inode {ino}: extent block {blk}: {e:?}"));
                break;
            }
        };
        if h.ino != ino {
            r.error(format!(
                "inode {ino}: extent block {blk} belongs to inode {}",
                h.ino
            ));
        }
        if h.generation > sb.generation {
            r.error(format!(
                "inode {ino}: extent block {blk} is from the future generation {}",
                h.generation
            ));
        }
        for i in 0..h.count as usize {
            records.push(extent_record(&block, i));
        }
        blk = h.next;
    }
    if records.len() != inode.extent_count as usize {
        r.error(format!(
            "inode {ino}: {} extent records, the inode says {}",
            records.len(),
            inode.extent_count
        ));
    }
    r.extents += records.len() as u64;
    let bs = BLOCK_SIZE as u64;
    let mut extents: BTreeMap<u64, u64> = BTreeMap::new();
    let mut prev_end = 0;
    for (i, rec) in records.iter().enumerate() {
        if let Err(e) = rec.validate() {
            r.error(format!("inode {ino}: extent {i} {rec:?}: {e:?}"));
            continue;
        }
        // The kernel's mount applies the same rules; a record that breaks one still owns its
        // blocks (its disk extent is valid), so only the rule is reported.
        if let Err(e) = rec.validate_in_file(prev_end, inode.size, sb.generation, sb.total_blocks) {
            r.error(format!(
                "inode {ino}: extent {i} at {} (size {}, generation {}): {}",
                rec.file_offset,
                inode.size,
                rec.generation,
                e.what()
            ));
        }
        prev_end = prev_end.max(rec.end());
        // Records may share one disk extent (a partly overwritten extent), but two different
        // disk extents must not overlap.
        match extents.get(&rec.disk_bytenr) {
            Some(&len) if len == rec.disk_num_bytes => continue,
            Some(&len) => {
                r.error(format!(
                    "inode {ino}: disk extent at {} has lengths {len} and {}",
                    rec.disk_bytenr, rec.disk_num_bytes
                ));
                continue;
            }
            None => {
                extents.insert(rec.disk_bytenr, rec.disk_num_bytes);
            }
        }
        let first = rec.disk_bytenr / bs;
        for b in first..first + rec.disk_num_bytes / bs {
            claim(r, b, Owner::Data(ino, rec.disk_bytenr, rec.disk_num_bytes));
        }
    }
    Ok(())
}
