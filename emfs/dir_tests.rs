// SPDX-License-Identifier: GPL-2.0

//! KUnit suite `emfs_dir`: a directory in memory ([`super::dir::Dir`]) and its chain: names
//! added, found and removed, cookies never given twice, readdir from a position, the packed
//! chain read back through the format's own checks, and what a bad chain or a full directory
//! gets.

use super::crc32c;
use super::dir::Dir;
use super::dirent::{
    decode_dir_block, ChainWalk, DirBlockWriter, DirEntry, COOKIE_LIMIT, DT_DIR, DT_LNK, DT_REG,
    FIRST_COOKIE,
};
use super::format::BLOCK_SIZE;
use super::meta;
use crate::kernel_ext::errno::euclean;
use crate::kernel_ext::kunit::{kunit_assert, kunit_assert_eq, Test};
use kernel::prelude::*;

/// Two names whose CRC32C is the same (0xc92d7604): the name index must tell them apart.
const COLLIDING: [&[u8]; 2] = [b"butlyrqwveil", b"mardefvcwdyf"];

/// `n`'s name in the round-trip test: `n` in three base-26 letters (so distinct below
/// 26^3), padded with `-` to 3 to 255 bytes.
fn name_of(n: u32, buf: &mut [u8; 255]) -> usize {
    let len = (1 + (n as usize * 37) % 255).max(3);
    buf.fill(b'-');
    buf[0] = b'a' + (n / 676 % 26) as u8;
    buf[1] = b'a' + (n / 26 % 26) as u8;
    buf[2] = b'a' + (n % 26) as u8;
    len
}

/// Adds, looks up and removes names; cookies rise and are never given twice.
pub(crate) fn dir_add_lookup_remove(t: &mut Test) -> Result {
    let mut d = Dir::new();
    let a = d.add(b"a", 10, DT_REG)?;
    let b = d.add(b"bb", 11, DT_DIR)?;
    let c = d.add(b"ccc", 12, DT_LNK)?;
    kunit_assert_eq!(
        t,
        (a, b, c),
        (FIRST_COOKIE, FIRST_COOKIE + 1, FIRST_COOKIE + 2)
    );
    kunit_assert_eq!(t, (d.len(), d.size()), (3, 6));
    kunit_assert_eq!(
        t,
        d.lookup(b"bb").map(|(k, e)| (k, e.ino, e.dtype)),
        Some((b, 11, DT_DIR))
    );
    kunit_assert!(t, d.lookup(b"b").is_none() && d.lookup(b"bbb").is_none());
    kunit_assert!(t, d.add(b"bb", 13, DT_REG) == Err(EEXIST));
    for bad in [&b""[..], b".", b"..", b"a/b", b"a\0b", &[b'x'; 256]] {
        kunit_assert!(t, d.add(bad, 13, DT_REG) == Err(EINVAL));
    }
    kunit_assert!(t, d.add(b"d", 0, DT_REG) == Err(EINVAL));
    kunit_assert!(t, d.add(b"d", 13, 0) == Err(EINVAL));
    kunit_assert_eq!(t, d.len(), 3);

    let gone = d.remove(b"bb")?;
    kunit_assert_eq!(t, (gone.ino, gone.name()), (11, &b"bb"[..]));
    kunit_assert!(t, d.remove(b"bb").err() == Some(ENOENT));
    kunit_assert!(t, d.lookup(b"bb").is_none());
    kunit_assert_eq!(t, (d.len(), d.size()), (2, 4));
    // The removed entry's cookie is not given again.
    kunit_assert_eq!(t, d.add(b"bb", 14, DT_REG)?, c + 1);

    // RENAME_EXCHANGE's half: the entry keeps its cookie, names another inode.
    kunit_assert_eq!(t, d.retarget(b"a", 20, DT_DIR)?, (10, DT_REG));
    kunit_assert_eq!(
        t,
        d.lookup(b"a").map(|(k, e)| (k, e.ino, e.dtype)),
        Some((a, 20, DT_DIR))
    );
    kunit_assert!(t, d.retarget(b"zz", 20, DT_DIR).err() == Some(ENOENT));
    Ok(())
}

/// Names with the same hash are both found, and removing one keeps the other.
pub(crate) fn dir_hash_collision(t: &mut Test) -> Result {
    let [x, y] = COLLIDING;
    kunit_assert_eq!(t, crc32c(x), crc32c(y));
    let mut d = Dir::new();
    d.add(x, 30, DT_REG)?;
    kunit_assert!(t, d.lookup(y).is_none());
    d.add(y, 31, DT_REG)?;
    kunit_assert!(t, d.add(y, 32, DT_REG) == Err(EEXIST));
    kunit_assert_eq!(t, d.lookup(x).map(|(_, e)| e.ino), Some(30));
    kunit_assert_eq!(t, d.lookup(y).map(|(_, e)| e.ino), Some(31));
    d.remove(x)?;
    kunit_assert!(t, d.lookup(x).is_none());
    kunit_assert_eq!(t, d.lookup(y).map(|(_, e)| e.ino), Some(31));
    Ok(())
}

/// Readdir's walk: from a position, in cookie order, up to a bound, stopping when told.
pub(crate) fn dir_visit_from_position(t: &mut Test) -> Result {
    let mut d = Dir::new();
    for (i, name) in [b"a", b"b", b"c", b"d", b"e"].iter().enumerate() {
        d.add(*name, 40 + i as u32, DT_REG)?;
    }
    d.remove(b"b")?;
    // Cookies now: a 2, c 4, d 5, e 6; next 7.
    let mut seen = [0u64; 8];
    let mut n = 0;
    let end = d.visit(3, d.next_cookie(), |k, _| {
        seen[n] = k;
        n += 1;
        true
    });
    kunit_assert_eq!(t, (&seen[..n], end), (&[4, 5, 6][..], 7));

    // Stopped after two: the position is after the second.
    n = 0;
    let end = d.visit(0, u64::MAX, |_, _| {
        n += 1;
        n < 3
    });
    kunit_assert_eq!(t, (n, end), (3, 5));

    // The bound (opendir's next cookie) hides later entries.
    d.add(b"f", 50, DT_REG)?;
    n = 0;
    let end = d.visit(5, 7, |_, _| {
        n += 1;
        true
    });
    kunit_assert_eq!(t, (n, end), (2, 7));
    // Past the last entry: nothing, and the position stays.
    kunit_assert_eq!(t, d.visit(100, u64::MAX, |_, _| true), 100);
    Ok(())
}

/// A directory of many entries, some removed, written as a chain and read back through
/// `decode_dir_block` and `ChainWalk` into a new `Dir` equal to the first.
pub(crate) fn dir_chain_round_trip(t: &mut Test) -> Result {
    let mut d = Dir::new();
    let mut name = [0u8; 255];
    for n in 0..600u32 {
        let len = name_of(n, &mut name);
        d.add(&name[..len], 100 + n, DT_REG)?;
    }
    for n in (0..600u32).step_by(3) {
        let len = name_of(n, &mut name);
        d.remove(&name[..len])?;
    }
    let nblocks = d.blocks();
    kunit_assert!(t, nblocks > 1, "{nblocks} blocks: the test wants a chain");
    // The bound a reservation uses is a bound.
    let bound = d.blocks_bound();
    kunit_assert!(
        t,
        nblocks as u64 <= bound,
        "{nblocks} blocks, bound {bound}"
    );

    // The "disk": block numbers 1000.. mapped to buffers.
    let mut disk: KVec<KBox<[u8; BLOCK_SIZE]>> = KVec::new();
    let mut numbers = KVec::new();
    for i in 0..nblocks {
        numbers.push(1000 + i as u64, GFP_KERNEL)?;
        disk.push(meta::new_block()?, GFP_KERNEL)?;
    }
    let mut buf = meta::new_block()?;
    let mut writes = 0;
    d.write_chain(77, 9, &numbers, &mut buf, |blk, b| {
        let slot = disk.get_mut((blk - 1000) as usize).ok_or(EINVAL)?;
        slot.copy_from_slice(b);
        writes += 1;
        Ok(())
    })?;
    kunit_assert_eq!(t, writes, nblocks);
    // A wrong number of blocks is refused before anything is written.
    kunit_assert!(
        t,
        d.write_chain(77, 9, &numbers[1..], &mut buf, |_, _| Err(EIO)) == Err(EINVAL)
    );

    let mut back = Dir::loading(d.next_cookie())?;
    let mut walk = ChainWalk::new(d.len(), d.next_cookie());
    let mut blk = numbers[0];
    let mut read = 0;
    while blk != 0 {
        let b = disk.get((blk - 1000) as usize).ok_or(EINVAL)?;
        let h = decode_dir_block(b, 77, 9).map_err(|_| EINVAL)?;
        blk = back.load_block(&mut walk, b, &h)?;
        read += 1;
    }
    kunit_assert_eq!(t, read, nblocks);
    kunit_assert!(t, walk.finish(d.size()) == Ok(true));
    kunit_assert_eq!(t, (back.len(), back.size()), (d.len(), d.size()));
    // Entry by entry, in cookie order: the same cookie, inode and type under the same name.
    let (mut same, mut pos, mut entries) = (true, 0, 0);
    loop {
        let mut one = None;
        let mut len = 0;
        d.visit(pos, u64::MAX, |k, e| {
            one = Some((k, e.ino, e.dtype));
            len = e.name().len();
            name[..len].copy_from_slice(e.name());
            false
        });
        let Some((k, ino, dtype)) = one else { break };
        match back.lookup(&name[..len]) {
            Some((bk, be)) => same &= (bk, be.ino, be.dtype) == (k, ino, dtype),
            None => same = false,
        }
        entries += 1;
        pos = k + 1;
    }
    kunit_assert_eq!(t, entries, d.len());
    kunit_assert!(t, same, "the chain read back differs");
    // A block read for another directory is refused by the format's checks.
    kunit_assert!(t, decode_dir_block(&disk[0], 78, 9).is_err());
    Ok(())
}

/// A chain naming one name twice, or a cookie at or past the inode's next cookie, does not
/// load: the directory is damaged, not half read.
pub(crate) fn dir_bad_chain(t: &mut Test) -> Result {
    let mut b = meta::new_block()?;
    let mut w = DirBlockWriter::new(&mut b, 5, 0, 1);
    for (cookie, ino) in [(2, 6), (3, 7)] {
        w.push(&DirEntry {
            cookie,
            ino,
            dtype: DT_REG,
            name: b"twice",
        })
        .map_err(|_| EINVAL)?;
    }
    w.finish().map_err(|_| EINVAL)?;
    let h = decode_dir_block(&b, 5, 1).map_err(|_| EINVAL)?;
    let mut d = Dir::loading(4)?;
    let mut walk = ChainWalk::new(2, 4);
    kunit_assert!(t, d.load_block(&mut walk, &b, &h).err() == Some(euclean()));

    // The inode's next cookie at the second entry's: the walk refuses the chain.
    let mut d = Dir::loading(3)?;
    let mut walk = ChainWalk::new(2, 3);
    kunit_assert!(t, d.load_block(&mut walk, &b, &h).err() == Some(euclean()));
    Ok(())
}

/// A directory that gave out every cookie refuses a new name with ENOSPC and stays as it
/// was; a next cookie past the limit does not load.
pub(crate) fn dir_cookie_limit(t: &mut Test) -> Result {
    let mut d = Dir::loading(COOKIE_LIMIT - 1)?;
    kunit_assert_eq!(t, d.add(b"last", 60, DT_REG)?, COOKIE_LIMIT - 1);
    kunit_assert!(t, d.add(b"more", 61, DT_REG) == Err(ENOSPC));
    kunit_assert_eq!(t, (d.len(), d.next_cookie()), (1, COOKIE_LIMIT));
    kunit_assert!(t, d.lookup(b"more").is_none());
    kunit_assert!(t, Dir::loading(COOKIE_LIMIT + 1).is_err());
    kunit_assert!(t, Dir::loading(FIRST_COOKIE - 1).is_err());
    Ok(())
}
