// SPDX-License-Identifier: GPL-2.0

//! emfs's `inode_operations`: the names of the tree (on [`namespace::Namespace`]), symlink
//! targets, and the size.
//!
//! Each operation changes the namespace under the state lock; the VFS's inodes follow in the
//! trampolines (`rust/vfs/namei.rs`). The errors are those of
//! `Documentation/filesystems/emfs.rst` ("Operations").

use super::namespace::{Make, Namespace, Time, RENAME_WHITEOUT};
use super::state::NsOp;
use super::*;

#[vtable]
impl InodeOperations for Emfs {
    fn lookup(dir: &Inode<Self>, name: &[u8]) -> Result<Option<u64>> {
        let mut st = dir.super_block().data().lock();
        let found = st.lookup(ino32(dir.ino())?, name)?;
        Ok(found.map(|(ino, _)| u64::from(ino)))
    }

    fn create(dir: &Inode<Self>, name: &[u8], new: &NewInode<'_>) -> Result<u64> {
        let m = Make {
            mode: new.ty.mode_bits() | (new.perm & 0o7777),
            uid: new.uid,
            gid: new.gid,
            rdev: dinode::encode_kdev(new.rdev),
            target: new.target,
        };
        let now = vfs::now();
        let mut st = Emfs::lock_for(dir.super_block(), NsOp::Adds)?;
        let dir = ino32(dir.ino())?;
        let ino = st.ns_op(NsOp::Adds, |ns| ns.make(dir, name, &m, now))?;
        Ok(u64::from(ino))
    }

    fn create_aborted(dir: &Inode<Self>, name: &[u8], ino: u64) {
        let now = vfs::now();
        let mut st = dir.super_block().data().lock();
        let undone = (|| -> Result {
            let (dir, ino) = (ino32(dir.ino())?, ino32(ino)?);
            let is_dir = st.ns().inode(ino)?.disk.kind() == S_IFDIR;
            let ns = st.ns_mut();
            if is_dir {
                ns.rmdir(dir, name, now)?;
            } else {
                ns.unlink(dir, name, now)?;
            }
            st.delete_inode(ino)
        })();
        if let Err(e) = undone {
            pr_err!("inode {}: cannot undo its creation: {:?}\n", ino, e);
        }
    }

    fn link(dir: &Inode<Self>, inode: &Inode<Self>, name: &[u8]) -> Result {
        let now = vfs::now();
        let mut st = Emfs::lock_for(dir.super_block(), NsOp::Adds)?;
        let (ino, dir) = (ino32(inode.ino())?, ino32(dir.ino())?);
        st.ns_op(NsOp::Adds, |ns| ns.link(ino, dir, name, now))
    }

    fn unlink(dir: &Inode<Self>, name: &[u8], inode: &Inode<Self>) -> Result {
        remove(dir, name, inode, Namespace::unlink)
    }

    fn rmdir(dir: &Inode<Self>, name: &[u8], inode: &Inode<Self>) -> Result {
        remove(dir, name, inode, Namespace::rmdir)
    }

    fn rename(
        old_dir: &Inode<Self>,
        old_name: &[u8],
        inode: &Inode<Self>,
        new_dir: &Inode<Self>,
        new_name: &[u8],
        target: Option<&Inode<Self>>,
        flags: RenameFlags,
    ) -> Result {
        // The namespace takes the kernel's values of the flags.
        let bits = flags.bits();
        let (odir, ndir) = (ino32(old_dir.ino())?, ino32(new_dir.ino())?);
        // A whiteout is made in the old directory.
        let owner = vfs::new_owner(old_dir);
        let now = vfs::now();
        // A rename may add an entry to a directory (and a whiteout inode).
        let op = if bits & RENAME_WHITEOUT != 0 {
            NsOp::Adds
        } else {
            NsOp::Moves
        };
        let mut st = Emfs::lock_for(old_dir.super_block(), op)?;
        st.ns_op(op, |ns| {
            // The two names must be what the VFS's dentries say, or the rename would drop a link
            // the VFS does not know of.
            named(ns, odir, old_name, Some(inode.ino()))?;
            named(ns, ndir, new_name, target.map(|t| t.ino()))?;
            ns.rename((odir, old_name), (ndir, new_name), bits, owner, now)
        })?;
        Ok(())
    }

    fn dir_size(dir: &Inode<Self>) -> Option<i64> {
        let st = dir.super_block().data().lock();
        let n = st.inode(dir.ino()).ok()?;
        i64::try_from(n.disk.size).ok()
    }

    fn get_link(inode: &Inode<Self>) -> Result<KVec<u8>> {
        let st = inode.super_block().data().lock();
        let n = st.inode(inode.ino())?;
        if n.disk.kind() != S_IFLNK {
            return Err(EINVAL);
        }
        let mut target = KVec::with_capacity(n.target.len() + 1, GFP_KERNEL)?;
        target.extend_from_slice(&n.target, GFP_KERNEL)?;
        Ok(target)
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

/// Whether `name` in `dir` names inode `ino` (`None`: no inode), as the VFS's dentry says; if
/// the namespace says otherwise (damage, or a name an aborted creation left), `-EIO`.
fn named(ns: &mut Namespace, dir: u32, name: &[u8], ino: Option<u64>) -> Result {
    let found = ns.lookup(dir, name)?.map(|(i, _)| u64::from(i));
    if found != ino {
        pr_err!(
            "dir {}: the name is {:?}, the VFS says {:?}\n",
            dir,
            found,
            ino
        );
        return Err(EIO);
    }
    Ok(())
}

/// Removes `name`, `inode`'s, from `dir` with `op` (`unlink` or `rmdir`); nothing if the
/// namespace says the name is not `inode`'s.
fn remove(
    dir: &Inode<Emfs>,
    name: &[u8],
    inode: &Inode<Emfs>,
    op: fn(&mut Namespace, u32, &[u8], Time) -> Result<u32>,
) -> Result {
    let now = vfs::now();
    let mut st = dir.super_block().data().lock();
    let dir = ino32(dir.ino())?;
    st.ns_op(NsOp::Removes, |ns| {
        named(ns, dir, name, Some(inode.ino()))?;
        op(ns, dir, name, now)
    })?;
    Ok(())
}
