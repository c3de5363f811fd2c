// SPDX-License-Identifier: GPL-2.0

//! Making an emfs (`Documentation/filesystems/emfs.rst`), empty or holding a whole tree:
//! directories, regular files, hard links, symlinks and special files, read from a host
//! directory (`mkfs.emfs -d DIR`) or built by a test. And, for the tests of its refusal, the
//! superblock of a file system of format version 1 ([`write_version_1`]).

use crate::dinode::{
    encode_target_block, DiskInode, INLINE_TARGET_MAX, MAX_LINKS, SYMLINK_MAX, S_IFBLK, S_IFCHR,
    S_IFIFO, S_IFSOCK,
};
use crate::dirent::{encode_dir_block, entries_fitting, name_valid, DirEntry, FIRST_COOKIE};
use crate::format::{
    bitmap_set, encode_extent_block, seal_block, ChainHeader, ExtentRecord, FormatError,
    BITS_PER_BITMAP_BLOCK, BLOCK_SIZE, EXTENTS_PER_BLOCK, EXTENT_PREALLOC, EXTENT_REGULAR,
    INODES_PER_BLOCK, INODE_SIZE, ROOT_INO, SB_MAGIC, SB_SLOTS, S_IFDIR, S_IFMT, S_IFREG,
};
use crate::superblock::{
    bitmap_blocks_for, inode_location, DiskSuperblock, MAX_BITMAP_BLOCKS, MAX_INODE_TABLE_BLOCKS,
};
use crate::{write_block, Device};
use std::collections::HashMap;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

/// One extent of a sparse regular file: `blocks` blocks from file block `file_block`, of
/// `kind` ([`EXTENT_REGULAR`]: the file's data is written there; [`EXTENT_PREALLOC`]:
/// allocated, reads as zeros). What no extent covers below the size is a hole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    /// First file block.
    pub file_block: u64,
    /// Length in blocks.
    pub blocks: u64,
    /// The record's kind.
    pub kind: u32,
}

/// What a node holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// A regular file's bytes.
    File(Vec<u8>),
    /// A regular file's bytes with only `pieces` of it in extents, one each: the rest are
    /// holes (its bytes must be zero there), and a piece of [`EXTENT_PREALLOC`] reads as zeros
    /// (its bytes must be zero too). Pieces are sorted, do not overlap and lie within the size
    /// rounded up to a block.
    Sparse(Vec<u8>, Vec<Piece>),
    /// A regular file of this size with only `pieces` in extents, as [`Content::Sparse`], the
    /// bytes of a regular piece's block given by the function of its file block number: a
    /// file too large to hold in memory (the shrinker test's million extents).
    Generated(u64, Vec<Piece>, Fill),
    /// A directory's entries: names and the nodes they name (a node named twice is a hard
    /// link; a directory may be named once).
    Dir(Vec<(Vec<u8>, usize)>),
    /// A symlink's target.
    Symlink(Vec<u8>),
    /// A FIFO, socket or device node; the device number (`new_encode_dev`), 0 if none.
    Special(u32),
}

/// What block `k` of a [`Content::Generated`] file holds.
#[derive(Clone, Copy)]
pub struct Fill(pub fn(u64) -> [u8; BLOCK_SIZE]);

impl PartialEq for Fill {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::fn_addr_eq(self.0, other.0)
    }
}

impl Eq for Fill {}

impl std::fmt::Debug for Fill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fill")
    }
}

/// One inode to make: its type, permissions, owner, times and what it holds (a node of a
/// [`Tree`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InodeSpec {
    /// Type and permissions (`S_IF*` | 0o7777); the type must match `content`.
    pub mode: u16,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Access, modification, change times.
    pub times: [(i64, u32); 3],
    /// What it holds.
    pub content: Content,
}

/// A tree to put into a new file system: node 0 is the root directory (inode 1), node `i`
/// becomes inode `i + 1`.
pub type Tree = Vec<InodeSpec>;

/// What to make.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Size in blocks.
    pub total_blocks: u64,
    /// Inode-table blocks (16 inodes each); `None`: one per 256 blocks and enough for the
    /// tree, at most 384.
    pub inode_table_blocks: Option<u32>,
    /// File-system id.
    pub uuid: [u8; 16],
    /// Files' data in extents of this many blocks (the last of a file may be shorter).
    pub extent_blocks: u64,
    /// A free block between consecutive extents of a file, so that they cannot merge.
    pub gaps: bool,
}

/// An empty root directory made at `time`.
pub fn empty_tree(time: i64) -> Tree {
    vec![InodeSpec {
        mode: S_IFDIR | 0o755,
        uid: 0,
        gid: 0,
        times: [(time, 0); 3],
        content: Content::Dir(Vec::new()),
    }]
}

/// Writes a file system holding `tree`: both superblock slots (generation 1 in slot 0, slot 1
/// invalidated), the inode table, directory chains, extent chains and data, target blocks, the
/// bitmap.
pub fn mkfs(dev: &mut impl Device, opts: &Options, tree: &Tree) -> Result<DiskSuperblock, String> {
    let (links, parents) = shape(tree)?;
    let total = opts.total_blocks;
    let need = (tree.len() as u64 + 1).div_ceil(INODES_PER_BLOCK as u64);
    let itb = opts.inode_table_blocks.map_or_else(
        || {
            (total / 256)
                .max(need)
                .clamp(1, MAX_INODE_TABLE_BLOCKS as u64)
        },
        u64::from,
    );
    if itb == 0 || itb > MAX_INODE_TABLE_BLOCKS as u64 || itb < need {
        return Err(format!(
            "{} inodes need {need} to {MAX_INODE_TABLE_BLOCKS} inode-table blocks",
            tree.len()
        ));
    }
    let bmb = bitmap_blocks_for(total);
    if bmb as usize > MAX_BITMAP_BLOCKS {
        return Err(format!(
            "{total} blocks is too large (at most {})",
            MAX_BITMAP_BLOCKS as u64 * BITS_PER_BITMAP_BLOCK
        ));
    }
    let meta = 2 + itb + bmb;
    if total < meta + 1 {
        return Err(format!(
            "{total} blocks is too small (at least {})",
            meta + 1
        ));
    }
    let table: Vec<u64> = (2..2 + itb).collect();
    let bitmap: Vec<u64> = (2 + itb..meta).collect();
    let io = |e: io::Error| format!("write failed: {e}");
    let mut w = Writer {
        next: meta,
        total,
        used: Vec::new(),
    };
    let mut inodes = vec![[0u8; BLOCK_SIZE]; itb as usize];
    for (i, node) in tree.iter().enumerate() {
        let ino = i as u32 + 1;
        let mut d = DiskInode {
            mode: node.mode,
            nlink: links[i],
            uid: node.uid,
            gid: node.gid,
            atime: node.times[0],
            mtime: node.times[1],
            ctime: node.times[2],
            generation: 1,
            ino,
            ..DiskInode::FREE
        };
        match &node.content {
            Content::File(data) => w.file(dev, &mut d, data, opts)?,
            Content::Sparse(data, pieces) => w.sparse(dev, &mut d, data, pieces)?,
            Content::Generated(size, pieces, fill) => {
                w.pieces(dev, &mut d, *size, pieces, fill.0)?
            }
            Content::Dir(entries) => {
                d.parent = parents[i];
                w.dir(dev, &mut d, entries, tree)?;
            }
            Content::Symlink(target) => {
                let mut block = [0u8; BLOCK_SIZE];
                if target.len() as u64 > INLINE_TARGET_MAX {
                    encode_target_block(&mut block, target).map_err(|e| e.what().to_string())?;
                    d.first_block = w.write(dev, &block)?;
                }
                d.set_target(target, &block);
            }
            Content::Special(rdev) => d.rdev = *rdev,
        }
        d.validate(ino)
            .map_err(|e| format!("inode {ino}: {}", e.what()))?;
        let (blk, off) = inode_location(&table, ino).ok_or("inode out of range")?;
        d.encode(&mut inodes[(blk - 2) as usize][off..off + INODE_SIZE]);
    }
    for (i, block) in inodes.iter().enumerate() {
        write_block(dev, table[i], block).map_err(io)?;
    }
    let mut block = [0u8; BLOCK_SIZE];
    for (i, &blk) in bitmap.iter().enumerate() {
        block.fill(0);
        let first = i as u64 * BITS_PER_BITMAP_BLOCK;
        for bit in 0..BITS_PER_BITMAP_BLOCK {
            let b = first + bit;
            // Metadata is used; bits past the end stay set so nothing allocates there.
            if b < meta || b >= total {
                bitmap_set(&mut block, bit, true);
            }
        }
        for &u in w
            .used
            .iter()
            .filter(|&&u| u >= first && u < first + BITS_PER_BITMAP_BLOCK)
        {
            bitmap_set(&mut block, u - first, true);
        }
        seal_block(&mut block);
        write_block(dev, blk, &block).map_err(io)?;
    }
    let sb = DiskSuperblock {
        generation: 1,
        total_blocks: total,
        inode_count: (itb as usize * INODES_PER_BLOCK) as u32,
        inode_table_blocks: itb as u32,
        bitmap_blocks: bmb as u32,
        free_blocks: total - meta - w.used.len() as u64,
        uuid: opts.uuid,
        compat: 0,
        ro_compat: 0,
        incompat: 0,
    };
    // Slot 1 is invalidated first, so that a stale superblock from an older file system on the
    // device can never win.
    block.fill(0);
    write_block(dev, SB_SLOTS[1], &block).map_err(io)?;
    sb.encode(&table, &bitmap, &mut block)
        .map_err(|e| e.what().to_string())?;
    write_block(dev, SB_SLOTS[0], &block).map_err(io)?;
    dev.flush().map_err(io)?;
    Ok(sb)
}

/// Checks the tree's shape and returns each node's link count and, for a directory, its
/// parent's inode number: node 0 a directory named by nobody, every other node named at
/// least once, a directory exactly once, names valid and unique in their directory, types
/// matching contents.
fn shape(tree: &Tree) -> Result<(Vec<u32>, Vec<u32>), String> {
    let n = tree.len();
    let mut links = vec![0u32; n];
    let mut parents = vec![0u32; n];
    if !matches!(
        tree.first(),
        Some(InodeSpec {
            content: Content::Dir(_),
            ..
        })
    ) {
        return Err("the root is not a directory".into());
    }
    parents[0] = ROOT_INO;
    for (i, node) in tree.iter().enumerate() {
        let kind = match node.content {
            Content::File(_) | Content::Sparse(..) | Content::Generated(..) => S_IFREG,
            Content::Dir(_) => S_IFDIR,
            Content::Symlink(_) => crate::dinode::S_IFLNK,
            Content::Special(_) => match node.mode & S_IFMT {
                k @ (S_IFIFO | S_IFSOCK | S_IFCHR | S_IFBLK) => k,
                _ => return Err(format!("node {i}: a special file of mode {:o}", node.mode)),
            },
        };
        if node.mode & S_IFMT != kind {
            return Err(format!(
                "node {i}: mode {:o} does not match its content",
                node.mode
            ));
        }
        let Content::Dir(entries) = &node.content else {
            continue;
        };
        let mut names: Vec<&[u8]> = Vec::new();
        for (name, target) in entries {
            if !name_valid(name) {
                return Err(format!("bad name {:?}", String::from_utf8_lossy(name)));
            }
            names.push(name);
            let t = tree.get(*target).filter(|_| *target != 0).ok_or_else(|| {
                format!("{:?} names node {target}", String::from_utf8_lossy(name))
            })?;
            links[*target] += 1;
            if let Content::Dir(_) = t.content {
                if links[*target] > 1 {
                    return Err(format!("directory node {target} is named twice"));
                }
                parents[*target] = i as u32 + 1;
            }
        }
        if !crate::names::names_unique(&mut names) {
            return Err(format!("node {i}: a name is used twice"));
        }
    }
    // Every node reachable from the root (so no directory cycle either).
    let mut reached = vec![false; n];
    let mut todo = vec![0];
    reached[0] = true;
    while let Some(i) = todo.pop() {
        if let Content::Dir(entries) = &tree[i].content {
            for &(_, t) in entries {
                if !reached[t] {
                    reached[t] = true;
                    todo.push(t);
                }
            }
        }
    }
    if let Some(i) = (1..n).find(|&i| !reached[i]) {
        return Err(format!("node {i} cannot be reached from the root"));
    }
    // A directory's count: 2, plus one for each subdirectory (its `..`).
    for (i, node) in tree.iter().enumerate() {
        if let Content::Dir(_) = node.content {
            links[i] = 2;
        }
    }
    for (i, node) in tree.iter().enumerate().skip(1) {
        if let Content::Dir(_) = node.content {
            links[parents[i] as usize - 1] += 1;
        }
    }
    if let Some(i) = (0..n).find(|&i| links[i] > MAX_LINKS) {
        return Err(format!("node {i} has more than {MAX_LINKS} links"));
    }
    Ok((links, parents))
}

/// Hands out blocks from the first after the metadata, in order, and writes them.
struct Writer {
    next: u64,
    total: u64,
    used: Vec<u64>,
}

impl Writer {
    fn alloc(&mut self, n: u64) -> Result<u64, String> {
        let first = self.next;
        if first + n > self.total {
            return Err("no space left".into());
        }
        self.next += n;
        self.used.extend(first..first + n);
        Ok(first)
    }

    /// Leaves the next block free.
    fn skip(&mut self) -> Result<(), String> {
        if self.next >= self.total {
            return Err("no space left".into());
        }
        self.next += 1;
        Ok(())
    }

    fn write(&mut self, dev: &mut impl Device, b: &[u8; BLOCK_SIZE]) -> Result<u64, String> {
        let blk = self.alloc(1)?;
        write_block(dev, blk, b).map_err(|e| format!("write failed: {e}"))?;
        Ok(blk)
    }

    /// A regular file's data in extents of `opts.extent_blocks` blocks, contiguous (or one
    /// free block apart with `opts.gaps`), and its chain.
    fn file(
        &mut self,
        dev: &mut impl Device,
        d: &mut DiskInode,
        data: &[u8],
        opts: &Options,
    ) -> Result<(), String> {
        let bs = BLOCK_SIZE as u64;
        let blocks = (data.len() as u64).div_ceil(bs);
        let extent_blocks = opts.extent_blocks.max(1);
        let mut records = Vec::new();
        let mut block = [0u8; BLOCK_SIZE];
        for first_block in (0..blocks).step_by(extent_blocks as usize) {
            let len = extent_blocks.min(blocks - first_block);
            if opts.gaps && first_block > 0 {
                self.skip()?;
            }
            let disk = self.next;
            for k in first_block..first_block + len {
                block.fill(0);
                let off = (k * bs) as usize;
                let end = (off + BLOCK_SIZE).min(data.len());
                block[..end - off].copy_from_slice(&data[off..end]);
                self.write(dev, &block)?;
            }
            records.push(ExtentRecord::whole(
                first_block * bs,
                len * bs,
                disk * bs,
                1,
                EXTENT_REGULAR,
            ));
        }
        let parts: Vec<&[ExtentRecord]> = records.chunks(EXTENTS_PER_BLOCK).collect();
        d.first_block = self.chain(dev, d.ino, &parts, encode_extent_block)?;
        d.size = data.len() as u64;
        d.count = records.len() as u32;
        Ok(())
    }

    /// A regular file of which only `pieces` are in extents (see [`Content::Sparse`]).
    fn sparse(
        &mut self,
        dev: &mut impl Device,
        d: &mut DiskInode,
        data: &[u8],
        pieces: &[Piece],
    ) -> Result<(), String> {
        let bs = BLOCK_SIZE as u64;
        // What is not in a regular extent reads as zeros: the bytes must say so.
        let mapped = |i: usize| {
            let blk = i as u64 / bs;
            pieces.iter().any(|p| {
                p.kind == EXTENT_REGULAR && (p.file_block..p.file_block + p.blocks).contains(&blk)
            })
        };
        if let Some(i) = (0..data.len()).find(|&i| data[i] != 0 && !mapped(i)) {
            return Err(format!(
                "inode {}: byte {i} is in a hole but not zero",
                d.ino
            ));
        }
        let fill = |k: u64| {
            let mut block = [0u8; BLOCK_SIZE];
            let off = (k * bs) as usize;
            let stop = (off + BLOCK_SIZE).min(data.len());
            block[..stop - off].copy_from_slice(&data[off..stop]);
            block
        };
        self.pieces(dev, d, data.len() as u64, pieces, fill)
    }

    /// A regular file of `size` bytes of which only `pieces` are in extents, block `k` of a
    /// regular one holding `fill(k)`; and its chain.
    fn pieces(
        &mut self,
        dev: &mut impl Device,
        d: &mut DiskInode,
        size: u64,
        pieces: &[Piece],
        fill: impl Fn(u64) -> [u8; BLOCK_SIZE],
    ) -> Result<(), String> {
        let bs = BLOCK_SIZE as u64;
        let mut records = Vec::with_capacity(pieces.len());
        let mut end = 0;
        for p in pieces {
            let bad = p.blocks == 0
                || p.file_block < end
                || (p.file_block + p.blocks) * bs > size.div_ceil(bs) * bs
                || !matches!(p.kind, EXTENT_REGULAR | EXTENT_PREALLOC);
            if bad {
                return Err(format!("inode {}: bad piece {p:?}", d.ino));
            }
            end = p.file_block + p.blocks;
            let disk = self.next;
            for k in p.file_block..end {
                let block = if p.kind == EXTENT_REGULAR {
                    fill(k)
                } else {
                    [0u8; BLOCK_SIZE]
                };
                self.write(dev, &block)?;
            }
            records.push(ExtentRecord::whole(
                p.file_block * bs,
                p.blocks * bs,
                disk * bs,
                1,
                p.kind,
            ));
        }
        let parts: Vec<&[ExtentRecord]> = records.chunks(EXTENTS_PER_BLOCK).collect();
        d.first_block = self.chain(dev, d.ino, &parts, encode_extent_block)?;
        d.size = size;
        d.count = records.len() as u32;
        Ok(())
    }

    /// A directory's chain: its entries with cookies from 2 in their order, packed.
    fn dir(
        &mut self,
        dev: &mut impl Device,
        d: &mut DiskInode,
        entries: &[(Vec<u8>, usize)],
        tree: &Tree,
    ) -> Result<(), String> {
        let all: Vec<DirEntry<'_>> = entries
            .iter()
            .enumerate()
            .map(|(k, (name, target))| DirEntry {
                cookie: FIRST_COOKIE + k as u64,
                ino: *target as u32 + 1,
                dtype: (tree[*target].mode >> 12) as u8,
                name,
            })
            .collect();
        let mut parts = Vec::new();
        let mut rest = &all[..];
        while !rest.is_empty() {
            let (part, more) = rest.split_at(entries_fitting(rest));
            parts.push(part);
            rest = more;
        }
        d.first_block = self.chain(dev, d.ino, &parts, encode_dir_block)?;
        d.size = entries.iter().map(|(name, _)| name.len() as u64).sum();
        d.count = entries.len() as u32;
        d.next_cookie = FIRST_COOKIE + entries.len() as u64;
        Ok(())
    }

    /// Writes `parts` as inode `ino`'s chain of blocks, one part each, in consecutive blocks;
    /// returns the first, 0 if there is no part.
    fn chain<T>(
        &mut self,
        dev: &mut impl Device,
        ino: u32,
        parts: &[&[T]],
        encode: impl Fn(&mut [u8; BLOCK_SIZE], &ChainHeader, &[T]) -> Result<(), FormatError>,
    ) -> Result<u64, String> {
        let first = self.next;
        let mut block = [0u8; BLOCK_SIZE];
        for (c, part) in parts.iter().enumerate() {
            let h = ChainHeader {
                count: part.len() as u32,
                ino,
                next: if c + 1 < parts.len() {
                    first + c as u64 + 1
                } else {
                    0
                },
                generation: 1,
            };
            encode(&mut block, &h, part).map_err(|e| e.what().to_string())?;
            self.write(dev, &block)?;
        }
        Ok(if parts.is_empty() { 0 } else { first })
    }
}

/// The kernel's `new_encode_dev` of a host `st_rdev` (glibc's encoding of major and minor),
/// if it can hold it: a major of at most 4095, a minor below 2^20.
pub fn new_encode_dev(rdev: u64) -> Option<u32> {
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
    let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
    if major > 0xfff || minor > 0xf_ffff {
        return None;
    }
    Some(((minor & 0xff) | (major << 8) | ((minor & !0xff) << 12)) as u32)
}

/// The tree under host directory `root`: every directory, regular file, symlink, FIFO, socket
/// and device node, with its mode, owner and times; files with several links under `root`
/// become one inode with as many entries. Entries keep the order of their names.
pub fn read_tree(root: &Path) -> io::Result<Tree> {
    let mut tree = Vec::new();
    let mut seen = HashMap::new();
    add(root, &mut tree, &mut seen)?;
    Ok(tree)
}

fn add(path: &Path, tree: &mut Tree, seen: &mut HashMap<(u64, u64), usize>) -> io::Result<usize> {
    let meta = std::fs::symlink_metadata(path)?;
    let ft = meta.file_type();
    if !ft.is_dir() && meta.nlink() > 1 {
        if let Some(&i) = seen.get(&(meta.dev(), meta.ino())) {
            return Ok(i);
        }
    }
    let i = tree.len();
    let time = |s: i64, ns: i64| (s, ns as u32);
    tree.push(InodeSpec {
        mode: meta.mode() as u16,
        uid: meta.uid(),
        gid: meta.gid(),
        times: [
            time(meta.atime(), meta.atime_nsec()),
            time(meta.mtime(), meta.mtime_nsec()),
            time(meta.ctime(), meta.ctime_nsec()),
        ],
        content: Content::Special(0),
    });
    if !ft.is_dir() && meta.nlink() > 1 {
        seen.insert((meta.dev(), meta.ino()), i);
    }
    let content = if ft.is_dir() {
        let mut names: Vec<_> = std::fs::read_dir(path)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<io::Result<_>>()?;
        names.sort();
        let mut entries = Vec::new();
        for name in names {
            let child = add(&path.join(&name), tree, seen)?;
            entries.push((name.as_bytes().to_vec(), child));
        }
        Content::Dir(entries)
    } else if ft.is_file() {
        Content::File(std::fs::read(path)?)
    } else if ft.is_symlink() {
        let target = std::fs::read_link(path)?.as_os_str().as_bytes().to_vec();
        if target.is_empty() || target.len() as u64 > SYMLINK_MAX {
            return Err(io::Error::other(format!(
                "{}: target too long",
                path.display()
            )));
        }
        Content::Symlink(target)
    } else if ft.is_char_device() || ft.is_block_device() {
        Content::Special(new_encode_dev(meta.rdev()).ok_or_else(|| {
            io::Error::other(format!(
                "{}: a device number emfs cannot hold",
                path.display()
            ))
        })?)
    } else {
        Content::Special(0)
    };
    tree[i].content = content;
    Ok(i)
}

/// The superblock of a file system of format version 1 (one flat directory), which the mount
/// and `fsck.emfs` refuse with [`crate::superblock::V1_REFUSED`]: what they read before
/// refusing it (magic, version 1, block size, generation, size, the checksum of a metadata
/// block), the rest zeros.
pub fn version_1_superblock(generation: u64, total_blocks: u64) -> [u8; BLOCK_SIZE] {
    let mut b = [0u8; BLOCK_SIZE];
    b[..8].copy_from_slice(&SB_MAGIC.to_le_bytes());
    b[8..12].copy_from_slice(&1u32.to_le_bytes());
    b[12..16].copy_from_slice(&(BLOCK_SIZE as u32).to_le_bytes());
    b[16..24].copy_from_slice(&generation.to_le_bytes());
    b[24..32].copy_from_slice(&total_blocks.to_le_bytes());
    seal_block(&mut b);
    b
}

/// Makes `dev` a file system of format version 1 as far as the mount and `fsck.emfs` read one
/// before refusing it: [`version_1_superblock`] (generation 1) in slot 0, slot 1 zeroed first
/// so that no older superblock wins. For the tests of that refusal.
pub fn write_version_1(dev: &mut impl Device, total_blocks: u64) -> Result<(), String> {
    if total_blocks < SB_SLOTS.len() as u64 {
        return Err(format!("{total_blocks} blocks is too small"));
    }
    let io = |e: io::Error| format!("write failed: {e}");
    write_block(dev, SB_SLOTS[1], &[0u8; BLOCK_SIZE]).map_err(io)?;
    write_block(dev, SB_SLOTS[0], &version_1_superblock(1, total_blocks)).map_err(io)?;
    dev.flush().map_err(io)
}
