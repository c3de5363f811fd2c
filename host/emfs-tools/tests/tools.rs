// SPDX-License-Identifier: GPL-2.0

//! mkfs makes what fsck.emfs accepts, and fsck.emfs finds each broken rule: of the superblock
//! slots, of extents and block ownership, and of the tree (every image damaged here keeps its
//! checksums right unless the checksum is the point, so that only the rule in question can see
//! it). A file system of format version 1 is refused, as the mount refuses it.

use emfs_tools::dinode::{DiskInode, S_IFIFO, S_IFLNK};
use emfs_tools::dirent::{decode_dir_block, DT_DIR, DT_LNK};
use emfs_tools::format::{
    bitmap_set, crc32c, encode_extent_block, extent_record, seal_block, ExtentBlockHeader,
    ExtentRecord, BITS_PER_BITMAP_BLOCK, BLOCK_SIZE, EXTENT_PREALLOC, EXTENT_REGULAR, INODE_SIZE,
    SB_SLOTS, S_IFDIR, S_IFREG,
};
use emfs_tools::fsck::{exit, fsck, Report};
use emfs_tools::mkfs::{mkfs, read_tree, version_1_superblock, Content, InodeSpec, Options, Tree};
use emfs_tools::superblock::{
    bitmap_block, inode_location, inode_table_block, DiskSuperblock, V1_REFUSED,
};
use emfs_tools::{crc32c_vectors, read_block, write_block};
use std::io::Cursor;

type Dev = Cursor<Vec<u8>>;

const BLOCKS: u64 = 2048;
const BS: u64 = BLOCK_SIZE as u64;

fn node(mode: u16, content: Content) -> InodeSpec {
    InodeSpec {
        mode,
        uid: 1000,
        gid: 1000,
        times: [(10, 1), (20, 2), (30, 3)],
        content,
    }
}

fn dir(entries: &[(&str, usize)]) -> InodeSpec {
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

fn make(tree: &Tree) -> Result<(Dev, DiskSuperblock), String> {
    make_with(tree, 1, false)
}

/// [`make`] with files in extents of `extent_blocks`, a free block between them with `gaps`.
fn make_with(tree: &Tree, extent_blocks: u64, gaps: bool) -> Result<(Dev, DiskSuperblock), String> {
    let mut dev = Cursor::new(vec![0u8; (BLOCKS as usize) * BLOCK_SIZE]);
    let opts = Options {
        total_blocks: BLOCKS,
        inode_table_blocks: None,
        uuid: [3; 16],
        extent_blocks,
        gaps,
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

/// The superblock in slot 0, its inode-table list and its bitmap list.
fn superblock(dev: &mut Dev) -> (DiskSuperblock, Vec<u64>, Vec<u64>) {
    let b = read_block(dev, SB_SLOTS[0]).unwrap();
    let sb = DiskSuperblock::decode(&b).unwrap();
    let table = (0..sb.inode_table_blocks as usize)
        .map(|i| inode_table_block(&b, i))
        .collect();
    let bitmap = (0..sb.bitmap_blocks as usize)
        .map(|i| bitmap_block(&b, i))
        .collect();
    (sb, table, bitmap)
}

fn table(dev: &mut Dev) -> Vec<u64> {
    superblock(dev).1
}

/// Writes `sb` with the lists of slot 0 into slot `slot`.
fn write_sb(dev: &mut Dev, slot: usize, sb: &DiskSuperblock) {
    let (_, table, bitmap) = superblock(dev);
    let mut b = [0u8; BLOCK_SIZE];
    sb.encode(&table, &bitmap, &mut b).unwrap();
    write_block(dev, SB_SLOTS[slot], &b).unwrap();
}

/// Marks block `blk` used in the bitmap and takes it off slot 0's free count.
fn set_used(dev: &mut Dev, blk: u64) {
    let (mut sb, _, bitmap) = superblock(dev);
    let bmb = bitmap[(blk / BITS_PER_BITMAP_BLOCK) as usize];
    let mut b = read_block(dev, bmb).unwrap();
    bitmap_set(&mut b, blk % BITS_PER_BITMAP_BLOCK, true);
    seal_block(&mut b);
    write_block(dev, bmb, &b).unwrap();
    sb.free_blocks -= 1;
    write_sb(dev, 0, &sb);
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
    assert_eq!(r.superblock, Some(sb));
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

/// Removes the last entry of directory `ino`'s first block, `name` (its bytes become the zero
/// tail), and counts it out of the directory: the inode it named is named nowhere.
fn drop_last_entry(dev: &mut Dev, ino: u32, name: &[u8]) {
    let mut at = 0;
    edit_entry(dev, ino, name, |_, off| at = off);
    let blk = inode(dev, ino).first_block;
    let mut b = read_block(dev, blk).unwrap();
    let h = decode_dir_block(&b, ino, 1).unwrap();
    b[at..at + 16 + name.len().div_ceil(8) * 8].fill(0);
    b[4..8].copy_from_slice(&(h.count - 1).to_le_bytes());
    seal_block(&mut b);
    write_block(dev, blk, &b).unwrap();
    edit_inode(dev, ino, |i| {
        i.count -= 1;
        i.size -= name.len() as u64;
    });
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
    drop_last_entry(&mut dev, 1, b"o");
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
    let names = |n: &InodeSpec| -> Vec<String> {
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

/// A root with files "a" (inode 2) and "b" (inode 3), empty, for the tests that give them
/// extents of their own making.
fn two_files() -> Dev {
    let empty = || node(S_IFREG | 0o644, Content::File(Vec::new()));
    make(&vec![dir(&[("a", 1), ("b", 2)]), empty(), empty()])
        .unwrap()
        .0
}

fn rec(
    file_offset: u64,
    len: u64,
    disk_bytenr: u64,
    disk_num_bytes: u64,
    offset: u64,
) -> ExtentRecord {
    ExtentRecord {
        file_offset,
        len,
        disk_bytenr,
        disk_num_bytes,
        offset,
        ram_bytes: disk_num_bytes,
        generation: 1,
        kind: EXTENT_REGULAR,
    }
}

/// Gives file `ino` the size `size` and the extent records `recs`, in one extent block at
/// `ext_blk`; marks the extent block and every block of each data extent used if `mark`.
fn set_extents(
    dev: &mut Dev,
    ino: u32,
    size: u64,
    ext_blk: u64,
    recs: &[ExtentRecord],
    mark: bool,
) {
    let mut b = [0u8; BLOCK_SIZE];
    let h = ExtentBlockHeader {
        count: recs.len() as u32,
        ino,
        next: 0,
        generation: 1,
    };
    encode_extent_block(&mut b, &h, recs).unwrap();
    write_block(dev, ext_blk, &b).unwrap();
    if mark {
        set_used(dev, ext_blk);
        let mut seen = std::collections::HashSet::new();
        for r in recs.iter().filter(|r| seen.insert(r.disk_bytenr)) {
            for blk in r.disk_bytenr / BS..(r.disk_bytenr + r.disk_num_bytes) / BS {
                set_used(dev, blk);
            }
        }
    }
    edit_inode(dev, ino, |i| {
        i.size = size;
        i.first_block = ext_blk;
        i.count = recs.len() as u32;
    });
}

/// File "a": one 4 KiB block at block 100, its extent block at block 50.
fn one_block_file(dev: &mut Dev, mark: bool) {
    set_extents(dev, 2, 4096, 50, &[rec(0, 4096, 100 * BS, 4096, 0)], mark);
}

#[test]
fn an_empty_file_system_owns_only_its_metadata() {
    let (mut dev, sb) = make(&vec![dir(&[])]).unwrap();
    let r = check(&mut dev);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.exit_code(), exit::CLEAN);
    assert_eq!((r.files, r.directories), (0, 1));
    // Two superblocks, a table block per 256 blocks, one bitmap block; an empty root has no
    // chain.
    assert_eq!((sb.inode_table_blocks, sb.bitmap_blocks), (8, 1));
    assert_eq!(r.used_blocks, 11);
    assert_eq!(sb.free_blocks, BLOCKS - 11);
}

#[test]
fn mkfs_refuses_sizes_it_cannot_hold() {
    let tree = vec![dir(&[])];
    let made = |total: u64, itb: Option<u32>| {
        let opts = Options {
            total_blocks: total,
            inode_table_blocks: itb,
            uuid: [0; 16],
            extent_blocks: 1,
            gaps: false,
        };
        let mut dev = Cursor::new(vec![0u8; (total.min(BLOCKS) as usize) * BLOCK_SIZE]);
        mkfs(&mut dev, &opts, &tree)
    };
    assert!(made(4, Some(2)).unwrap_err().contains("too small"));
    assert!(made(65 * BITS_PER_BITMAP_BLOCK, None)
        .unwrap_err()
        .contains("too large"));
    assert!(made(BLOCKS, Some(385))
        .unwrap_err()
        .contains("to 384 inode-table blocks"));
    assert!(made(BLOCKS, Some(0))
        .unwrap_err()
        .contains("inode-table blocks"));
    assert!(made(BLOCKS, Some(384)).is_ok());
}

#[test]
fn files_with_shared_and_separate_extents_are_clean() {
    let mut dev = two_files();
    // A 32K extent at block 100 referenced by two records (a split), and a separate extent.
    let recs = [
        rec(0, 8192, 100 * BS, 32768, 0),
        rec(8192, 4096, 200 * BS, 4096, 0),
        rec(12288, 8192, 100 * BS, 32768, 16384),
    ];
    set_extents(&mut dev, 2, 20480, 50, &recs, true);
    set_extents(
        &mut dev,
        3,
        4096,
        51,
        &[rec(0, 4096, 300 * BS, 4096, 0)],
        true,
    );
    let r = check(&mut dev);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!((r.files, r.extents), (2, 4));
}

#[test]
fn a_damaged_slot_loses_to_the_other() {
    let (mut dev, sb) = make(&sample()).unwrap();
    // The same superblock one generation newer, kept for slot 1 (which mkfs left zeroed).
    write_sb(
        &mut dev,
        1,
        &DiskSuperblock {
            generation: 2,
            ..sb
        },
    );
    let newer = read_block(&mut dev, SB_SLOTS[1]).unwrap();
    write_block(&mut dev, SB_SLOTS[1], &[0; BLOCK_SIZE]).unwrap();
    let mut b = read_block(&mut dev, SB_SLOTS[0]).unwrap();
    b[100] ^= 1;
    write_block(&mut dev, SB_SLOTS[0], &b).unwrap();
    let r = check(&mut dev);
    assert!(has_error(&r, "no valid superblock"), "{:?}", r.errors);
    assert_eq!(r.exit_code(), exit::ERRORS);
    // A valid superblock in slot 1 is used.
    write_block(&mut dev, SB_SLOTS[1], &newer).unwrap();
    let r = check(&mut dev);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.superblock.map(|s| s.generation), Some(2));
}

#[test]
fn the_newer_slot_wins() {
    let (mut dev, sb) = make(&sample()).unwrap();
    write_sb(
        &mut dev,
        1,
        &DiskSuperblock {
            generation: 5,
            free_blocks: 0,
            ..sb
        },
    );
    let r = check(&mut dev);
    assert_eq!(r.superblock.map(|s| s.generation), Some(5));
    assert!(has_error(&r, "0 free blocks"), "{:?}", r.errors);
}

#[test]
fn a_block_owned_twice() {
    let mut dev = two_files();
    set_extents(
        &mut dev,
        2,
        8192,
        50,
        &[rec(0, 8192, 100 * BS, 8192, 0)],
        true,
    );
    set_extents(
        &mut dev,
        3,
        4096,
        51,
        &[rec(0, 4096, 101 * BS, 4096, 0)],
        false,
    );
    set_used(&mut dev, 51);
    let r = check(&mut dev);
    assert!(has_error(&r, "block 101 is owned twice"), "{:?}", r.errors);
}

#[test]
fn overlapping_and_unsorted_records() {
    let mut dev = two_files();
    let recs = [
        rec(0, 8192, 100 * BS, 8192, 0),
        rec(4096, 4096, 200 * BS, 4096, 0),
    ];
    set_extents(&mut dev, 2, 8192, 50, &recs, true);
    let r = check(&mut dev);
    assert!(has_error(&r, "overlaps"), "{:?}", r.errors);
}

#[test]
fn the_bitmap_must_match() {
    let mut dev = two_files();
    one_block_file(&mut dev, false);
    set_used(&mut dev, 50);
    let r = check(&mut dev);
    assert!(
        has_error(&r, "block 100: bitmap says free"),
        "{:?}",
        r.errors
    );
    assert!(!has_error(&r, "block 50:"), "{:?}", r.errors);
}

#[test]
fn a_damaged_inode_slot_is_found() {
    let (mut dev, _) = make(&sample()).unwrap();
    // Its own number another's, sealed again: the slot's rule.
    edit_inode(&mut dev, 4, |i| i.ino = 5);
    let r = check(&mut dev);
    assert!(has_error(&r, "inode 4: inode number"), "{:?}", r.errors);
    // A flipped byte left unsealed: the checksum.
    let (mut dev, _) = make(&sample()).unwrap();
    let (blk, off) = inode_location(&table(&mut dev), 4).unwrap();
    let mut b = read_block(&mut dev, blk).unwrap();
    b[off + 8] ^= 0x40;
    write_block(&mut dev, blk, &b).unwrap();
    let r = check(&mut dev);
    assert!(has_error(&r, "inode 4: bad checksum"), "{:?}", r.errors);
    assert_eq!(r.exit_code(), exit::ERRORS);
}

#[test]
fn extents_must_fit_the_size_and_their_disk_extent() {
    let mut dev = two_files();
    let recs = [
        rec(0, 4096, 100 * BS, 4096, 0),
        rec(8192, 4096, 101 * BS, 4096, 0),
    ];
    set_extents(&mut dev, 2, 4096, 50, &recs, true);
    let r = check(&mut dev);
    assert!(has_error(&r, "beyond the size"), "{:?}", r.errors);
    let mut dev = two_files();
    set_extents(
        &mut dev,
        2,
        8192,
        50,
        &[rec(0, 8192, 100 * BS, 4096, 0)],
        true,
    );
    let r = check(&mut dev);
    assert!(has_error(&r, "extent range"), "{:?}", r.errors);
}

#[test]
fn a_preallocated_extent_may_lie_beyond_the_size() {
    // fallocate --keep-size: the kernel's mount and fsck share this rule
    // (ExtentRecord::validate_in_file); a regular extent there is an error, above.
    let mut dev = two_files();
    let mut past = rec(8192, 4096, 101 * BS, 4096, 0);
    past.kind = EXTENT_PREALLOC;
    let recs = [rec(0, 4096, 100 * BS, 4096, 0), past];
    set_extents(&mut dev, 2, 1, 50, &recs, true);
    let r = check(&mut dev);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.extents, 2);
}

#[test]
fn the_extent_count_and_chain_are_checked() {
    let mut dev = two_files();
    one_block_file(&mut dev, true);
    assert!(check(&mut dev).errors.is_empty());
    edit_inode(&mut dev, 2, |i| i.count = 3);
    let r = check(&mut dev);
    assert!(has_error(&r, "the inode says 3"), "{:?}", r.errors);
    edit_inode(&mut dev, 2, |i| {
        i.count = 1;
        i.first_block = 5000;
    });
    let r = check(&mut dev);
    assert!(has_error(&r, "out of range or a loop"), "{:?}", r.errors);
}

#[test]
fn crc32c_known_vectors() {
    for (data, want) in crc32c_vectors::KNOWN {
        assert_eq!(crc32c(data), want, "{data:02x?}");
    }
}

/// The same table the kernel's KUnit suite `emfs_checksum` checks `crc32c()` against.
#[test]
fn crc32c_matches_the_kernel_table() {
    let mut block = [0u8; BLOCK_SIZE];
    for (seed, len, want) in crc32c_vectors::BLOCKS {
        crc32c_vectors::block(seed, &mut block);
        assert_eq!(crc32c(&block[..len]), want, "seed {seed}, {len} bytes");
    }
}

/// Files in extents of three blocks with a free block between them (`-e 3 -g`): clean, and the
/// data where the records say.
#[test]
fn a_populated_image_is_clean_and_holds_the_data() {
    let data = |i: u8| -> Vec<u8> {
        (0..(i as usize * 37_000 + 1))
            .map(|k| (k as u8) ^ i)
            .collect()
    };
    let mut tree = vec![dir(&[])];
    let mut names = Vec::new();
    for i in 0..5u8 {
        names.push((format!("file{i}").into_bytes(), tree.len()));
        tree.push(InodeSpec {
            mode: S_IFREG | 0o644,
            uid: 0,
            gid: 0,
            times: [(1_700_000_000 + i as i64, 0); 3],
            content: Content::File(data(i)),
        });
    }
    tree[0].content = Content::Dir(names);
    let (mut dev, _) = make_with(&tree, 3, true).unwrap();
    let r = check(&mut dev);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.files, 5);
    // file4 (inode 6): 148001 bytes = 37 blocks in extents of 3 blocks.
    let f = inode(&mut dev, 6);
    assert_eq!((f.size, f.count), (148001, 13));
    assert_eq!(f.mtime, (1_700_000_004, 0));
    let eb = read_block(&mut dev, f.first_block).unwrap();
    let (first, second) = (extent_record(&eb, 0), extent_record(&eb, 1));
    assert_eq!(second.disk_bytenr, first.disk_bytenr + first.len + BS);
    let last = extent_record(&eb, 12);
    let block = read_block(&mut dev, last.disk_bytenr / BS).unwrap();
    assert_eq!(block[0], data(4)[last.file_offset as usize]);
}

/// An orphan's blocks stay owned (the bitmap matches without them freed); a file that an entry
/// still names with no link is an error.
#[test]
fn an_orphan_keeps_its_blocks_and_a_named_file_needs_a_link() {
    let t = vec![
        dir(&[("b", 2), ("o", 1)]),
        node(S_IFREG | 0o644, Content::File(vec![7; 5000])),
        node(S_IFREG | 0o644, Content::File(Vec::new())),
    ];
    let (mut dev, _) = make(&t).unwrap();
    drop_last_entry(&mut dev, 1, b"o");
    edit_inode(&mut dev, 2, |i| i.nlink = 0);
    let r = check(&mut dev);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!((r.files, r.orphans), (2, 1));
    let (sb, _, _) = superblock(&mut dev);
    assert_eq!(r.used_blocks, sb.total_blocks - sb.free_blocks);

    edit_inode(&mut dev, 3, |i| i.nlink = 0);
    let r = check(&mut dev);
    assert!(has_error(&r, "BadLinkCount(3)"), "{:?}", r.errors);
}

/// The newest slot of format version 1 refuses the file system with the mount's message and
/// exit 8, nothing else checked; an older one is passed over, as the mount does
/// (`emfs/meta.rs`).
#[test]
fn a_version_1_slot_is_refused_as_the_mount_refuses_it() {
    let (mut dev, _) = make(&sample()).unwrap();
    write_block(&mut dev, SB_SLOTS[1], &version_1_superblock(2, BLOCKS)).unwrap();
    let r = check(&mut dev);
    assert_eq!(r.refused, Some(V1_REFUSED));
    assert_eq!(r.exit_code(), exit::OPERATIONAL);
    assert!(r.errors.is_empty() && r.superblock.is_none(), "{r:?}");

    write_block(&mut dev, SB_SLOTS[1], &version_1_superblock(0, BLOCKS)).unwrap();
    let r = check(&mut dev);
    assert_eq!(r.refused, None);
    assert!(r.errors.is_empty(), "{:?}", r.errors);

    // A damaged version-1 slot is no slot: the version-2 one is checked.
    let mut b = version_1_superblock(2, BLOCKS);
    b[30] ^= 1;
    write_block(&mut dev, SB_SLOTS[1], &b).unwrap();
    let r = check(&mut dev);
    assert_eq!((r.refused, r.exit_code()), (None, exit::CLEAN));
}
