// SPDX-License-Identifier: GPL-2.0

//! Structure-aware fuzzing of emfs images.
//!
//! [`base_image`] makes a small file system holding a tree of every kind (`base.rs`) with
//! both superblock slots valid. [`image`] applies 1 to [`MAX_MUTATIONS`] mutations to its
//! metadata *fields* (the superblock slots', the inodes', the extent and directory blocks'
//! headers, extent records, directory entries, symlink target blocks, the bitmap's bits),
//! chosen from seed `S` and index `K`, and re-seals every checksum it broke, so that the damage
//! gets past CRC32C and reaches the code that parses it. Image `K` of seed `S` is always the
//! same image.

pub mod base;
pub mod holes;

pub use base::base_image;
use emfs_tools::format::{
    crc32c, BLOCK_SIZE, CSUM_OFFSET, EXTENT_HEADER_SIZE, EXTENT_RECORD_SIZE, INODE_SIZE,
};

/// Most mutations applied to one image.
pub const MAX_MUTATIONS: usize = 4;
/// The kinds of structure ([`Place`]'s): superblock, inode, block header, extent record or
/// directory entry, bitmap, symlink target block.
const KINDS: u8 = 6;

/// A field: its name, its offset in its structure, its width in bytes.
type Field = (&'static str, usize, usize);

/// An extent or directory block's header.
const HEADER_FIELDS: &[Field] = &[
    ("magic", 0, 4),
    ("count", 4, 4),
    ("ino", 8, 4),
    ("next", 16, 8),
    ("generation", 24, 8),
];

/// An extent record.
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
    /// The header of the extent or directory block `blk`.
    Header(u64),
    /// Record `i` of the extent block `blk`.
    Record(u64, usize),
    /// A bitmap block.
    Bitmap(u64),
    /// The directory entry at byte `off` of directory block `blk`.
    Entry(u64, usize),
    /// The target block `blk` of the symlink whose inode is at byte `off` of block
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

    fn fields(self) -> &'static [Field] {
        match self {
            Place::Superblock(_) => base::SB_FIELDS,
            Place::Inode { .. } => base::INODE_FIELDS,
            Place::Header(_) => HEADER_FIELDS,
            Place::Record(..) => RECORD_FIELDS,
            Place::Entry(..) => base::ENTRY_FIELDS,
            Place::Target { .. } => base::TARGET_FIELDS,
            Place::Bitmap(_) => &[],
        }
    }

    /// The kind of structure, which a mutation chooses first: [`KINDS`] of them.
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
        block_of(bytes, inode_blk)[off + base::TARGET_CSUM..][..4]
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

/// Image `index` of seed `seed`: the base image with 1 to [`MAX_MUTATIONS`] mutations, every
/// checksum re-sealed. Returns the image and a description of each mutation.
pub fn image(seed: u64, index: u64) -> Result<(Image, Vec<String>), String> {
    // Made once per process: a run or a test goes through thousands of images.
    static BASE: std::sync::OnceLock<Result<Image, String>> = std::sync::OnceLock::new();
    let base = BASE.get_or_init(base_image).clone()?;
    mutated(base, seed, index)
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
    // not drown the two superblocks.
    let kind = rng.u8(..KINDS);
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
            let fields = place.fields();
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
