// SPDX-License-Identifier: GPL-2.0

//! `rename` with its flags (`RENAME_NOREPLACE`, `RENAME_EXCHANGE`, `RENAME_WHITEOUT`) on the
//! namespace: what moves, what is replaced, and every refusal before anything changes.

use super::*;
use crate::emfs::dirent::COOKIE_LIMIT;

impl Namespace {
    /// Whether directory `ancestor` is `dir` or one of the directories above it.
    fn is_ancestor(&self, ancestor: u32, dir: u32) -> bool {
        let mut cur = dir;
        // A walk longer than the table means a cycle, which the tree rules exclude.
        for _ in 0..self.inodes.len() {
            if cur == ancestor {
                return true;
            }
            if cur == ROOT_INO || cur == 0 {
                return false;
            }
            cur = self.inodes.get(cur as usize).map_or(0, |n| n.disk.parent);
        }
        true
    }

    /// Renames `oname` in `odir` to `nname` in `ndir` at `now`, with `flags`
    /// ([`RENAME_NOREPLACE`], [`RENAME_EXCHANGE`], [`RENAME_WHITEOUT`]; a whiteout gets
    /// `owner`). The errors are `rename(2)`'s: `-ENOENT`, `-EEXIST` (`RENAME_NOREPLACE`),
    /// `-ENOTDIR`, `-EISDIR`, `-ENOTEMPTY`, `-EINVAL` (a directory into its own subtree, or
    /// bad flags), `-EMLINK`, `-ENOSPC` (no inode for a whiteout).
    pub fn rename(
        &mut self,
        (odir, oname): (u32, &[u8]),
        (ndir, nname): (u32, &[u8]),
        flags: u32,
        owner: (u32, u32),
        now: Time,
    ) -> Result<Renamed> {
        if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) != 0
            || (flags & RENAME_EXCHANGE != 0 && flags != RENAME_EXCHANGE)
        {
            return Err(EINVAL);
        }
        check_name(oname)?;
        check_name(nname)?;
        let (src, stype) = self.lookup(odir, oname)?.ok_or(ENOENT)?;
        let dst = self.lookup(ndir, nname)?;
        if flags & RENAME_EXCHANGE != 0 {
            let (dino, dtype) = dst.ok_or(ENOENT)?;
            return self.exchange((odir, oname, src, stype), (ndir, nname, dino, dtype), now);
        }
        if dst.is_some_and(|(d, _)| d == src) {
            // Two names of one inode: POSIX says do nothing.
            return Ok(Renamed::default());
        }
        let src_is_dir = stype == DT_DIR;
        if src_is_dir && odir != ndir && self.is_ancestor(src, ndir) {
            return Err(EINVAL);
        }
        if let Some((dino, dtype)) = dst {
            if flags & RENAME_NOREPLACE != 0 {
                return Err(EEXIST);
            }
            match (src_is_dir, dtype == DT_DIR) {
                (true, false) => return Err(ENOTDIR),
                (false, true) => return Err(EISDIR),
                (true, true) if !self.inode(dino)?.dir.as_ref().is_some_and(Dir::is_empty) => {
                    return Err(enotempty())
                }
                _ => {}
            }
        }
        let replaces_dir = dst.is_some_and(|(_, t)| t == DT_DIR);
        if src_is_dir && odir != ndir && !replaces_dir && self.inode(ndir)?.disk.nlink >= MAX_LINKS
        {
            return Err(EMLINK);
        }

        // Everything that can fail or allocate, before anything changes: the new name, and a
        // whiteout's inode and entry.
        let p = Dir::prepare(nname)?;
        let whiteout = if flags & RENAME_WHITEOUT != 0 {
            let ino = self.free_ino()?;
            Some((ino, Dir::prepare(oname)?))
        } else {
            None
        };
        {
            let (_, d) = self.live_dir(ndir)?;
            // The cookies the new entries take (two in one directory with a whiteout).
            let need = 1 + u64::from(whiteout.is_some() && odir == ndir);
            if d.next_cookie() + need > COOKIE_LIMIT {
                return Err(ENOSPC);
            }
        }
        if whiteout.is_some() && odir != ndir {
            let (_, d) = self.live_dir(odir)?;
            if d.next_cookie() >= COOKIE_LIMIT {
                return Err(ENOSPC);
            }
        }

        // From here on nothing fails: the checks above cover every error of what follows.
        self.live_dir(odir)?.1.remove(oname)?;
        let mut renamed = Renamed::default();
        let mut ndir_links = 0;
        if let Some((dino, dtype)) = dst {
            self.live_dir(ndir)?.1.remove(nname)?;
            if dtype == DT_DIR {
                self.orphan_dir(dino, now);
                ndir_links -= 1;
            } else {
                let n = self.inode_mut(dino)?;
                n.disk.nlink = n.disk.nlink.saturating_sub(1);
                self.touch(dino, now);
            }
            renamed.replaced = Some(dino);
        }
        self.live_dir(ndir)?.1.add_prepared(p, src, stype)?;
        let mut odir_links = 0;
        if src_is_dir && odir != ndir {
            self.inode_mut(src)?.disk.parent = ndir;
            odir_links -= 1;
            ndir_links += 1;
        }
        self.touch(src, now);
        if let Some((ino, p)) = whiteout {
            let wtype = (S_IFCHR >> 12) as u8;
            self.live_dir(odir)?.1.add_prepared(p, ino, wtype)?;
            let n = self.inode_mut(ino)?;
            *n = NsInode {
                disk: DiskInode {
                    mode: S_IFCHR,
                    nlink: 1,
                    uid: owner.0,
                    gid: owner.1,
                    atime: now,
                    mtime: now,
                    ctime: now,
                    ino,
                    ..DiskInode::FREE
                },
                dirty: true,
                chain_dirty: true,
                chain: core::mem::take(&mut n.chain),
                ..NsInode::free()
            };
            renamed.whiteout = Some(ino);
        }
        if odir == ndir {
            self.touch_dir(odir, odir_links + ndir_links, now);
        } else {
            self.touch_dir(odir, odir_links, now);
            self.touch_dir(ndir, ndir_links, now);
        }
        Ok(renamed)
    }

    /// `RENAME_EXCHANGE`: the two entries swap inodes, each keeping its cookie.
    fn exchange(
        &mut self,
        (odir, oname, src, stype): (u32, &[u8], u32, u8),
        (ndir, nname, dst, dtype): (u32, &[u8], u32, u8),
        now: Time,
    ) -> Result<Renamed> {
        if src == dst {
            return Ok(Renamed::default());
        }
        let (sdir, ddir) = (stype == DT_DIR, dtype == DT_DIR);
        if odir != ndir {
            // Neither directory may end up inside itself.
            if (sdir && self.is_ancestor(src, ndir)) || (ddir && self.is_ancestor(dst, odir)) {
                return Err(EINVAL);
            }
            // A directory for a non-directory adds a subdirectory on one side.
            let grows = match (sdir, ddir) {
                (true, false) => Some(ndir),
                (false, true) => Some(odir),
                _ => None,
            };
            if let Some(g) = grows {
                if self.inode(g)?.disk.nlink >= MAX_LINKS {
                    return Err(EMLINK);
                }
            }
        }
        self.live_dir(odir)?.1.retarget(oname, dst, dtype)?;
        self.live_dir(ndir)?.1.retarget(nname, src, stype)?;
        let (mut olinks, mut nlinks) = (0, 0);
        if odir != ndir {
            if sdir {
                self.inode_mut(src)?.disk.parent = ndir;
                olinks -= 1;
                nlinks += 1;
            }
            if ddir {
                self.inode_mut(dst)?.disk.parent = odir;
                olinks += 1;
                nlinks -= 1;
            }
        }
        self.touch(src, now);
        self.touch(dst, now);
        if odir == ndir {
            self.touch_dir(odir, 0, now);
        } else {
            self.touch_dir(odir, olinks, now);
            self.touch_dir(ndir, nlinks, now);
        }
        Ok(Renamed::default())
    }
}
