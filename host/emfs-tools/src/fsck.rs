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
    /// Format version 2: the superblock's header, if one was valid.
    pub header: Option<crate::superblock::Superblock>,
    /// Format version 2: directories, symlinks and special files in use.
    pub directories: u64,
    /// See `directories`.
    pub symlinks: u64,
    /// See `directories`.
    pub special: u64,
    /// The image cannot be checked (an unknown incompatible feature of version 2): exit 8.
    pub unsupported: bool,
}

impl Report {
    pub(crate) fn error(&mut self, msg: String) {
        self.errors.push(msg);
    }

    /// The exit code for this report.
    pub fn exit_code(&self) -> i32 {
        if self.unsupported {
            exit::OPERATIONAL
        } else if self.errors.is_empty() {
            exit::CLEAN
        } else {
            exit::ERRORS
        }
    }
}

/// What owns a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Owner {
    Superblock,
    InodeTable,
    Bitmap,
    ExtentBlock(u32),
    DirBlock(u32),
    TargetBlock(u32),
    /// A data extent `(disk_bytenr, disk_num_bytes)` of a file.
    Data(u32, u64, u64),
}

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

/// What the checks of a file's extents need of the superblock, in either version.
pub(crate) struct Limits {
    pub(crate) generation: u64,
    pub(crate) total_blocks: u64,
}

impl From<Superblock> for Limits {
    fn from(sb: Superblock) -> Self {
        Limits {
            generation: sb.generation,
            total_blocks: sb.total_blocks,
        }
    }
}

/// What the checks of a file's extents need of its inode, in either version.
pub(crate) struct ExtentChain {
    pub(crate) first_block: u64,
    pub(crate) count: u32,
    pub(crate) size: u64,
}

impl From<Inode> for ExtentChain {
    fn from(i: Inode) -> Self {
        ExtentChain {
            first_block: i.extent_block,
            count: i.extent_count,
            size: i.size,
        }
    }
}

/// The bitmap (blocks `bitmap`) must say exactly which blocks `owners` holds, and the
/// superblock's count of free blocks (`free_blocks`) agree.
pub(crate) fn check_bitmap(
    dev: &mut impl Device,
    bitmap: &[u64],
    sb: &Limits,
    free_blocks: u64,
    owners: &HashMap<u64, Owner>,
    r: &mut Report,
) -> std::io::Result<()> {
    let mut free = 0;
    for (i, &blk) in bitmap.iter().enumerate() {
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
    if free != free_blocks {
        r.error(format!(
            "superblock: {} free blocks, the bitmap has {free}",
            free_blocks
        ));
    }
    Ok(())
}

pub(crate) fn check_extents(
    dev: &mut impl Device,
    sb: &Limits,
    ino: u32,
    inode: &ExtentChain,
    r: &mut Report,
    claim: &mut impl FnMut(&mut Report, u64, Owner),
) -> std::io::Result<()> {
    let mut records: Vec<ExtentRecord> = Vec::new();
    let mut blk = inode.first_block;
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
    if records.len() != inode.count as usize {
        r.error(format!(
            "inode {ino}: {} extent records, the inode says {}",
            records.len(),
            inode.count
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
        // Past the end a block is reported once: a crafted length must not make fsck claim
        // 2^50 blocks.
        let first = rec.disk_bytenr / bs;
        let end = first.saturating_add(rec.disk_num_bytes / bs);
        for b in first..end.min(sb.total_blocks.saturating_add(1)) {
            claim(r, b, Owner::Data(ino, rec.disk_bytenr, rec.disk_num_bytes));
        }
    }
    Ok(())
}
