// SPDX-License-Identifier: GPL-2.0

//! emfs's `inode_operations`: names in the root directory, and the size.

use super::*;

#[vtable]
impl InodeOperations for Emfs {
    fn lookup(dir: &Inode<Self>, name: &[u8]) -> Result<Option<u64>> {
        check_name(name)?;
        let st = dir.super_block().data().lock();
        let mut corrupt = false;
        for (ino, s) in st.slots.iter().enumerate().skip(ROOT_INO as usize + 1) {
            if s.bad {
                corrupt = true;
            } else if s.disk.in_use() && s.disk.nlink > 0 && s.disk.name() == name {
                return Ok(Some(ino as u64));
            }
        }
        // A slot that does not decode may hold the name: say so rather than "no such file".
        if corrupt {
            return Err(euclean());
        }
        Ok(None)
    }

    fn create(dir: &Inode<Self>, name: &[u8], new: &NewInode<'_>) -> Result<u64> {
        check_name(name)?;
        // Format 1 holds regular files only.
        if new.ty != FileType::Reg {
            return Err(EPERM);
        }
        let now = vfs::now();
        let mut st = dir.super_block().data().lock();
        let transid = st.transid;
        let ino = st
            .slots
            .iter()
            .enumerate()
            .skip(ROOT_INO as usize + 1)
            .find(|(_, s)| !s.bad && !s.disk.in_use())
            .map(|(ino, _)| ino as u64)
            .ok_or(ENOSPC)?;
        let slot = st.slot_mut(ino)?;
        let mut i = format::Inode {
            mode: S_IFREG | (new.perm & 0o7777),
            nlink: 1,
            uid: new.uid,
            gid: new.gid,
            atime: now,
            mtime: now,
            ctime: now,
            generation: transid,
            ino: ino as u32,
            ..format::Inode::FREE
        };
        Self::set_name(&mut i, name);
        slot.disk = i;
        Ok(ino)
    }

    fn create_aborted(dir: &Inode<Self>, ino: u64) {
        if let Err(e) = dir.super_block().data().lock().delete_inode(ino) {
            pr_err!("inode {}: cannot undo its creation: {:?}\n", ino, e);
        }
    }

    fn unlink(dir: &Inode<Self>, _name: &[u8], inode: &Inode<Self>) -> Result {
        let mut st = dir.super_block().data().lock();
        Self::make_orphan(&mut st.slot_mut(inode.ino())?.disk);
        Ok(())
    }

    fn rename(
        dir: &Inode<Self>,
        _old_name: &[u8],
        inode: &Inode<Self>,
        _new_dir: &Inode<Self>,
        new_name: &[u8],
        replaced: Option<&Inode<Self>>,
        flags: RenameFlags,
    ) -> Result {
        check_name(new_name)?;
        // Format 1: regular files in the one directory, names in the inodes; `NOREPLACE` is
        // the VFS's.
        let regular = |i: &Inode<Self>| i.attrs().mode & S_IFMT == S_IFREG;
        if flags.contains(RenameFlags::EXCHANGE) || flags.contains(RenameFlags::WHITEOUT) {
            return Err(EINVAL);
        }
        if !regular(inode) || replaced.is_some_and(|r| !regular(r)) {
            return Err(EINVAL);
        }
        let mut st = dir.super_block().data().lock();
        if let Some(old) = replaced {
            Self::make_orphan(&mut st.slot_mut(old.ino())?.disk);
        }
        Self::set_name(&mut st.slot_mut(inode.ino())?.disk, new_name);
        Ok(())
    }

    fn set_size(inode: &LockedInode<Self>, size: u64) -> Result {
        let old = inode.size().max(0) as u64;
        if size >= old {
            // Nothing past the old size is on disk (the old last block's tail is zero there),
            // but a shared mapping may have written past the end in the page cache.
            inode.zero_eof_tail(size)?;
            return inode.truncate_setsize(size);
        }
        // The new last block keeps its head; its tail must read as zeros after any later
        // extension, so it is written again with zeros.
        if size % BS != 0 {
            inode.zero_range(size, round_up(size).min(old) - size)?;
        }
        inode.truncate_setsize(size)?;
        let from = round_up(size);
        inode
            .super_block()
            .data()
            .lock()
            .drop_records(inode.ino(), from, u64::MAX)?;
        inode.data().maps.drop_range(from, u64::MAX, false);
        Ok(())
    }
}
