// SPDX-License-Identifier: GPL-2.0

//! Inodes (format version 2): every type round-trips, and each rule of one slot refuses a slot
//! that breaks it and only that (each damaged slot is sealed again, so that only the rule can
//! refuse it).

use emfs_tools::crc32c;
use emfs_tools::dinode::*;
use emfs_tools::format::{FormatError, BLOCK_SIZE, INODE_SIZE, ROOT_INO, S_IFDIR, S_IFREG};

const INO: u32 = 9;

fn base(mode: u16) -> DiskInode {
    DiskInode {
        mode,
        nlink: 1,
        uid: 1000,
        gid: 100,
        atime: (1, 2),
        mtime: (-3, 999_999_999),
        ctime: (5, 0),
        generation: 4,
        ino: INO,
        ..DiskInode::FREE
    }
}

fn file() -> DiskInode {
    DiskInode {
        size: 8192,
        first_block: 40,
        count: 2,
        ..base(S_IFREG | 0o644)
    }
}

fn dir() -> DiskInode {
    DiskInode {
        nlink: 3,
        size: 7,
        first_block: 41,
        count: 2,
        parent: ROOT_INO,
        next_cookie: 10,
        ..base(S_IFDIR | 0o755)
    }
}

fn symlink(target: &[u8]) -> (DiskInode, [u8; BLOCK_SIZE]) {
    let mut block = [0u8; BLOCK_SIZE];
    let mut i = base(S_IFLNK | 0o777);
    if target.len() as u64 > INLINE_TARGET_MAX {
        encode_target_block(&mut block, target).expect("a valid target");
        i.first_block = 42;
    }
    i.set_target(target, &block);
    (i, block)
}

fn device() -> DiskInode {
    DiskInode {
        rdev: 0x0801,
        ..base(S_IFBLK | 0o600)
    }
}

fn encoded(i: &DiskInode) -> [u8; INODE_SIZE] {
    let mut b = [0u8; INODE_SIZE];
    i.encode(&mut b);
    b
}

/// `i` encoded, changed by `f` and sealed again, decoded as slot `INO`.
fn damaged(i: DiskInode, f: impl FnOnce(&mut [u8; INODE_SIZE])) -> Result<DiskInode, FormatError> {
    let mut b = encoded(&i);
    f(&mut b);
    let csum = crc32c(&b[..INODE_SIZE - 4]);
    b[INODE_SIZE - 4..].copy_from_slice(&csum.to_le_bytes());
    DiskInode::decode(&b, INO)
}

fn put32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

fn put64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

fn bad(r: Result<DiskInode, FormatError>, what: &str) {
    match r {
        Err(FormatError::BadField(w)) => assert_eq!(w, what),
        other => panic!("expected {what:?}, got {other:?}"),
    }
}

#[test]
fn every_type_round_trips() {
    let long: Vec<u8> = (0..300).map(|i| b'a' + (i % 26) as u8).collect();
    let mut kinds = vec![
        file(),
        dir(),
        device(),
        symlink(b"../target").0,
        symlink(&long).0,
    ];
    for mode in [S_IFIFO, S_IFSOCK, S_IFCHR] {
        kinds.push(base(mode | 0o640));
    }
    let root = DiskInode {
        ino: ROOT_INO,
        count: 0,
        first_block: 0,
        size: 0,
        nlink: 2,
        ..dir()
    };
    assert_eq!(DiskInode::decode(&encoded(&root), ROOT_INO), Ok(root));
    for i in kinds {
        assert_eq!(DiskInode::decode(&encoded(&i), INO), Ok(i), "{:o}", i.mode);
        assert_eq!(i.dtype() as u16, i.mode >> 12);
    }
    assert_eq!(
        DiskInode::decode(&[0; INODE_SIZE], INO),
        Ok(DiskInode::FREE)
    );
    assert_eq!(encoded(&DiskInode::FREE), [0; INODE_SIZE]);
}

#[test]
fn the_checksum_and_the_common_fields() {
    let mut b = encoded(&file());
    b[8] ^= 1;
    assert_eq!(DiskInode::decode(&b, INO), Err(FormatError::BadChecksum));
    assert_eq!(damaged(file(), |_| ()), Ok(file()));
    bad(
        DiskInode::decode(&encoded(&file()), INO + 1),
        "inode number",
    );
    bad(damaged(file(), |b| put32(b, 60, 1)), "inode flags");
    bad(
        damaged(file(), |b| put32(b, 52, 1_000_000_000)),
        "inode time",
    );
    bad(
        damaged(file(), |b| put32(b, 4, MAX_LINKS + 1)),
        "link count",
    );
    assert!(damaged(file(), |b| put32(b, 4, MAX_LINKS)).is_ok());
    bad(damaged(file(), |b| put64(b, 8, 1 << 63)), "size");
    bad(
        damaged(file(), |b| b[1] = 0o030000u16.to_le_bytes()[1]),
        "mode",
    );
    let root_file = DiskInode {
        ino: ROOT_INO,
        ..file()
    };
    bad(
        DiskInode::decode(&encoded(&root_file), ROOT_INO),
        "root mode",
    );
}

#[test]
fn fields_a_type_does_not_use_are_zero() {
    bad(damaged(file(), |b| put32(b, 88, 1)), "file fields");
    bad(damaged(file(), |b| put32(b, 92, 1)), "file fields");
    bad(damaged(file(), |b| put64(b, 96, 2)), "file fields");
    bad(damaged(file(), |b| b[200] = 1), "file fields");
    bad(damaged(file(), |b| put32(b, 80, 0)), "file fields");
    bad(damaged(dir(), |b| put32(b, 92, 1)), "directory fields");
    bad(damaged(dir(), |b| b[104] = 1), "directory fields");
    bad(damaged(dir(), |b| put64(b, 72, 0)), "directory fields");
    bad(
        damaged(symlink(b"t").0, |b| put32(b, 88, 1)),
        "symlink fields",
    );
    bad(
        damaged(symlink(b"t").0, |b| put32(b, 80, 1)),
        "symlink fields",
    );
    bad(
        damaged(symlink(b"t").0, |b| put64(b, 96, 2)),
        "symlink fields",
    );
    let fifo = base(S_IFIFO | 0o600);
    bad(damaged(fifo, |b| put32(b, 92, 1)), "special file fields");
    bad(damaged(device(), |b| put64(b, 8, 1)), "special file fields");
    bad(
        damaged(device(), |b| put64(b, 72, 1)),
        "special file fields",
    );
    bad(damaged(device(), |b| b[251] = 1), "special file fields");
}

#[test]
fn directory_rules() {
    bad(damaged(dir(), |b| put64(b, 96, 1)), "next cookie");
    bad(damaged(dir(), |b| put64(b, 96, 1 << 63)), "next cookie");
    // Two entries need two cookies below the next one: 2 and 3.
    bad(damaged(dir(), |b| put64(b, 96, 3)), "next cookie");
    assert!(damaged(dir(), |b| put64(b, 96, 4)).is_ok());
    bad(damaged(dir(), |b| put32(b, 4, 1)), "directory links");
    bad(damaged(dir(), |b| put32(b, 88, 0)), "directory links");
    let orphan = DiskInode {
        nlink: 0,
        parent: 0,
        size: 0,
        count: 0,
        first_block: 0,
        ..dir()
    };
    assert!(DiskInode::decode(&encoded(&orphan), INO).is_ok());
    bad(damaged(orphan, |b| put32(b, 88, 1)), "orphan directory");
    assert!(damaged(orphan, |b| put64(b, 8, 1)).is_ok());
    let root = DiskInode {
        ino: ROOT_INO,
        ..dir()
    };
    assert!(DiskInode::decode(&encoded(&root), ROOT_INO).is_ok());
    let mut b = encoded(&DiskInode { parent: 5, ..root });
    bad(DiskInode::decode(&b, ROOT_INO), "root parent");
    b = encoded(&DiskInode {
        nlink: 0,
        parent: 0,
        count: 0,
        first_block: 0,
        size: 0,
        ..root
    });
    bad(DiskInode::decode(&b, ROOT_INO), "orphan directory");
}

#[test]
fn symlink_rules() {
    let (inline, _) = symlink(b"abc");
    assert_eq!(inline.inline_target(), Some(&b"abc"[..]));
    bad(damaged(inline, |b| put64(b, 8, 0)), "symlink size");
    bad(damaged(inline, |b| b[2] = 2), "symlink target");
    bad(damaged(inline, |b| b[104 + 3] = b'd'), "symlink target");
    bad(damaged(inline, |b| b[104 + 1] = 0), "symlink target");
    bad(damaged(inline, |b| put64(b, 72, 42)), "symlink target");
    let full: Vec<u8> = vec![b'x'; INLINE_TARGET_MAX as usize];
    let (i, _) = symlink(&full);
    assert_eq!(DiskInode::decode(&encoded(&i), INO), Ok(i));
    assert_eq!(encoded(&i)[104 + INLINE_TARGET_MAX as usize], 0);

    let long: Vec<u8> = vec![b'y'; SYMLINK_MAX as usize];
    let (i, block) = symlink(&long);
    assert_eq!(i.inline_target(), None);
    assert_eq!(i.block_target(&block), Ok(&long[..]));
    bad(damaged(i, |b| put64(b, 8, SYMLINK_MAX + 1)), "symlink size");
    bad(damaged(i, |b| put64(b, 72, 0)), "symlink target");
    bad(damaged(i, |b| b[2] = 1), "symlink target");
    bad(damaged(i, |b| b[104 + 4] = 1), "symlink target");

    let mut other = block;
    other[0] = b'z';
    assert_eq!(i.block_target(&other), Err(FormatError::BadChecksum));
    // A block that passes its checksum but breaks the target's rules.
    let (short, _) = symlink(&long[..200]);
    for (pos, v) in [(10, 0), (200, b'q'), (BLOCK_SIZE - 1, 1)] {
        let mut b = [0u8; BLOCK_SIZE];
        encode_target_block(&mut b, &long[..200]).expect("a valid target");
        b[pos] = v;
        let mut i = short;
        i.set_target(&long[..200], &b);
        assert_eq!(
            i.block_target(&b),
            Err(FormatError::BadField("symlink target block")),
            "byte {pos}"
        );
    }
    let mut b = [0u8; BLOCK_SIZE];
    for t in [
        &long[..INLINE_TARGET_MAX as usize],
        &[b'a', 0].repeat(100)[..],
        &[b'a'; 4096][..],
    ] {
        assert!(encode_target_block(&mut b, t).is_err());
    }
}

/// The kernel's `dev_t` goes to the format as the device number mkfs.emfs reads from the host's
/// `st_rdev` (glibc's `makedev`) goes: one encoding, and back.
#[test]
fn device_numbers_round_trip() {
    let glibc_makedev = |major: u64, minor: u64| {
        ((major & 0xfff) << 8) | ((major & !0xfff) << 32) | (minor & 0xff) | ((minor & !0xff) << 12)
    };
    for (major, minor) in [(0, 0), (1, 3), (8, 17), (254, 0x1_2345), (0xfff, 0xf_ffff)] {
        let kdev = (major << 20) | minor;
        let disk = encode_kdev(kdev);
        let host = emfs_tools::mkfs::new_encode_dev(glibc_makedev(major.into(), minor.into()));
        assert_eq!(Some(disk), host, "{major}:{minor}");
        assert_eq!(decode_kdev(disk), kdev, "{major}:{minor}");
    }
    // 1:3 (/dev/null) is 0x103 in both encodings.
    assert_eq!(encode_kdev((1 << 20) | 3), 0x103);
}
