// SPDX-License-Identifier: GPL-2.0

//! Format version 2: `mkfs_v2` makes what fsck.emfs accepts, and fsck.emfs finds each kind of
//! damage to the tree (every image damaged here keeps its checksums right, so that only the
//! rule in question can see it).

use emfs_tools::dinode::{DiskInode, S_IFIFO, S_IFLNK};
use emfs_tools::dirent::{decode_dir_block, DT_DIR, DT_LNK};
use emfs_tools::format::{seal_block, BLOCK_SIZE, INODE_SIZE, S_IFDIR, S_IFREG};
use emfs_tools::fsck::{exit, fsck, Report};
use emfs_tools::mkfs_v2::{mkfs, read_tree, Content, Node, Options, Tree};
use emfs_tools::superblock::{inode_location, inode_table_block, Superblock};
use emfs_tools::{read_block, write_block};
use std::io::Cursor;

type Dev = Cursor<Vec<u8>>;

const BLOCKS: u64 = 2048;

fn node(mode: u16, content: Content) -> Node {
    Node {
        mode,
        uid: 1000,
        gid: 1000,
        times: [(10, 1), (20, 2), (30, 3)],
        content,
    }
}

fn dir(entries: &[(&str, usize)]) -> Node {
    let entries = entries
        .iter()
        .map(|&(n, t)| (n.as_bytes().to_vec(), t))
        .collect();
    node(S_IFDIR | 0o755, Content::Dir(entries))
}

/// /a (dir) /a/b (dir) /a/f (file, also linked as /g) /l (long symlink) /s (short symlink)
/// /p (FIFO) /a/b/big (file of three extent blocks' worth of extents).
fn sample() -> Tree {
    let long = "x/".repeat(1000);
    let big: Vec<u8> = (0..(EXTENTS + 10) * BLOCK_SIZE)
        .map(|i| (i / 4096) as u8)
        .collect();
    vec![
        dir(&[("a", 1), ("g", 3), ("l", 4), ("s", 5), ("p", 6)]),
        dir(&[("b", 2), ("f", 3)]),
        dir(&[("big", 7)]),
        node(S_IFREG | 0o644, Content::File(b"hello".to_vec())),
        node(S_IFLNK | 0o777, Content::Symlink(long.into_bytes())),
        node(S_IFLNK | 0o777, Content::Symlink(b"../a/f".to_vec())),
        node(S_IFIFO | 0o600, Content::Special(0)),
        node(S_IFREG | 0o600, Content::File(big)),
    ]
}

const EXTENTS: usize = 63 * 2;

fn make(tree: &Tree) -> Result<(Dev, Superblock), String> {
    let mut dev = Cursor::new(vec![0u8; (BLOCKS as usize) * BLOCK_SIZE]);
    let opts = Options {
        total_blocks: BLOCKS,
        inode_table_blocks: None,
        uuid: [3; 16],
        extent_blocks: 1,
        gaps: false,
    };
    let sb = mkfs(&mut dev, &opts, tree)?;
    Ok((dev, sb))
}

fn check(dev: &mut Dev) -> Report {
    fsck(dev).expect("fsck read")
}

fn has_error(r: &Report, needle: &str) -> bool {
    r.errors.iter().any(|e| e.contains(needle))
}

fn table(dev: &mut Dev) -> Vec<u64> {
    let b = read_block(dev, 0).unwrap();
    let sb = Superblock::decode(&b).unwrap();
    (0..sb.inode_table_blocks as usize)
        .map(|i| inode_table_block(&b, i))
        .collect()
}

/// Inode `ino` changed by `f` and written back with its checksum.
fn edit_inode(dev: &mut Dev, ino: u32, f: impl FnOnce(&mut DiskInode)) {
    let (blk, off) = inode_location(&table(dev), ino).unwrap();
    let mut b = read_block(dev, blk).unwrap();
    let mut i = DiskInode::decode(&b[off..off + INODE_SIZE], ino).unwrap();
    f(&mut i);
    i.encode(&mut b[off..off + INODE_SIZE]);
    write_block(dev, blk, &b).unwrap();
}

fn inode(dev: &mut Dev, ino: u32) -> DiskInode {
    let (blk, off) = inode_location(&table(dev), ino).unwrap();
    let b = read_block(dev, blk).unwrap();
    DiskInode::decode(&b[off..off + INODE_SIZE], ino).unwrap()
}

/// The first block of directory `ino`'s chain changed by `f` at the entry named `name` (its
/// byte offset given) and sealed again.
fn edit_entry(dev: &mut Dev, ino: u32, name: &[u8], f: impl FnOnce(&mut [u8; BLOCK_SIZE], usize)) {
    let blk = inode(dev, ino).first_block;
    let mut b = read_block(dev, blk).unwrap();
    decode_dir_block(&b, ino, 1).unwrap();
    let mut off = 32;
    while &b[off + 16..off + 16 + name.len()] != name {
        off += 16 + (u16::from_le_bytes([b[off + 14], b[off + 15]]) as usize).div_ceil(8) * 8;
    }
    f(&mut b, off);
    seal_block(&mut b);
    write_block(dev, blk, &b).unwrap();
}

#[test]
fn a_made_tree_is_clean() {
    let (mut dev, sb) = make(&sample()).unwrap();
    let r = check(&mut dev);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.exit_code(), exit::CLEAN);
    assert_eq!(r.header, Some(sb));
    assert_eq!(
        (r.files, r.directories, r.symlinks, r.special),
        (2, 3, 2, 1)
    );
    assert_eq!(r.extents, 1 + EXTENTS as u64 + 10);
    let f = inode(&mut dev, 4);
    assert_eq!((f.nlink, f.size), (2, 5));
    let a = inode(&mut dev, 2);
    assert_eq!(
        (a.nlink, a.parent, a.size, a.count, a.next_cookie),
        (3, 1, 2, 2, 4)
    );
    let root = inode(&mut dev, 1);
    assert_eq!((root.nlink, root.parent, root.count), (3, 1, 5));
    assert_eq!(inode(&mut dev, 6).inline_target(), Some(&b"../a/f"[..]));
    let empty: Tree = vec![dir(&[])];
    let (mut empty, _) = make(&empty).unwrap();
    assert!(check(&mut empty).errors.is_empty());
}

#[test]
fn mkfs_refuses_a_tree_it_cannot_make() {
    let mut t = sample();
    t[1] = dir(&[("b", 2), ("f", 3), ("b", 3)]);
    assert!(make(&t).unwrap_err().contains("used twice"));
    let mut t = sample();
    t[0] = dir(&[("a", 1), ("a2", 1), ("g", 3), ("l", 4), ("s", 5), ("p", 6)]);
    assert!(make(&t).unwrap_err().contains("named twice"));
    let mut t = sample();
    t[0] = dir(&[("a", 1), ("g/h", 3), ("l", 4), ("s", 5), ("p", 6)]);
    assert!(make(&t).unwrap_err().contains("bad name"));
    let mut t = sample();
    t[0] = dir(&[("g", 3), ("l", 4), ("s", 5), ("p", 6)]);
    assert!(make(&t).unwrap_err().contains("reached"));
    let mut t = sample();
    t[3].mode = S_IFDIR | 0o755;
    assert!(make(&t).unwrap_err().contains("does not match"));
}

/// One way to damage an image.
type Damage = Box<dyn Fn(&mut Dev)>;

#[test]
fn each_kind_of_tree_damage_is_found() {
    let cases: Vec<(&str, Damage)> = vec![
        (
            "BadLinkCount(4)",
            Box::new(|d: &mut Dev| edit_inode(d, 4, |i| i.nlink = 1)),
        ),
        (
            "BadLinkCount(2)",
            Box::new(|d: &mut Dev| edit_inode(d, 2, |i| i.nlink = 4)),
        ),
        (
            "BadParent(3)",
            Box::new(|d: &mut Dev| edit_inode(d, 3, |i| i.parent = 1)),
        ),
        // A directory's own entry turned into a second name of another directory.
        (
            "DirectoryNamedTwice(3)",
            Box::new(|d: &mut Dev| {
                edit_entry(d, 2, b"f", |b, off| {
                    b[off + 8..off + 12].copy_from_slice(&3u32.to_le_bytes());
                    b[off + 12] = DT_DIR;
                })
            }),
        ),
        (
            "EntryTypeMismatch(5)",
            Box::new(|d: &mut Dev| edit_entry(d, 1, b"l", |b, off| b[off + 12] = DT_DIR)),
        ),
        (
            "EntryToFreeInode(30)",
            Box::new(|d: &mut Dev| {
                edit_entry(d, 1, b"s", |b, off| {
                    b[off + 8..off + 12].copy_from_slice(&30u32.to_le_bytes());
                    b[off + 12] = DT_LNK;
                })
            }),
        ),
        (
            "RootNamed",
            Box::new(|d: &mut Dev| {
                edit_entry(d, 2, b"b", |b, off| {
                    b[off + 8..off + 12].copy_from_slice(&1u32.to_le_bytes())
                })
            }),
        ),
        // /a and /a/b made a cycle that the root no longer reaches: the root's "a" names the
        // FIFO instead, /a/b's "big" names /a, whose parent is /a/b.
        (
            "Unreachable(2)",
            Box::new(|d: &mut Dev| {
                edit_entry(d, 1, b"a", |b, off| {
                    b[off + 8..off + 12].copy_from_slice(&7u32.to_le_bytes());
                    b[off + 12] = 1;
                });
                edit_entry(d, 3, b"big", |b, off| {
                    b[off + 8..off + 12].copy_from_slice(&2u32.to_le_bytes());
                    b[off + 12] = DT_DIR;
                });
                edit_inode(d, 2, |i| i.parent = 3);
            }),
        ),
        (
            "name is used twice",
            Box::new(|d: &mut Dev| edit_entry(d, 1, b"l", |b, off| b[off + 16] = b's')),
        ),
        (
            "size 3",
            Box::new(|d: &mut Dev| edit_inode(d, 2, |i| i.size = 3)),
        ),
        (
            "directory count",
            Box::new(|d: &mut Dev| edit_inode(d, 1, |i| i.count = 4)),
        ),
        // Cookies rise in the block but pass the directory's next cookie (7).
        (
            "entry cookie",
            Box::new(|d: &mut Dev| {
                edit_entry(d, 1, b"p", |b, off| {
                    b[off..off + 8].copy_from_slice(&100u64.to_le_bytes())
                })
            }),
        ),
        (
            "bad checksum",
            Box::new(|d: &mut Dev| {
                let blk = inode(d, 1).first_block;
                let mut b = read_block(d, blk).unwrap();
                b[40] ^= 1;
                write_block(d, blk, &b).unwrap();
            }),
        ),
        (
            "target block",
            Box::new(|d: &mut Dev| {
                let blk = inode(d, 5).first_block;
                let mut b = read_block(d, blk).unwrap();
                b[0] = b'y';
                write_block(d, blk, &b).unwrap();
            }),
        ),
        // A directory block that is also a file's extent block.
        (
            "owned twice",
            Box::new(|d: &mut Dev| {
                let data = inode(d, 4).first_block;
                let blk = inode(d, 3).first_block;
                let b = read_block(d, blk).unwrap();
                write_block(d, data, &b).unwrap();
                edit_inode(d, 3, |i| i.first_block = data);
            }),
        ),
    ];
    for (what, damage) in cases {
        let (mut dev, _) = make(&sample()).unwrap();
        damage(&mut dev);
        let r = check(&mut dev);
        assert!(has_error(&r, what), "{what}: {:?}", r.errors);
        assert_eq!(r.exit_code(), exit::ERRORS, "{what}");
    }
}

#[test]
fn an_orphan_is_not_an_error() {
    // /o removed while open: a file named nowhere with 0 links waits for the next mount to
    // free it.
    let mut t = sample();
    t.push(node(S_IFREG | 0o644, Content::File(vec![1; 10])));
    t[0] = dir(&[("a", 1), ("g", 3), ("l", 4), ("s", 5), ("p", 6), ("o", 8)]);
    let (mut dev, _) = make(&t).unwrap();
    let root_blk = inode(&mut dev, 1).first_block;
    let mut b = read_block(&mut dev, root_blk).unwrap();
    let h = decode_dir_block(&b, 1, 1).unwrap();
    // Drop the last entry ("o"): its bytes become the zero tail.
    let last = 32 + 5 * 16 + 8 * 5;
    b[last..last + 24].fill(0);
    b[4..8].copy_from_slice(&(h.count - 1).to_le_bytes());
    seal_block(&mut b);
    write_block(&mut dev, root_blk, &b).unwrap();
    edit_inode(&mut dev, 1, |i| {
        i.count -= 1;
        i.size -= 1;
    });
    edit_inode(&mut dev, 9, |i| i.nlink = 0);
    let r = check(&mut dev);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.orphans, 1);
}

#[test]
fn a_host_tree_is_copied() {
    let dir = std::env::temp_dir().join(format!("emfs-tree-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("d/e")).unwrap();
    std::fs::write(dir.join("d/e/file"), b"data").unwrap();
    std::fs::hard_link(dir.join("d/e/file"), dir.join("link")).unwrap();
    std::os::unix::fs::symlink("d/e/file", dir.join("sym")).unwrap();
    let tree = read_tree(&dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let names = |n: &Node| -> Vec<String> {
        match &n.content {
            Content::Dir(e) => e
                .iter()
                .map(|(n, _)| String::from_utf8_lossy(n).into_owned())
                .collect(),
            _ => Vec::new(),
        }
    };
    assert_eq!(names(&tree[0]), ["d", "link", "sym"]);
    assert_eq!(tree.len(), 5, "{tree:?}");
    let (mut dev, _) = make(&tree).unwrap();
    let r = check(&mut dev);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!((r.files, r.directories, r.symlinks), (1, 3, 1));
}

/// fsck never panics and always ends on a damaged image: a few bytes of metadata blocks
/// (superblock, inode table, bitmap, directory, extent and target blocks) changed at random,
/// the block (or the inode slot) sealed again most of the time so that the rules past the
/// checksums are reached.
#[test]
fn arbitrary_damage_never_panics() {
    const ROUNDS: usize = 5000;
    let (mut dev, sb) = make(&sample()).unwrap();
    let itb = u64::from(sb.inode_table_blocks);
    let mut meta: Vec<u64> = (0..2 + itb + u64::from(sb.bitmap_blocks)).collect();
    for ino in 1..=8 {
        let first = inode(&mut dev, ino).first_block;
        // The big file's chain is three blocks.
        let len = if ino == 8 { 3 } else { 1 };
        meta.extend((first..first + len).filter(|&b| b != 0));
    }
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut found = 0;
    for _ in 0..ROUNDS {
        let mut saved = Vec::new();
        for _ in 0..1 + rnd() % 3 {
            let blk = meta[(rnd() % meta.len() as u64) as usize];
            let mut b = read_block(&mut dev, blk).unwrap();
            saved.push((blk, b));
            // Mostly where the fields are: an inode slot's fixed part, a block's header and
            // first entries.
            let off = match rnd() % 4 {
                0 => rnd() % BLOCK_SIZE as u64,
                // Slots 0 to 8 of the first block: the inodes in use and a free one.
                _ if (2..2 + itb).contains(&blk) => rnd() % 9 * 256 + rnd() % 104,
                _ => rnd() % 256,
            } as usize;
            b[off] = rnd() as u8;
            if rnd() % 4 != 0 {
                if (2..2 + itb).contains(&blk) {
                    let slot = off / INODE_SIZE * INODE_SIZE;
                    let csum = emfs_tools::crc32c(&b[slot..slot + INODE_SIZE - 4]);
                    b[slot + INODE_SIZE - 4..slot + INODE_SIZE]
                        .copy_from_slice(&csum.to_le_bytes());
                } else {
                    seal_block(&mut b);
                }
            }
            write_block(&mut dev, blk, &b).unwrap();
        }
        if !check(&mut dev).errors.is_empty() {
            found += 1;
        }
        for (blk, b) in saved.into_iter().rev() {
            write_block(&mut dev, blk, &b).unwrap();
        }
    }
    assert!(check(&mut dev).errors.is_empty());
    // Most damage is seen (not all: a byte may be set to the value it had, or in a bitmap's
    // bits past the end, or in a superblock slot that loses the choice).
    assert!(
        found > ROUNDS * 2 / 3,
        "{found} of {ROUNDS} damaged images found"
    );
}

#[test]
fn unknown_features() {
    for (word, code) in [
        (3680 - 8, exit::OPERATIONAL),
        (3680 - 16, exit::ERRORS),
        (3680 - 24, exit::CLEAN),
    ] {
        let (mut dev, _) = make(&sample()).unwrap();
        let mut b = read_block(&mut dev, 0).unwrap();
        b[word] = 1;
        seal_block(&mut b);
        write_block(&mut dev, 0, &b).unwrap();
        let r = check(&mut dev);
        assert_eq!(
            r.exit_code(),
            code,
            "feature word at {word}: {:?}",
            r.errors
        );
    }
}

/// A sparse file: only its pieces in extents, one of them preallocated; fsck finds it clean
/// with one record per piece. Bytes that are not zero in a hole, or pieces out of order, are
/// refused by mkfs.
#[test]
fn sparse_files() {
    use emfs_tools::format::{EXTENT_PREALLOC, EXTENT_REGULAR};
    use emfs_tools::mkfs::Piece;
    let bs = BLOCK_SIZE;
    let piece = |file_block, blocks, kind| Piece {
        file_block,
        blocks,
        kind,
    };
    let mut data = vec![0u8; 40 * bs + 100];
    data[..2 * bs].fill(1);
    data[10 * bs..13 * bs].fill(2);
    data[40 * bs..].fill(3);
    let pieces = vec![
        piece(0, 2, EXTENT_REGULAR),
        piece(10, 3, EXTENT_REGULAR),
        piece(20, 5, EXTENT_PREALLOC),
        piece(40, 1, EXTENT_REGULAR),
    ];
    let tree = vec![
        dir(&[("s", 1)]),
        node(
            S_IFREG | 0o644,
            Content::Sparse(data.clone(), pieces.clone()),
        ),
    ];
    let (mut dev, _) = make(&tree).unwrap();
    let r = check(&mut dev);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!((r.files, r.extents), (1, 4));

    // A byte in a hole that is not zero cannot be stored.
    let mut bad = data.clone();
    bad[5 * bs] = 9;
    let tree = vec![
        dir(&[("s", 1)]),
        node(S_IFREG | 0o644, Content::Sparse(bad, pieces.clone())),
    ];
    assert!(make(&tree).unwrap_err().contains("hole"));
    // Pieces out of order.
    let mut swapped = pieces.clone();
    swapped.swap(0, 1);
    let tree = vec![
        dir(&[("s", 1)]),
        node(S_IFREG | 0o644, Content::Sparse(data, swapped)),
    ];
    assert!(make(&tree).unwrap_err().contains("bad piece"));
}
