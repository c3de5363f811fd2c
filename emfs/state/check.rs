// SPDX-License-Identifier: GPL-2.0

//! Mount-time consistency checks: the rules `fsck.emfs` applies (`host/emfs-tools/src/fsck.rs`),
//! so that a file system the kernel mounts read-write is one fsck finds clean. Every block is
//! owned once (superblocks, inode table, bitmap, each file's extent chain and data extents; the
//! records of one file may share an extent) and the bitmap says exactly that; the superblock's
//! free count is the bitmap's; inodes are what their numbers say (the root an empty directory
//! with two links, every other inode a regular file with one link and a unique valid name, or
//! an orphan with neither), none from a future generation. The rules for each extent record in
//! its file are checked as the chain is read, by the code fsck shares
//! ([`ExtentRecord::validate_in_file`]). A failed check is reported and makes the mount
//! read-only.

use super::*;
use crate::emfs::ownership::check_blocks;

/// Reports a problem: the first few by name, all of them counted.
struct Problems(u64);

impl Problems {
    fn report(&mut self, args: core::fmt::Arguments<'_>) {
        self.0 += 1;
        if self.0 <= 8 {
            pr_err!("{}\n", args);
        }
    }
}

fn name_ok(name: &[u8]) -> bool {
    !name.is_empty() && !name.contains(&b'/') && !name.contains(&0) && name != b"." && name != b".."
}

impl FsState {
    /// Checks what the loaded metadata says against itself; returns the number of problems
    /// found (0: consistent). Only for a state with no bad slot (one with a bad slot is
    /// mounted read-only anyway, and its blocks would all look unowned).
    pub(crate) fn check(&self) -> Result<u64> {
        let mut p = Problems(0);
        self.check_inodes(&mut p);
        self.check_blocks(&mut p)?;
        Ok(p.0)
    }

    fn check_inodes(&self, p: &mut Problems) {
        let sb_generation = self.sb.generation;
        for (ino, slot) in self.slots.iter().enumerate() {
            let i = &slot.disk;
            if !i.in_use() {
                if ino == ROOT_INO as usize {
                    p.report(format_args!("the root directory inode is free"));
                }
                continue;
            }
            if i.generation > sb_generation {
                p.report(format_args!(
                    "inode {}: generation {} newer than the superblock's {}",
                    ino, i.generation, sb_generation
                ));
            }
            if ino == ROOT_INO as usize {
                if i.mode & S_IFMT != S_IFDIR || i.nlink != 2 || i.extent_count != 0 {
                    p.report(format_args!("the root inode is not an empty directory"));
                }
                continue;
            }
            if i.mode & S_IFMT != S_IFREG {
                p.report(format_args!("inode {}: not a regular file", ino));
            } else if i.nlink == 0 {
                if !i.name().is_empty() {
                    p.report(format_args!("inode {}: an orphan with a name", ino));
                }
            } else if i.nlink != 1 || !name_ok(i.name()) {
                p.report(format_args!("inode {}: bad link count or name", ino));
            } else if self.slots[..ino]
                .iter()
                .any(|o| o.disk.in_use() && o.disk.nlink != 0 && o.disk.name() == i.name())
            {
                p.report(format_args!("inode {}: name used twice", ino));
            }
        }
    }

    fn check_blocks(&self, p: &mut Problems) -> Result {
        let sb = &self.sb;
        let lists: [&[u64]; 3] = [
            &SB_SLOTS,
            &sb.inode_table[..sb.inode_table_blocks as usize],
            &sb.bitmap[..sb.bitmap_blocks as usize],
        ];
        let meta = lists.into_iter().flatten().copied();
        let owners = self
            .slots
            .iter()
            .filter(|s| s.disk.in_use())
            .map(|s| (s.chain.as_slice(), s.records.as_slice()));
        check_blocks(
            sb.total_blocks,
            sb.free_blocks,
            self.space.committed(),
            meta,
            owners,
            &mut |args| p.report(args),
        )?;
        Ok(())
    }
}
