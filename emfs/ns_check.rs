// SPDX-License-Identifier: GPL-2.0

//! The namespace rules of the emfs format over a whole file system
//! (`Documentation/filesystems/emfs.rst`, "Rules"): entries name inodes in use of their
//! type, every directory but orphans is named once by its parent and reachable from the root,
//! link counts match the entries. One check that the kernel (at mount) and `fsck.emfs` both
//! run, so that what one accepts the other does. It allocates nothing: the caller passes the
//! inodes and scratch slices of the same length, and the entries as an iterator.

use super::dirent::DT_DIR;
use super::format::ROOT_INO;

/// What the check needs of one inode, indexed by inode number (index 0 unused).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InodeFacts {
    /// The `DT_*` type of an inode in use (`mode >> 12`), 0 for a free slot.
    pub dtype: u8,
    /// Its link count.
    pub links: u32,
    /// For a directory, the directory that names it (the root: itself; an orphan: 0).
    pub parent: u32,
}

/// One directory entry, as far as the check is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    /// The directory that holds the entry.
    pub dir: u32,
    /// The inode it names.
    pub ino: u32,
    /// The type the entry records.
    pub dtype: u8,
}

/// The first rule a file system breaks, with the inode it concerns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NsError {
    /// The root is not a directory in use, or its parent field is not itself.
    BadRoot,
    /// An entry is held by something that is not a directory in use.
    EntryInNonDirectory(u32),
    /// An entry names a free inode or one out of range.
    EntryToFreeInode(u32),
    /// An entry's type is not its inode's.
    EntryTypeMismatch(u32),
    /// An entry names the root.
    RootNamed,
    /// A directory is named by more than one entry.
    DirectoryNamedTwice(u32),
    /// A directory is named by a directory other than its parent field's, or by none while
    /// its parent field says it is not an orphan.
    BadParent(u32),
    /// A directory cannot be reached from the root (it lies on a cycle).
    Unreachable(u32),
    /// An orphan directory holds entries.
    OrphanWithEntries(u32),
    /// A link count differs from what the entries say.
    BadLinkCount(u32),
    /// A scratch slice is shorter than the inode slice.
    Scratch,
}

/// Checks the namespace of `inodes` with entries `links`. `names` and `namer` are scratch of at
/// least `inodes.len()` elements (overwritten): the number of entries naming each inode, and
/// for a directory the directory that names it.
pub fn check_namespace(
    inodes: &[InodeFacts],
    links: impl Iterator<Item = Link>,
    names: &mut [u32],
    namer: &mut [u32],
) -> Result<(), NsError> {
    let n = inodes.len();
    if names.len() < n || namer.len() < n {
        return Err(NsError::Scratch);
    }
    names[..n].fill(0);
    namer[..n].fill(0);
    let root = ROOT_INO as usize;
    match inodes.get(root) {
        Some(r) if r.dtype == DT_DIR && r.parent == ROOT_INO => {}
        _ => return Err(NsError::BadRoot),
    }
    let node = |ino: u32| {
        inodes
            .get(ino as usize)
            .filter(|n| n.dtype != 0 && ino != 0)
    };

    for l in links {
        let dir = node(l.dir).filter(|d| d.dtype == DT_DIR);
        match dir {
            None => return Err(NsError::EntryInNonDirectory(l.dir)),
            Some(d) if d.parent == 0 => return Err(NsError::OrphanWithEntries(l.dir)),
            Some(_) => {}
        }
        let target = node(l.ino).ok_or(NsError::EntryToFreeInode(l.ino))?;
        if target.dtype != l.dtype {
            return Err(NsError::EntryTypeMismatch(l.ino));
        }
        if l.ino == ROOT_INO {
            return Err(NsError::RootNamed);
        }
        let i = l.ino as usize;
        names[i] = names[i].saturating_add(1);
        if target.dtype == DT_DIR {
            if names[i] > 1 {
                return Err(NsError::DirectoryNamedTwice(l.ino));
            }
            namer[i] = l.dir;
        }
    }

    for (ino, nd) in inodes.iter().enumerate().skip(1) {
        let ino32 = ino as u32;
        if nd.dtype != DT_DIR || ino == root {
            continue;
        }
        if nd.parent == 0 {
            // An orphan: named by nobody (its link count, 0, is checked below).
            if names[ino] != 0 {
                return Err(NsError::BadParent(ino32));
            }
        } else if namer[ino] != nd.parent {
            return Err(NsError::BadParent(ino32));
        }
    }

    // Every other directory reaches the root through parent fields within n steps; those
    // fields equal the entries' directories (above), so this is reachability through entries,
    // and a cycle never reaches the root. `namer` is free now: 1 marks a directory known to
    // reach the root.
    namer[..n].fill(0);
    namer[root] = 1;
    for start in 1..n {
        if inodes[start].dtype != DT_DIR || inodes[start].parent == 0 || namer[start] == 1 {
            continue;
        }
        let mut cur = start;
        let mut steps = 0;
        while namer[cur] != 1 {
            steps += 1;
            let p = inodes[cur].parent as usize;
            if steps > n || p >= n || inodes[p].dtype != DT_DIR || inodes[p].parent == 0 {
                return Err(NsError::Unreachable(start as u32));
            }
            cur = p;
        }
        // Mark the path just walked: it ends at a marked directory.
        let mut cur = start;
        while namer[cur] != 1 {
            namer[cur] = 1;
            cur = inodes[cur].parent as usize;
        }
    }

    // Link counts: a directory 2 + its subdirectories (an orphan 0), anything else one per
    // entry naming it. `namer` is free again: count subdirectories there.
    namer[..n].fill(0);
    for nd in inodes.iter().skip(1) {
        if nd.dtype == DT_DIR && nd.parent != 0 {
            if let Some(c) = namer.get_mut(nd.parent as usize) {
                *c = c.saturating_add(1);
            }
        }
    }
    // The root is its own parent: it is not its own subdirectory.
    namer[root] = namer[root].saturating_sub(1);
    for (ino, nd) in inodes.iter().enumerate().skip(1) {
        let want = match nd.dtype {
            0 => continue,
            DT_DIR if nd.parent == 0 => 0,
            DT_DIR => namer[ino].saturating_add(2),
            _ => names[ino],
        };
        if nd.links != want {
            return Err(NsError::BadLinkCount(ino as u32));
        }
    }
    Ok(())
}
