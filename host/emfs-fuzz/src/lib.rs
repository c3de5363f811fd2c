// SPDX-License-Identifier: GPL-2.0

//! Structure-aware fuzzing of emfs images.
//!
//! [`base_image`] makes a small file system holding files of several shapes (empty, one
//! extent, many extents over two extent blocks, holes, preallocated extents) with both
//! superblock slots valid. [`image`] applies 1 to [`MAX_MUTATIONS`] mutations to its metadata
//! *fields* (the superblock slots', the inodes', the extent blocks' headers and records, the
//! bitmap's bits), chosen from seed `S` and index `K`, and re-seals every checksum it broke, so
//! that the damage gets past CRC32C and reaches the code that parses it. Image `K` of seed `S`
//! is always the same image.

pub mod holes;
pub mod v2;

use emfs_tools::format::*;
use emfs_tools::mkfs::{mkfs, populate_pieces, NewFile, Options, Piece};
use std::io::Cursor;

/// Blocks of the base image (1 MiB).
pub const BASE_BLOCKS: u64 = 256;
/// Most mutations applied to one image.
pub const MAX_MUTATIONS: usize = 4;

/// A field: its name, its offset in its structure, its width in bytes.
type Field = (&'static str, usize, usize);

const SB_FIELDS: &[Field] = &[
    ("magic", 0, 8),
    ("version", 8, 4),
    ("block_size", 12, 4),
    ("generation", 16, 8),
    ("total_blocks", 24, 8),
    ("inode_count", 32, 4),
    ("inode_table_blocks", 36, 4),
    ("bitmap_blocks", 40, 4),
    ("free_blocks", 48, 8),
    ("inode_table[0]", 72, 8),
    ("inode_table[1]", 80, 8),
    ("bitmap[0]", 72 + 8 * MAX_INODE_TABLE_BLOCKS, 8),
    ("bitmap[1]", 80 + 8 * MAX_INODE_TABLE_BLOCKS, 8),
];

const INODE_FIELDS: &[Field] = &[
    ("mode", 0, 2),
    ("name_len", 2, 2),
    ("nlink", 4, 4),
    ("size", 8, 8),
    ("uid", 16, 4),
    ("gid", 20, 4),
    ("atime", 24, 8),
    ("mtime", 32, 8),
    ("ctime", 40, 8),
    ("atime_nsec", 48, 4),
    ("generation", 64, 8),
    ("extent_block", 72, 8),
    ("extent_count", 80, 4),
    ("ino", 84, 4),
    ("name[0]", 88, 1),
];

const HEADER_FIELDS: &[Field] = &[
    ("magic", 0, 4),
    ("count", 4, 4),
    ("ino", 8, 4),
    ("next", 16, 8),
    ("generation", 24, 8),
];

const RECORD_FIELDS: &[Field] = &[
    ("file_offset", 0, 8),
    ("len", 8, 8),
    ("disk_bytenr", 16, 8),
    ("disk_num_bytes", 24, 8),
    ("offset", 32, 8),
    ("ram_bytes", 40, 8),
    ("generation", 48, 8),
    ("kind", 56, 4),
];

/// Where a structure lives in the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// Superblock slot `0` or `1`.
    Superblock(u64),
    /// Inode `ino` at byte `off` of block `blk`.
    Inode { ino: u32, blk: u64, off: usize },
    /// The header of the extent block (or, version 2, directory block) `blk`.
    Header(u64),
    /// Record `i` of the extent block `blk`.
    Record(u64, usize),
    /// A bitmap block.
    Bitmap(u64),
    /// Version 2: the directory entry at byte `off` of directory block `blk`.
    Entry(u64, usize),
    /// Version 2: the target block `blk` of the symlink whose inode is at byte `off` of block
    /// `inode_blk` (its checksum lives there).
    Target {
        blk: u64,
        inode_blk: u64,
        off: usize,
    },
}

impl Place {
    fn block(self) -> u64 {
        match self {
            Place::Superblock(b) | Place::Header(b) | Place::Record(b, _) | Place::Bitmap(b) => b,
            Place::Entry(b, _) | Place::Target { blk: b, .. } => b,
            Place::Inode { blk, .. } => blk,
        }
    }

    fn base(self) -> usize {
        match self {
            Place::Inode { off, .. } | Place::Entry(_, off) => off,
            Place::Record(_, i) => EXTENT_HEADER_SIZE + i * EXTENT_RECORD_SIZE,
            _ => 0,
        }
    }

    fn fields(self, version: u32) -> &'static [Field] {
        match (self, version) {
            (Place::Superblock(_), 2) => v2::SB_FIELDS,
            (Place::Inode { .. }, 2) => v2::INODE_FIELDS,
            (Place::Superblock(_), _) => SB_FIELDS,
            (Place::Inode { .. }, _) => INODE_FIELDS,
            (Place::Header(_), _) => HEADER_FIELDS,
            (Place::Record(..), _) => RECORD_FIELDS,
            (Place::Entry(..), _) => v2::ENTRY_FIELDS,
            (Place::Target { .. }, _) => v2::TARGET_FIELDS,
            (Place::Bitmap(_), _) => &[],
        }
    }

    /// The kinds a mutation chooses between first: both formats share the first five.
    fn kind(self) -> u8 {
        match self {
            Place::Superblock(_) => 0,
            Place::Inode { .. } => 1,
            Place::Header(_) => 2,
            Place::Record(..) | Place::Entry(..) => 3,
            Place::Bitmap(_) => 4,
            Place::Target { .. } => 5,
        }
    }
}

/// An image in memory.
#[derive(Clone)]
pub struct Image {
    /// The bytes.
    pub bytes: Vec<u8>,
    places: Vec<Place>,
    /// Its format version (1 or 2).
    pub version: u32,
}

fn block_of(bytes: &mut [u8], blk: u64) -> &mut [u8] {
    let off = blk as usize * BLOCK_SIZE;
    &mut bytes[off..off + BLOCK_SIZE]
}

fn get(b: &[u8], off: usize, width: usize) -> u64 {
    let mut v = [0u8; 8];
    v[..width].copy_from_slice(&b[off..off + width]);
    u64::from_le_bytes(v)
}

fn put(b: &mut [u8], off: usize, width: usize, v: u64) {
    b[off..off + width].copy_from_slice(&v.to_le_bytes()[..width]);
}

fn seal(bytes: &mut [u8], place: Place) {
    if let Place::Target {
        blk,
        inode_blk,
        off,
    } = place
    {
        // The target block's checksum is in its inode's inline area, which is sealed in turn.
        let csum = crc32c(block_of(bytes, blk));
        block_of(bytes, inode_blk)[off + v2::TARGET_CSUM..][..4]
            .copy_from_slice(&csum.to_le_bytes());
        seal(
            bytes,
            Place::Inode {
                ino: 0,
                blk: inode_blk,
                off,
            },
        );
        return;
    }
    let block = block_of(bytes, place.block());
    match place {
        Place::Inode { off, .. } => {
            let slot = &mut block[off..off + INODE_SIZE];
            let csum = crc32c(&slot[..INODE_SIZE - 4]);
            slot[INODE_SIZE - 4..].copy_from_slice(&csum.to_le_bytes());
        }
        _ => {
            let csum = crc32c(&block[..CSUM_OFFSET]);
            block[CSUM_OFFSET..].copy_from_slice(&csum.to_le_bytes());
        }
    }
}

/// The file data of the base image: a pattern that differs per file and block.
fn data(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 12) as u8)
        .collect()
}

fn file(name: &str, len: usize, seed: u8) -> NewFile {
    NewFile {
        name: name.as_bytes().to_vec(),
        data: data(seed, len),
        mtime: 1_700_000_000,
    }
}

fn piece(file_block: u64, blocks: u64, kind: u32) -> Piece {
    Piece {
        file_block,
        blocks,
        kind,
    }
}

/// The image every fuzzed image starts from: `fsck.emfs` finds it clean.
pub fn base_image() -> Result<Image, String> {
    let bs = BLOCK_SIZE;
    let mut dev = Cursor::new(vec![0u8; BASE_BLOCKS as usize * bs]);
    let opts = Options {
        total_blocks: BASE_BLOCKS,
        inode_table_blocks: Some(1),
        uuid: *b"emfs-fuzz-base!!",
        time: 1_700_000_000,
    };
    let mut sb = mkfs(&mut dev, &opts)?;
    let empty = file("empty", 0, 1);
    let small = file("small", 5000, 2);
    let many = file("many", 80 * bs, 3);
    let holes = file("holes", 40 * bs + 100, 4);
    let prealloc = file("prealloc", 16 * bs, 5);
    let files = [
        (&empty, vec![]),
        (&small, vec![piece(0, 2, EXTENT_REGULAR)]),
        (
            &many,
            (0..80).map(|b| piece(b, 1, EXTENT_REGULAR)).collect(),
        ),
        (
            &holes,
            vec![
                piece(0, 2, EXTENT_REGULAR),
                piece(10, 3, EXTENT_REGULAR),
                piece(30, 1, EXTENT_REGULAR),
            ],
        ),
        (
            &prealloc,
            vec![
                piece(0, 4, EXTENT_REGULAR),
                piece(4, 8, EXTENT_PREALLOC),
                piece(12, 4, EXTENT_REGULAR),
            ],
        ),
    ];
    populate_pieces(&mut dev, &mut sb, &files, false)?;
    let mut bytes = dev.into_inner();
    // Slot 1: the same superblock one generation older, valid, so that both slots matter.
    let slot0 = block_of(&mut bytes, SB_SLOTS[0]).to_vec();
    let slot1 = block_of(&mut bytes, SB_SLOTS[1]);
    slot1.copy_from_slice(&slot0);
    put(slot1, 16, 8, sb.generation - 1);
    seal(&mut bytes, Place::Superblock(SB_SLOTS[1]));
    let places = places_of(&bytes, &sb);
    Ok(Image {
        bytes,
        places,
        version: 1,
    })
}

/// Every structure of the image, found from its superblock.
fn places_of(bytes: &[u8], sb: &Superblock) -> Vec<Place> {
    let mut places: Vec<Place> = SB_SLOTS.iter().map(|&s| Place::Superblock(s)).collect();
    let block = |blk: u64| -> [u8; BLOCK_SIZE] {
        let off = blk as usize * BLOCK_SIZE;
        bytes[off..off + BLOCK_SIZE]
            .try_into()
            .unwrap_or([0; BLOCK_SIZE])
    };
    for ino in 1..sb.inode_count {
        let Some((blk, off)) = sb.inode_location(ino) else {
            continue;
        };
        let b = block(blk);
        let Ok(inode) = Inode::decode(&b[off..off + INODE_SIZE]) else {
            continue;
        };
        if inode.mode == 0 {
            continue;
        }
        places.push(Place::Inode { ino, blk, off });
        let mut next = inode.extent_block;
        while next != 0 && next < sb.total_blocks {
            let Ok(h) = decode_extent_header(&block(next)) else {
                break;
            };
            places.push(Place::Header(next));
            places.extend((0..h.count as usize).map(|i| Place::Record(next, i)));
            next = h.next;
        }
    }
    places.extend(
        sb.bitmap[..sb.bitmap_blocks as usize]
            .iter()
            .map(|&b| Place::Bitmap(b)),
    );
    places
}

/// Image `index` of seed `seed`: the base image with 1 to [`MAX_MUTATIONS`] mutations, every
/// checksum re-sealed. Returns the image and a description of each mutation.
pub fn image(seed: u64, index: u64) -> Result<(Image, Vec<String>), String> {
    mutated(base_image()?, seed, index)
}

/// Image `index` of seed `seed` of format `version`: [`image`], or for version 2 the same
/// mutations of [`v2::base_image`].
pub fn image_of(version: u32, seed: u64, index: u64) -> Result<(Image, Vec<String>), String> {
    match version {
        1 => image(seed, index),
        2 => {
            // Made once per process: a run or a test goes through thousands of images.
            static BASE: std::sync::OnceLock<Result<Image, String>> = std::sync::OnceLock::new();
            let base = BASE.get_or_init(v2::base_image).clone()?;
            mutated(base, seed, index)
        }
        v => Err(format!("no format version {v}")),
    }
}

fn mutated(mut img: Image, seed: u64, index: u64) -> Result<(Image, Vec<String>), String> {
    let mut rng = fastrand::Rng::with_seed(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ index);
    let n = rng.usize(1..=MAX_MUTATIONS);
    let mut done = Vec::new();
    for _ in 0..n {
        done.push(mutate(&mut img, &mut rng));
    }
    Ok((img, done))
}

/// The image's size in blocks (its file system's).
fn img_blocks(img: &Image) -> u64 {
    (img.bytes.len() / BLOCK_SIZE) as u64
}

/// Whether two places hold the same structure (a record and a directory entry share a kind).
fn same_shape(a: Place, b: Place) -> bool {
    core::mem::discriminant(&a) == core::mem::discriminant(&b)
}

fn max_of(width: usize) -> u64 {
    if width == 8 {
        u64::MAX
    } else {
        (1u64 << (8 * width)) - 1
    }
}

/// One mutation: a field set to a bit flip, an interesting value or a neighbour's value; two
/// records or inodes swapped; or a bitmap bit flipped. Returns what it did.
fn mutate(img: &mut Image, rng: &mut fastrand::Rng) -> String {
    let places = img.places.clone();
    // A kind of structure first, then one of its instances: the 80 records of one file must
    // not drown the two superblocks. Version 1 has five kinds (and keeps its images).
    let kind = rng.u8(..if img.version == 2 { 6 } else { 5 });
    let of_kind: Vec<Place> = places
        .iter()
        .copied()
        .filter(|p| p.kind() == kind)
        .collect();
    let place = of_kind[rng.usize(..of_kind.len())];
    let desc = match place {
        Place::Bitmap(blk) => {
            let bit = rng.u64(..img_blocks(img) + 16);
            let b = block_of(&mut img.bytes, blk);
            b[(bit / 8) as usize] ^= 1 << (bit % 8);
            format!("bitmap block {blk}: bit {bit} flipped")
        }
        Place::Record(..) | Place::Inode { .. } if rng.u8(..8) == 0 => {
            // Swap with another structure of the same kind.
            let same: Vec<Place> = places
                .iter()
                .copied()
                .filter(|p| same_shape(*p, place) && *p != place)
                .collect();
            let Some(&other) = same.get(rng.usize(..same.len().max(1))) else {
                return format!("{place:?}: nothing to swap with");
            };
            let size = if place.kind() == 1 {
                INODE_SIZE - 4
            } else {
                EXTENT_RECORD_SIZE
            };
            let a = block_of(&mut img.bytes, place.block())[place.base()..][..size].to_vec();
            let b = block_of(&mut img.bytes, other.block())[other.base()..][..size].to_vec();
            block_of(&mut img.bytes, place.block())[place.base()..][..size].copy_from_slice(&b);
            block_of(&mut img.bytes, other.block())[other.base()..][..size].copy_from_slice(&a);
            seal(&mut img.bytes, other);
            format!("{place:?} and {other:?} swapped")
        }
        _ => {
            let fields = place.fields(img.version);
            let (name, off, width) = fields[rng.usize(..fields.len())];
            let at = place.base() + off;
            let old = get(block_of(&mut img.bytes, place.block()), at, width);
            let neighbours: Vec<u64> = places
                .iter()
                .filter(|p| same_shape(**p, place) && **p != place)
                .map(|p| get(block_of(&mut img.bytes, p.block()), p.base() + off, width))
                .collect();
            let fs_blocks = img_blocks(img);
            let new = match rng.u8(..8) {
                0 => old ^ (1 << rng.u32(..(8 * width) as u32)),
                1 => 0,
                2 => 1,
                3 => max_of(width),
                4 => max_of(width) - 1,
                5 => {
                    [fs_blocks, fs_blocks - 1, fs_blocks * BLOCK_SIZE as u64][rng.usize(..3)]
                        & max_of(width)
                }
                6 if !neighbours.is_empty() => neighbours[rng.usize(..neighbours.len())],
                _ => rng.u64(..) & max_of(width),
            };
            put(block_of(&mut img.bytes, place.block()), at, width, new);
            format!("{place:?} {name}: {old} -> {new}")
        }
    };
    seal(&mut img.bytes, place);
    desc
}
