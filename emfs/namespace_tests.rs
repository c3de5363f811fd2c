// SPDX-License-Identifier: GPL-2.0

//! KUnit suite `emfs_namespace`: the namespace in memory ([`super::namespace`]).
//! Each operation's effect on link counts, parents and entries, each refusal with the errno
//! `rename(2)`, `link(2)`, `rmdir(2)` and friends give, and a long random run in which the
//! namespace check `fsck.emfs` runs holds after every operation and a refused one changes
//! nothing.

use super::crc32c;
use super::dinode::{DiskInode, INLINE_TARGET_MAX, MAX_LINKS, S_IFCHR, S_IFIFO, S_IFLNK};
use super::dirent::{DT_CHR, DT_DIR, DT_REG};
use super::format::{INODE_SIZE, ROOT_INO, S_IFDIR, S_IFREG};
use super::namespace::{Make, Namespace, Time, RENAME_EXCHANGE, RENAME_NOREPLACE, RENAME_WHITEOUT};
use crate::kernel_ext::errno::{enametoolong, enotempty};
use crate::kernel_ext::kunit::{kunit_assert, kunit_assert_eq, Test};
use kernel::prelude::*;

const NOW: Time = (1_700_000_000, 5);
const ROOT: u32 = ROOT_INO;

fn file(mode: u16) -> Make<'static> {
    Make {
        mode,
        uid: 1000,
        gid: 100,
        rdev: 0,
        target: b"",
    }
}

fn dir() -> Make<'static> {
    file(S_IFDIR | 0o755)
}

fn reg() -> Make<'static> {
    file(S_IFREG | 0o644)
}

fn nlink(ns: &Namespace, ino: u32) -> u32 {
    ns.inode(ino).map_or(u32::MAX, |n| n.disk.nlink)
}

fn parent(ns: &Namespace, ino: u32) -> u32 {
    ns.inode(ino).map_or(u32::MAX, |n| n.disk.parent)
}

/// Making every type, links and their removal: counts, parents, sizes, refusals.
pub(crate) fn ns_make_link_remove(t: &mut Test) -> Result {
    let mut ns = Namespace::new(64, 0o755, 0, 0, NOW)?;
    ns.check()?;
    let a = ns.make(ROOT, b"a", &dir(), NOW)?;
    let b = ns.make(ROOT, b"b", &dir(), NOW)?;
    kunit_assert_eq!(
        t,
        (nlink(&ns, ROOT), nlink(&ns, a), parent(&ns, a)),
        (4, 2, ROOT)
    );
    let f = ns.make(a, b"f", &reg(), NOW)?;
    ns.link(f, b, b"g", NOW)?;
    kunit_assert_eq!(t, nlink(&ns, f), 2);
    kunit_assert_eq!(t, ns.lookup(b, b"g")?, Some((f, DT_REG)));
    kunit_assert_eq!(t, ns.inode(a)?.disk.size, 1);

    // Symlinks, inline and in a block; special files with their device numbers.
    let short = Make {
        target: b"../b/g",
        ..file(S_IFLNK | 0o777)
    };
    let s = ns.make(a, b"s", &short, NOW)?;
    kunit_assert_eq!(t, ns.inode(s)?.disk.inline_target(), Some(&b"../b/g"[..]));
    let long_target = [b'x'; INLINE_TARGET_MAX as usize + 1];
    let long = Make {
        target: &long_target,
        ..file(S_IFLNK | 0o777)
    };
    let l = ns.make(a, b"l", &long, NOW)?;
    kunit_assert!(t, ns.inode(l)?.disk.inline_target().is_none());
    kunit_assert_eq!(t, ns.inode(l)?.target.len(), long_target.len());
    let c = ns.make(
        a,
        b"c",
        &Make {
            rdev: 0x1234,
            ..file(S_IFCHR | 0o600)
        },
        NOW,
    )?;
    kunit_assert_eq!(t, ns.inode(c)?.disk.rdev, 0x1234);
    let p = ns.make(a, b"p", &file(S_IFIFO | 0o600), NOW)?;
    kunit_assert_eq!(t, ns.inode(p)?.disk.rdev, 0);
    ns.check()?;

    // Refusals, each leaving everything as it was.
    kunit_assert!(t, ns.make(a, b"f", &reg(), NOW) == Err(EEXIST));
    kunit_assert!(
        t,
        ns.make(a, &[b'n'; 256], &reg(), NOW) == Err(enametoolong())
    );
    // On the heap: 4 KiB on the stack is a quarter of a kernel stack.
    let too_long = KVec::from_elem(b'x', 4096, GFP_KERNEL)?;
    let bad = Make {
        target: &too_long,
        ..file(S_IFLNK | 0o777)
    };
    kunit_assert!(t, ns.make(a, b"t", &bad, NOW) == Err(enametoolong()));
    kunit_assert!(t, ns.make(a, b"t", &file(S_IFLNK), NOW) == Err(EINVAL));
    kunit_assert!(t, ns.make(a, b"t", &file(0o644), NOW) == Err(EINVAL));
    kunit_assert!(t, ns.link(a, b, b"dirlink", NOW) == Err(EPERM));
    kunit_assert!(t, ns.link(f, b, b"g", NOW) == Err(EEXIST));
    kunit_assert!(t, ns.unlink(ROOT, b"a", NOW) == Err(EISDIR));
    kunit_assert!(t, ns.rmdir(a, b"f", NOW) == Err(ENOTDIR));
    kunit_assert!(t, ns.rmdir(ROOT, b"a", NOW) == Err(enotempty()));
    kunit_assert!(t, ns.unlink(a, b"nothing", NOW) == Err(ENOENT));
    kunit_assert_eq!(t, ns.lookup(a, b"nothing")?, None);
    kunit_assert!(t, ns.lookup(f, b"x") == Err(ENOTDIR));
    ns.check()?;

    // A file at the link limit takes no more.
    ns.inode_mut(f)?.disk.nlink = MAX_LINKS;
    kunit_assert!(t, ns.link(f, b, b"h", NOW) == Err(EMLINK));
    ns.inode_mut(f)?.disk.nlink = 2;

    // Everything removed: the root is back to two links and nothing is left in use.
    for name in [&b"f"[..], b"s", b"l", b"c", b"p"] {
        let ino = ns.unlink(a, name, NOW)?;
        if nlink(&ns, ino) == 0 {
            ns.delete(ino)?;
        }
    }
    kunit_assert_eq!(t, nlink(&ns, f), 1);
    kunit_assert!(
        t,
        ns.delete(f) == Err(EINVAL),
        "a file with a name is not deleted"
    );
    kunit_assert_eq!(t, ns.unlink(b, b"g", NOW)?, f);
    ns.delete(f)?;
    kunit_assert_eq!(t, ns.rmdir(ROOT, b"a", NOW)?, a);
    // A removed directory is an orphan and takes no new entry.
    kunit_assert_eq!(t, (nlink(&ns, a), parent(&ns, a)), (0, 0));
    kunit_assert!(t, ns.make(a, b"late", &reg(), NOW) == Err(ENOENT));
    ns.check()?;
    ns.delete(a)?;
    ns.rmdir(ROOT, b"b", NOW)?;
    ns.delete(b)?;
    kunit_assert_eq!(t, nlink(&ns, ROOT), 2);
    kunit_assert_eq!(t, ns.inode(ROOT)?.disk.size, 0);
    kunit_assert!(
        t,
        (2..ns.len()).all(|i| ns.inode(i).is_ok_and(|n| !n.disk.in_use()))
    );
    ns.check()?;
    Ok(())
}

/// `rename`'s refusals, each leaving the namespace as it was.
pub(crate) fn ns_rename_refusals(t: &mut Test) -> Result {
    let mut ns = Namespace::new(64, 0o755, 0, 0, NOW)?;
    let a = ns.make(ROOT, b"a", &dir(), NOW)?;
    let sub = ns.make(a, b"sub", &dir(), NOW)?;
    ns.make(sub, b"deep", &dir(), NOW)?;
    ns.make(ROOT, b"f", &reg(), NOW)?;
    ns.make(ROOT, b"g", &reg(), NOW)?;
    ns.make(ROOT, b"e", &dir(), NOW)?;
    let before = digest(&ns)?;
    let o = (0, 0);
    let r = |ns: &mut Namespace, from: (u32, &[u8]), to: (u32, &[u8]), flags| {
        ns.rename(from, to, flags, o, NOW).err()
    };
    kunit_assert_eq!(
        t,
        r(&mut ns, (ROOT, b"f"), (ROOT, b"g"), RENAME_NOREPLACE),
        Some(EEXIST)
    );
    kunit_assert_eq!(
        t,
        r(&mut ns, (ROOT, b"f"), (ROOT, b"none"), RENAME_EXCHANGE),
        Some(ENOENT)
    );
    kunit_assert_eq!(
        t,
        r(&mut ns, (ROOT, b"none"), (ROOT, b"f"), 0),
        Some(ENOENT)
    );
    kunit_assert_eq!(t, r(&mut ns, (ROOT, b"e"), (ROOT, b"f"), 0), Some(ENOTDIR));
    kunit_assert_eq!(t, r(&mut ns, (ROOT, b"f"), (ROOT, b"e"), 0), Some(EISDIR));
    kunit_assert_eq!(
        t,
        r(&mut ns, (ROOT, b"e"), (ROOT, b"a"), 0),
        Some(enotempty())
    );
    // Into its own subtree, or into itself.
    kunit_assert_eq!(t, r(&mut ns, (ROOT, b"a"), (sub, b"x"), 0), Some(EINVAL));
    kunit_assert_eq!(t, r(&mut ns, (ROOT, b"a"), (a, b"x"), 0), Some(EINVAL));
    kunit_assert_eq!(
        t,
        r(&mut ns, (ROOT, b"a"), (sub, b"deep"), RENAME_EXCHANGE),
        Some(EINVAL)
    );
    // Flags: unknown ones, and EXCHANGE with another.
    kunit_assert_eq!(t, r(&mut ns, (ROOT, b"f"), (ROOT, b"h"), 8), Some(EINVAL));
    let both = RENAME_EXCHANGE | RENAME_NOREPLACE;
    kunit_assert_eq!(
        t,
        r(&mut ns, (ROOT, b"f"), (ROOT, b"g"), both),
        Some(EINVAL)
    );
    // A directory moving into a parent at the link limit.
    let saved = nlink(&ns, sub);
    ns.inode_mut(sub)?.disk.nlink = MAX_LINKS;
    kunit_assert_eq!(t, r(&mut ns, (ROOT, b"e"), (sub, b"e"), 0), Some(EMLINK));
    ns.inode_mut(sub)?.disk.nlink = saved;
    kunit_assert!(
        t,
        digest(&ns)? == before,
        "a refused rename changed the namespace"
    );
    ns.check()?;
    Ok(())
}

/// What a rename moves: parents and link counts across directories, the replaced inode,
/// `RENAME_EXCHANGE` keeping both cookies, `RENAME_WHITEOUT`'s character device 0:0.
pub(crate) fn ns_rename_moves(t: &mut Test) -> Result {
    let mut ns = Namespace::new(64, 0o755, 0, 0, NOW)?;
    let a = ns.make(ROOT, b"a", &dir(), NOW)?;
    let b = ns.make(ROOT, b"b", &dir(), NOW)?;
    let d = ns.make(a, b"d", &dir(), NOW)?;
    let f = ns.make(a, b"f", &reg(), NOW)?;
    let g = ns.make(b, b"g", &reg(), NOW)?;
    let o = (0, 0);

    // A directory across parents.
    ns.rename((a, b"d"), (b, b"d2"), 0, o, NOW)?;
    kunit_assert_eq!(t, (parent(&ns, d), nlink(&ns, a), nlink(&ns, b)), (b, 2, 3));
    ns.check()?;

    // A file over another: the replaced one loses its name.
    let r = ns.rename((a, b"f"), (b, b"g"), 0, o, NOW)?;
    kunit_assert_eq!(t, (r.replaced, nlink(&ns, g)), (Some(g), 0));
    kunit_assert_eq!(t, ns.lookup(b, b"g")?, Some((f, DT_REG)));
    ns.delete(g)?;
    ns.check()?;

    // A directory over an empty one in another parent: that one is orphaned.
    let e = ns.make(a, b"e", &dir(), NOW)?;
    let r = ns.rename((b, b"d2"), (a, b"e"), 0, o, NOW)?;
    kunit_assert_eq!(t, r.replaced, Some(e));
    kunit_assert_eq!(
        t,
        (nlink(&ns, e), parent(&ns, e), parent(&ns, d)),
        (0, 0, a)
    );
    kunit_assert_eq!(t, (nlink(&ns, a), nlink(&ns, b)), (3, 2));
    ns.delete(e)?;
    ns.check()?;

    // EXCHANGE of a directory and a file across directories: cookies stay, counts move.
    let cookie = |ns: &mut Namespace, dir: u32, name: &[u8]| -> Result<u64> {
        let n = ns.inode_mut(dir)?;
        let dd = n.dir.as_mut().ok_or(EINVAL)?;
        dd.lookup(name).map(|(c, _)| c).ok_or(ENOENT)
    };
    let (ce, cg) = (cookie(&mut ns, a, b"e")?, cookie(&mut ns, b, b"g")?);
    ns.rename((a, b"e"), (b, b"g"), RENAME_EXCHANGE, o, NOW)?;
    kunit_assert_eq!(t, ns.lookup(a, b"e")?, Some((f, DT_REG)));
    kunit_assert_eq!(t, ns.lookup(b, b"g")?, Some((d, DT_DIR)));
    kunit_assert_eq!(
        t,
        (cookie(&mut ns, a, b"e")?, cookie(&mut ns, b, b"g")?),
        (ce, cg)
    );
    kunit_assert_eq!(t, (parent(&ns, d), nlink(&ns, a), nlink(&ns, b)), (b, 2, 3));
    ns.check()?;

    // WHITEOUT: the old name becomes a character device 0:0 owned as asked.
    let r = ns.rename((a, b"e"), (ROOT, b"moved"), RENAME_WHITEOUT, (7, 8), NOW)?;
    let w = r.whiteout.ok_or(EINVAL)?;
    kunit_assert_eq!(t, ns.lookup(a, b"e")?, Some((w, DT_CHR)));
    let wd = &ns.inode(w)?.disk;
    kunit_assert_eq!(
        t,
        (wd.mode, wd.rdev, wd.uid, wd.gid, wd.nlink),
        (S_IFCHR, 0, 7, 8, 1)
    );
    kunit_assert_eq!(t, ns.lookup(ROOT, b"moved")?, Some((f, DT_REG)));
    ns.check()?;

    // A name onto another name of the same inode: nothing happens.
    ns.link(f, b, b"f2", NOW)?;
    let before = digest(&ns)?;
    ns.rename((ROOT, b"moved"), (b, b"f2"), 0, o, NOW)?;
    kunit_assert!(t, digest(&ns)? == before);
    Ok(())
}

/// A digest of the whole namespace: every inode's bytes, every entry.
pub(crate) fn digest(ns: &Namespace) -> Result<u64> {
    let mut h: u64 = 0;
    let mut buf = [0u8; INODE_SIZE];
    for ino in 0..ns.len() {
        let n = ns.inode(ino)?;
        n.disk.encode(&mut buf);
        h = h.rotate_left(7) ^ u64::from(crc32c(&buf));
        h = h.rotate_left(7) ^ u64::from(crc32c(&n.target));
        if let Some(d) = n.dir.as_ref() {
            for (cookie, e) in d.iter() {
                h = h.rotate_left(7) ^ cookie ^ (u64::from(e.ino) << 32) ^ u64::from(e.dtype);
                h = h.rotate_left(7) ^ u64::from(crc32c(e.name()));
            }
        }
    }
    Ok(h)
}

/// xorshift64: the random run's choices, the same on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u32) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % u64::from(n.max(1))) as u32
    }
}

/// A random in-use inode for which `want` holds, if any.
fn pick(ns: &Namespace, rng: &mut Rng, want: impl Fn(&DiskInode) -> bool) -> Option<u32> {
    let start = rng.below(ns.len());
    Iterator::chain(start..ns.len(), 0..start)
        .find(|&i| ns.inode(i).is_ok_and(|n| n.disk.in_use() && want(&n.disk)))
}

/// Thousands of random operations on a small tree (8 names, 48 inodes, so that names
/// collide, directories fill and inodes run out): after each one the namespace check holds, and
/// each refused one left the namespace exactly as it was. Every kind of operation must
/// both succeed and be refused at least once.
pub(crate) fn ns_random_run(t: &mut Test) -> Result {
    const NAMES: [&[u8]; 8] = [b"a", b"b", b"c", b"d", b"e", b"f", b"g", b"h"];
    let mut ns = Namespace::new(48, 0o755, 0, 0, NOW)?;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // Per kind: [succeeded, refused].
    let mut counts = [[0u32; 2]; 7];
    for step in 0..4000u32 {
        let now = (NOW.0 + i64::from(step), 0);
        let is_dir = |d: &DiskInode| d.kind() == S_IFDIR && d.nlink > 0;
        let Some(d1) = pick(&ns, &mut rng, is_dir) else {
            return Err(EINVAL);
        };
        let d2 = pick(&ns, &mut rng, is_dir).unwrap_or(ROOT);
        let n1 = NAMES[rng.below(8) as usize];
        let n2 = NAMES[rng.below(8) as usize];
        let before = digest(&ns)?;
        let kind = rng.below(7) as usize;
        let r = match kind {
            0 => ns.make(d1, n1, &dir(), now).map(|_| ()),
            1 => ns.make(d1, n1, &reg(), now).map(|_| ()),
            2 => {
                let target = Make {
                    target: n2,
                    ..file(S_IFLNK | 0o777)
                };
                ns.make(d1, n1, &target, now).map(|_| ())
            }
            3 => match pick(&ns, &mut rng, |d| d.kind() != S_IFDIR && d.nlink > 0) {
                Some(ino) => ns.link(ino, d1, n1, now),
                None => ns.link(d1, d1, n1, now),
            },
            4 => ns.unlink(d1, n1, now).map(|_| ()),
            5 => ns.rmdir(d1, n1, now).map(|_| ()),
            _ => {
                let flags = [0, 0, RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT];
                let f = flags[rng.below(5) as usize];
                ns.rename((d1, n1), (d2, n2), f, (0, 0), now).map(|_| ())
            }
        };
        counts[kind][usize::from(r.is_err())] += 1;
        if let Err(e) = r {
            if e == ENOMEM {
                return Err(e);
            }
            kunit_assert!(
                t,
                digest(&ns)? == before,
                "step {step}: refused op {kind} changed things"
            );
        }
        kunit_assert!(
            t,
            ns.check().is_ok(),
            "step {step}: op {kind} broke the tree"
        );
        // The bound reservations use holds for every directory.
        for ino in 0..ns.len() {
            if let Some(d) = ns.inode(ino)?.dir.as_ref() {
                let (blocks, bound) = (d.blocks() as u64, d.blocks_bound());
                kunit_assert!(t, blocks <= bound, "step {step}: {blocks} blocks > {bound}");
            }
        }
        // Orphans are deleted as eviction would, most of them at once.
        if rng.below(4) != 0 {
            for ino in ROOT + 1..ns.len() {
                if ns
                    .inode(ino)
                    .is_ok_and(|n| n.disk.in_use() && n.disk.nlink == 0)
                {
                    ns.delete(ino)?;
                }
            }
        }
    }
    for (kind, [ok, refused]) in counts.iter().enumerate() {
        kunit_assert!(
            t,
            *ok > 0 && *refused > 0,
            "op {kind}: {ok} done, {refused} refused"
        );
    }
    ns.check()?;
    Ok(())
}
