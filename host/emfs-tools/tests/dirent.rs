// SPDX-License-Identifier: GPL-2.0

//! Directory blocks (format version 2): what is encoded decodes to the same entries, and each
//! rule of one block refuses a block that breaks it and only that.

use emfs_tools::dirent::*;
use emfs_tools::format::{seal_block, FormatError, BLOCK_SIZE, CSUM_OFFSET};
use emfs_tools::names::names_unique;

const DIR: u32 = 7;
const GEN: u64 = 5;

fn entry(cookie: u64, ino: u32, name: &[u8]) -> DirEntry<'_> {
    DirEntry {
        cookie,
        ino,
        dtype: DT_REG,
        name,
    }
}

fn header(count: usize) -> DirBlockHeader {
    DirBlockHeader {
        count: count as u32,
        ino: DIR,
        next: 0,
        generation: GEN,
    }
}

fn block(entries: &[DirEntry<'_>]) -> [u8; BLOCK_SIZE] {
    let mut b = [0u8; BLOCK_SIZE];
    encode_dir_block(&mut b, &header(entries.len()), entries).expect("a valid block");
    b
}

/// A valid block of three entries, the second with a name that needs padding.
fn sample() -> [u8; BLOCK_SIZE] {
    block(&[
        entry(2, 10, b"a"),
        DirEntry {
            cookie: 3,
            ino: 11,
            dtype: DT_DIR,
            name: b"subdirectory",
        },
        entry(9, 12, b"12345678"),
    ])
}

/// `b` changed by `f` and sealed again: only the rule `f` breaks can refuse it.
fn damaged(f: impl FnOnce(&mut [u8; BLOCK_SIZE])) -> Result<DirBlockHeader, FormatError> {
    let mut b = sample();
    f(&mut b);
    seal_block(&mut b);
    decode_dir_block(&b, DIR, GEN)
}

#[test]
fn entries_round_trip() {
    let b = sample();
    let h = decode_dir_block(&b, DIR, GEN).expect("decodes");
    assert_eq!(h, header(3));
    let got: Vec<_> = dir_entries(&b, &h).collect();
    assert_eq!(got.len(), 3);
    assert_eq!(got[0], entry(2, 10, b"a"));
    assert_eq!(
        (got[1].cookie, got[1].dtype, got[1].name),
        (3, DT_DIR, &b"subdirectory"[..])
    );
    assert_eq!(got[2], entry(9, 12, b"12345678"));
}

#[test]
fn sizes_and_packing() {
    assert_eq!(dirent_size(1), 24);
    assert_eq!(dirent_size(8), 24);
    assert_eq!(dirent_size(9), 32);
    assert_eq!(dirent_size(DIR_NAME_MAX), 272);
    // At least 14 entries of the longest name fit in a block (the format's promise).
    let long = [b'x'; DIR_NAME_MAX];
    let many: Vec<_> = (0..20).map(|i| entry(2 + i, 1, &long)).collect();
    assert_eq!(entries_fitting(&many), DIR_BLOCK_SPACE / 272);
    assert!(entries_fitting(&many) >= 14);
    // A block packed full decodes; one entry more does not encode.
    let n = entries_fitting(&many);
    let b = block(&many[..n]);
    assert_eq!(
        decode_dir_block(&b, DIR, GEN).map(|h| h.count),
        Ok(n as u32)
    );
    let mut b = [0u8; BLOCK_SIZE];
    assert!(encode_dir_block(&mut b, &header(n + 1), &many[..n + 1]).is_err());
}

#[test]
fn names_refused() {
    let long = [b'n'; DIR_NAME_MAX + 1];
    for bad in [&b""[..], b".", b"..", b"a/b", b"a\0b", &long[..]] {
        assert!(!name_valid(bad), "{bad:?}");
        let mut b = [0u8; BLOCK_SIZE];
        assert!(encode_dir_block(&mut b, &header(1), &[entry(2, 1, bad)]).is_err());
    }
    for good in [
        &b"..."[..],
        b".a",
        b"a.",
        &long[..DIR_NAME_MAX],
        &[0xff, b' ', b'\n'][..],
    ] {
        assert!(name_valid(good), "{good:?}");
    }
}

#[test]
fn encode_refuses_what_decode_would() {
    let mut b = [0u8; BLOCK_SIZE];
    // No entry, a count that is not the entries', cookies not rising, out of range.
    assert!(encode_dir_block(&mut b, &header(0), &[]).is_err());
    assert!(encode_dir_block(&mut b, &header(2), &[entry(2, 1, b"a")]).is_err());
    assert!(encode_dir_block(&mut b, &header(2), &[entry(3, 1, b"a"), entry(3, 1, b"b")]).is_err());
    assert!(encode_dir_block(&mut b, &header(1), &[entry(1, 1, b"a")]).is_err());
    assert!(encode_dir_block(&mut b, &header(1), &[entry(COOKIE_LIMIT, 1, b"a")]).is_err());
    assert!(encode_dir_block(&mut b, &header(1), &[entry(2, 0, b"a")]).is_err());
    let mut e = entry(2, 1, b"a");
    e.dtype = 14;
    assert!(encode_dir_block(&mut b, &header(1), &[e]).is_err());
}

#[test]
fn each_rule_refuses_its_damage() {
    // Offsets in sample(): the header, then entries at 32 ("a"), 56 ("subdirectory", 12 bytes
    // padded to 16), 88 ("12345678"); the tail from 112.
    let field = |what| Err(FormatError::BadField(what));
    assert_eq!(damaged(|b| b[0] ^= 1), Err(FormatError::BadMagic));
    let mut b = sample();
    b[100] ^= 1;
    assert_eq!(
        decode_dir_block(&b, DIR, GEN),
        Err(FormatError::BadChecksum)
    );
    assert_eq!(
        decode_dir_block(&sample(), DIR + 1, GEN),
        field("directory block owner")
    );
    assert_eq!(
        decode_dir_block(&sample(), DIR, GEN - 1),
        field("directory block generation")
    );
    assert_eq!(damaged(|b| b[12] = 1), field("directory block reserved"));
    assert_eq!(damaged(|b| b[4] = 0), field("directory block count"));
    assert_eq!(damaged(|b| b[4] = 200), field("directory block count"));
    // One entry more than the block holds: the fourth "entry" is the zero tail.
    assert_eq!(damaged(|b| b[4] = 4), field("entry cookie"));
    // Cookies: below 2, equal to the previous, at the limit.
    assert_eq!(damaged(|b| b[32] = 1), field("entry cookie"));
    assert_eq!(damaged(|b| b[88] = 3), field("entry cookie"));
    assert_eq!(
        damaged(|b| b[88..96].copy_from_slice(&COOKIE_LIMIT.to_le_bytes())),
        field("entry cookie")
    );
    assert_eq!(damaged(|b| b[40..44].fill(0)), field("entry inode number"));
    assert_eq!(damaged(|b| b[44] = 3), field("entry type"));
    assert_eq!(damaged(|b| b[44] = 0), field("entry type"));
    assert_eq!(damaged(|b| b[45] = 1), field("entry padding"));
    assert_eq!(damaged(|b| b[84] = 1), field("entry padding"));
    // Names: a slash, a NUL, ".", "..", length 0.
    assert_eq!(damaged(|b| b[48] = b'/'), field("entry name"));
    assert_eq!(damaged(|b| b[72] = 0), field("entry name"));
    assert_eq!(damaged(|b| b[48] = b'.'), field("entry name"));
    assert_eq!(
        damaged(|b| {
            b[46] = 2;
            b[48..50].copy_from_slice(b"..");
        }),
        field("entry name")
    );
    assert_eq!(damaged(|b| b[46] = 0), field("entry name"));
    // A longer name runs into the next entry's header (bytes then fail their own rules) or
    // out of the block.
    assert!(damaged(|b| b[46] = 9).is_err());
    assert_eq!(
        damaged(|b| b[102..104].copy_from_slice(&4090u16.to_le_bytes())),
        field("entry outside its block")
    );
    assert_eq!(damaged(|b| b[112] = 1), field("directory block tail"));
    assert_eq!(
        damaged(|b| b[CSUM_OFFSET - 1] = 1),
        field("directory block tail")
    );
}

/// Whatever a block holds, decoding neither panics nor accepts entries outside it.
#[test]
fn arbitrary_blocks_never_panic() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let base = sample();
    for _ in 0..20_000 {
        let mut b = base;
        for _ in 0..1 + next() % 8 {
            let at = (next() % CSUM_OFFSET as u64) as usize;
            b[at] = next() as u8;
        }
        seal_block(&mut b);
        if let Ok(h) = decode_dir_block(&b, DIR, GEN) {
            let n = dir_entries(&b, &h)
                .inspect(|e| assert!(e.validate().is_ok()))
                .count();
            assert_eq!(n, h.count as usize);
        }
    }
}

/// A block of `entries` of directory `DIR` whose chain goes on at `next`.
fn chain_block(entries: &[DirEntry<'_>], next: u64) -> ([u8; BLOCK_SIZE], DirBlockHeader) {
    let h = DirBlockHeader {
        next,
        ..header(entries.len())
    };
    let mut b = [0u8; BLOCK_SIZE];
    encode_dir_block(&mut b, &h, entries).expect("a valid block");
    let decoded = decode_dir_block(&b, DIR, GEN).expect("a valid block");
    (b, decoded)
}

#[test]
fn a_chain_walks_to_its_count() {
    let (b1, h1) = chain_block(&[entry(2, 10, b"a"), entry(5, 11, b"bb")], 77);
    let (b2, h2) = chain_block(&[entry(6, 12, b"ccc")], 0);
    let mut walk = ChainWalk::new(3, 7);
    assert_eq!(walk.block(&b1, &h1), Ok(77));
    assert_eq!(walk.block(&b2, &h2), Ok(0));
    assert_eq!(walk.finish(6), Ok(true));
    // A wrong size is a rule of its own (the file system goes read-only, the chain is read).
    assert_eq!(walk.finish(5), Ok(false));
    let empty = ChainWalk::new(0, FIRST_COOKIE);
    assert_eq!(empty.finish(0), Ok(true));
}

#[test]
fn a_chain_breaking_a_rule_is_refused() {
    let count: Result<u64, _> = Err(FormatError::BadField("directory count"));
    let cookie: Result<u64, _> = Err(FormatError::BadField("entry cookie"));
    let (b1, h1) = chain_block(&[entry(2, 10, b"a"), entry(5, 11, b"bb")], 77);
    let (b2, h2) = chain_block(&[entry(6, 12, b"ccc")], 0);
    let (b2_low, h2_low) = chain_block(&[entry(5, 12, b"ccc")], 0);

    // Cookies must rise across blocks and stay below the next cookie.
    let mut walk = ChainWalk::new(3, 7);
    walk.block(&b1, &h1).expect("first block");
    assert_eq!(walk.block(&b2_low, &h2_low), cookie);
    let mut walk = ChainWalk::new(3, 6);
    walk.block(&b1, &h1).expect("first block");
    assert_eq!(walk.block(&b2, &h2), cookie);

    // The chain ends where the count does, no sooner, no later.
    assert_eq!(ChainWalk::new(1, 7).block(&b2, &h2), Ok(0));
    assert_eq!(ChainWalk::new(3, 7).block(&b2, &h2), count);
    assert_eq!(ChainWalk::new(2, 7).block(&b1, &h1), count);
    assert_eq!(ChainWalk::new(1, 7).block(&b1, &h1), count);
    let mut walk = ChainWalk::new(3, 7);
    walk.block(&b1, &h1).expect("first block");
    assert_eq!(
        walk.finish(6),
        Err(FormatError::BadField("directory count"))
    );

    // A chain that loops back on itself is refused within its count.
    let (looped, hl) = chain_block(&[entry(2, 10, b"a")], 55);
    let mut walk = ChainWalk::new(1000, 2000);
    assert_eq!(walk.block(&looped, &hl), Ok(55));
    assert_eq!(walk.block(&looped, &hl), cookie);
}

#[test]
fn names_twice_are_found() {
    let mut names: Vec<&[u8]> = vec![b"b", b"a", b"c"];
    assert!(names_unique(&mut names));
    names.push(b"a");
    assert!(!names_unique(&mut names));
    assert!(names_unique(&mut []));
}
