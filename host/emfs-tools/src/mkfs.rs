// SPDX-License-Identifier: GPL-2.0

//! Making an empty emfs.

use crate::format::*;
use crate::{read_block, write_block, Device};

/// What to make.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Size in blocks.
    pub total_blocks: u64,
    /// Inode-table blocks (16 inodes each); `None` picks one per 256 blocks, 1 to 64.
    pub inode_table_blocks: Option<u32>,
    /// File-system id.
    pub uuid: [u8; 16],
    /// Creation time of the root directory (seconds since the epoch).
    pub time: i64,
}

/// Writes an empty file system: both superblock slots (generation 1 in slot 0, slot 1
/// invalidated), the inode table with the root directory, the bitmap.
pub fn mkfs(dev: &mut impl Device, opts: &Options) -> Result<Superblock, String> {
    let total = opts.total_blocks;
    let itb = opts
        .inode_table_blocks
        .unwrap_or_else(|| (total / 256).clamp(1, MAX_INODE_TABLE_BLOCKS as u64) as u32);
    if itb == 0 || itb as usize > MAX_INODE_TABLE_BLOCKS {
        return Err(format!(
            "inode table blocks must be 1 to {MAX_INODE_TABLE_BLOCKS}"
        ));
    }
    let bmb = bitmap_blocks_for(total);
    if bmb as usize > MAX_BITMAP_BLOCKS {
        return Err(format!(
            "{total} blocks is too large (at most {} blocks)",
            MAX_BITMAP_BLOCKS as u64 * BITS_PER_BITMAP_BLOCK
        ));
    }
    let meta = 2 + itb as u64 + bmb;
    if total < meta + 1 {
        return Err(format!(
            "{total} blocks is too small (at least {})",
            meta + 1
        ));
    }

    let mut sb = Superblock {
        generation: 1,
        total_blocks: total,
        inode_count: itb * INODES_PER_BLOCK as u32,
        inode_table_blocks: itb,
        bitmap_blocks: bmb as u32,
        free_blocks: total - meta,
        uuid: opts.uuid,
        inode_table: [0; MAX_INODE_TABLE_BLOCKS],
        bitmap: [0; MAX_BITMAP_BLOCKS],
    };
    for i in 0..itb as usize {
        sb.inode_table[i] = 2 + i as u64;
    }
    for i in 0..bmb as usize {
        sb.bitmap[i] = 2 + itb as u64 + i as u64;
    }

    let io = |e: std::io::Error| format!("write failed: {e}");
    let mut block = [0u8; BLOCK_SIZE];
    for i in 0..itb as usize {
        block.fill(0);
        if i == 0 {
            let root = Inode {
                mode: S_IFDIR | 0o755,
                nlink: 2,
                atime: (opts.time, 0),
                mtime: (opts.time, 0),
                ctime: (opts.time, 0),
                generation: 1,
                ino: ROOT_INO,
                ..Inode::FREE
            };
            let off = ROOT_INO as usize * INODE_SIZE;
            root.encode(&mut block[off..off + INODE_SIZE]);
        }
        write_block(dev, sb.inode_table[i], &block).map_err(io)?;
    }
    for i in 0..bmb {
        block.fill(0);
        let first = i * BITS_PER_BITMAP_BLOCK;
        for bit in 0..BITS_PER_BITMAP_BLOCK {
            let blk = first + bit;
            if blk < meta || blk >= total {
                // Metadata is used; bits past the end stay set so nothing allocates there.
                bitmap_set(&mut block, bit, true);
            }
        }
        seal_block(&mut block);
        write_block(dev, sb.bitmap[i as usize], &block).map_err(io)?;
    }
    // Slot 1 is invalidated first, so that a stale superblock from an older file system on
    // the device can never win.
    block.fill(0);
    write_block(dev, SB_SLOTS[1], &block).map_err(io)?;
    sb.encode(&mut block);
    write_block(dev, SB_SLOTS[0], &block).map_err(io)?;
    dev.flush().map_err(io)?;
    Ok(sb)
}

/// A file to put into a new file system.
pub struct NewFile {
    /// Its name.
    pub name: Vec<u8>,
    /// Its contents.
    pub data: Vec<u8>,
    /// Its modification time (seconds since the epoch), also used as access and change time.
    pub mtime: i64,
}

/// One extent of a file being added: `blocks` blocks from file block `file_block`, of `kind`
/// ([`EXTENT_REGULAR`]: the file's data is written there; [`EXTENT_PREALLOC`]: allocated,
/// reads as zeros). What no extent covers below the size is a hole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    /// First file block.
    pub file_block: u64,
    /// Length in blocks.
    pub blocks: u64,
    /// The record's kind.
    pub kind: u32,
}

/// Adds `files` to a file system `mkfs` just made. Each file's data is written in extents of
/// `extent_blocks` blocks (the last may be shorter); consecutive extents are contiguous on disk
/// when `contiguous`, so that the kernel's maps can merge, and one block apart otherwise.
pub fn populate(
    dev: &mut impl Device,
    sb: &mut Superblock,
    files: &[NewFile],
    extent_blocks: u64,
    contiguous: bool,
) -> Result<(), String> {
    let n = extent_blocks.max(1);
    let shaped: Vec<(&NewFile, Vec<Piece>)> = files
        .iter()
        .map(|f| {
            let blocks = (f.data.len() as u64).div_ceil(BLOCK_SIZE as u64);
            let pieces = (0..blocks)
                .step_by(n as usize)
                .map(|b| Piece {
                    file_block: b,
                    blocks: n.min(blocks - b),
                    kind: EXTENT_REGULAR,
                })
                .collect();
            (f, pieces)
        })
        .collect();
    populate_pieces(dev, sb, &shaped, contiguous)
}

/// [`populate`] with each file's extents given: `pieces`, sorted by file block and not
/// overlapping; a file's size is its data's length.
pub fn populate_pieces(
    dev: &mut impl Device,
    sb: &mut Superblock,
    files: &[(&NewFile, Vec<Piece>)],
    contiguous: bool,
) -> Result<(), String> {
    let io = |e: std::io::Error| format!("I/O error: {e}");
    let bs = BLOCK_SIZE as u64;
    let mut alloc = Allocator::new(sb);
    if files.len() + 2 > sb.inode_count as usize {
        return Err(format!(
            "{} files do not fit in {} inodes",
            files.len(),
            sb.inode_count
        ));
    }
    for (i, (f, pieces)) in files.iter().enumerate() {
        let ino = i as u32 + 2;
        let mut records = Vec::new();
        for (k, p) in pieces.iter().enumerate() {
            if !contiguous && k > 0 {
                // A gap block, left free.
                alloc.skip(1)?;
            }
            let first = alloc.alloc(p.blocks)?;
            let mut block = [0u8; BLOCK_SIZE];
            for k in 0..p.blocks {
                block.fill(0);
                let off = ((p.file_block + k) * bs) as usize;
                if p.kind == EXTENT_REGULAR && off < f.data.len() {
                    let end = (off + BLOCK_SIZE).min(f.data.len());
                    block[..end - off].copy_from_slice(&f.data[off..end]);
                }
                write_block(dev, first + k, &block).map_err(io)?;
            }
            records.push(ExtentRecord::whole(
                p.file_block * bs,
                p.blocks * bs,
                first * bs,
                1,
                p.kind,
            ));
        }
        let inode = FileInode {
            ino,
            name: &f.name,
            size: f.data.len() as u64,
            mtime: f.mtime,
        };
        write_file(dev, sb, &mut alloc, &inode, &records)?;
    }
    alloc.finish(dev, sb)
}

/// Hands out blocks of a new file system from the first block after its metadata, in order,
/// and records them for [`Allocator::finish`].
pub struct Allocator {
    next_free: u64,
    total: u64,
    used: Vec<u64>,
}

impl Allocator {
    /// For a file system `mkfs` just made.
    pub fn new(sb: &Superblock) -> Self {
        Self {
            next_free: 2 + sb.inode_table_blocks as u64 + sb.bitmap_blocks as u64,
            total: sb.total_blocks,
            used: Vec::new(),
        }
    }

    /// `n` contiguous blocks; returns the first.
    pub fn alloc(&mut self, n: u64) -> Result<u64, String> {
        let first = self.skip(n)?;
        self.used.extend(first..first + n);
        Ok(first)
    }

    /// Leaves `n` blocks free; returns the first.
    pub fn skip(&mut self, n: u64) -> Result<u64, String> {
        let first = self.next_free;
        if first + n > self.total {
            return Err("no space left".into());
        }
        self.next_free += n;
        Ok(first)
    }

    /// Marks what was handed out in the bitmap, seals it, and writes the superblock.
    pub fn finish(self, dev: &mut impl Device, sb: &mut Superblock) -> Result<(), String> {
        let io = |e: std::io::Error| format!("I/O error: {e}");
        for i in 0..sb.bitmap_blocks as usize {
            let mut block = read_block(dev, sb.bitmap[i]).map_err(io)?;
            let first = i as u64 * BITS_PER_BITMAP_BLOCK;
            for &u in self
                .used
                .iter()
                .filter(|&&u| u >= first && u < first + BITS_PER_BITMAP_BLOCK)
            {
                bitmap_set(&mut block, u - first, true);
            }
            seal_block(&mut block);
            write_block(dev, sb.bitmap[i], &block).map_err(io)?;
        }
        sb.free_blocks -= self.used.len() as u64;
        let mut block = [0u8; BLOCK_SIZE];
        sb.encode(&mut block);
        write_block(dev, SB_SLOTS[0], &block).map_err(io)?;
        dev.flush().map_err(io)?;
        Ok(())
    }
}

/// A regular file's inode fields, for [`write_file`].
#[derive(Clone, Copy)]
pub struct FileInode<'a> {
    /// Inode number.
    pub ino: u32,
    /// Name.
    pub name: &'a [u8],
    /// Size in bytes.
    pub size: u64,
    /// Modification time, also used as access and change time.
    pub mtime: i64,
}

/// Writes regular file `f`: its extent chain (blocks from `alloc`) and its inode. `records` are
/// sorted and describe data already written.
pub fn write_file(
    dev: &mut impl Device,
    sb: &Superblock,
    alloc: &mut Allocator,
    f: &FileInode<'_>,
    records: &[ExtentRecord],
) -> Result<(), String> {
    let FileInode {
        ino,
        name,
        size,
        mtime,
    } = *f;
    let io = |e: std::io::Error| format!("I/O error: {e}");
    if name.is_empty() || name.len() > NAME_MAX || name.contains(&b'/') || name.contains(&0) {
        return Err(format!("bad file name {:?}", String::from_utf8_lossy(name)));
    }
    let mut chain = Vec::new();
    for _ in 0..records.len().div_ceil(EXTENTS_PER_BLOCK) {
        chain.push(alloc.alloc(1)?);
    }
    for (c, part) in records.chunks(EXTENTS_PER_BLOCK).enumerate() {
        let h = ExtentBlockHeader {
            count: part.len() as u32,
            ino,
            next: chain.get(c + 1).copied().unwrap_or(0),
            generation: 1,
        };
        let mut block = [0u8; BLOCK_SIZE];
        encode_extent_block(&mut block, &h, part).map_err(|e| format!("{e:?}"))?;
        write_block(dev, chain[c], &block).map_err(io)?;
    }
    let mut name_bytes = [0u8; NAME_MAX];
    name_bytes[..name.len()].copy_from_slice(name);
    let inode = Inode {
        mode: S_IFREG | 0o644,
        nlink: 1,
        size,
        atime: (mtime, 0),
        mtime: (mtime, 0),
        ctime: (mtime, 0),
        generation: 1,
        extent_block: chain.first().copied().unwrap_or(0),
        extent_count: records.len() as u32,
        ino,
        name_len: name.len() as u16,
        name: name_bytes,
        ..Inode::FREE
    };
    let (blk, off) = sb.inode_location(ino).ok_or("inode out of range")?;
    let mut block = read_block(dev, blk).map_err(io)?;
    inode.encode(&mut block[off..off + INODE_SIZE]);
    write_block(dev, blk, &block).map_err(io)?;
    Ok(())
}
