// SPDX-License-Identifier: GPL-2.0

//! The pure rules of extent maps: values in, values out, no kernel dependencies.
//!
//! This file is compiled into the kernel module and into the host crate `host/extmap-rules`,
//! whose property tests check it against a model of a file's extents. Each rule mirrors
//! btrfs 6.12 `fs/btrfs/extent_map.c` and cites the function it follows.

/// Not yet on disk (writeback in flight).
pub const PINNED: u32 = 1 << 0;
/// zlib-compressed extent.
pub const COMPRESS_ZLIB: u32 = 1 << 1;
/// lzo-compressed extent.
pub const COMPRESS_LZO: u32 = 1 << 2;
/// zstd-compressed extent.
pub const COMPRESS_ZSTD: u32 = 1 << 3;
/// Preallocated extent: reads as zeros.
pub const PREALLOC: u32 = 1 << 4;
/// Being logged by fsync.
pub const LOGGING: u32 = 1 << 5;
/// Built in memory from adjacent maps.
pub const MERGED: u32 = 1 << 6;
/// Every compression bit.
pub const COMPRESS_MASK: u32 = COMPRESS_ZLIB | COMPRESS_LZO | COMPRESS_ZSTD;
/// Every flag a map may carry.
pub const ALL_FLAGS: u32 = PINNED | COMPRESS_MASK | PREALLOC | LOGGING | MERGED;

/// Values of `disk_bytenr` at or above this are not disk addresses.
pub const LAST_BYTE: u64 = u64::MAX - 3;
/// `disk_bytenr` of a hole.
pub const HOLE: u64 = u64::MAX - 2;
/// `disk_bytenr` of an inline extent.
pub const INLINE: u64 = u64::MAX - 1;

/// The fields of a map that describe where its file range lives; a merge rewrites them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MapFields {
    /// First file byte.
    pub start: u64,
    /// Length in file bytes.
    pub len: u64,
    /// Start of the whole on-disk extent, or [`HOLE`] / [`INLINE`].
    pub disk_bytenr: u64,
    /// Length of the whole on-disk extent.
    pub disk_num_bytes: u64,
    /// Offset of `start` into the (decompressed) extent; 0 for holes and inline.
    pub offset: u64,
    /// Decompressed size of the whole extent.
    pub ram_bytes: u64,
}

/// `start + len`, saturating (btrfs `range_end`).
pub fn range_end(start: u64, len: u64) -> u64 {
    start.saturating_add(len)
}

/// Whether `flags` say compressed.
pub fn is_compressed(flags: u32) -> bool {
    flags & COMPRESS_MASK != 0
}

impl MapFields {
    /// One past the last file byte, saturating (`btrfs_extent_map_end`).
    pub fn end(&self) -> u64 {
        range_end(self.start, self.len)
    }

    /// Whether this maps real disk blocks (not a hole or inline data).
    pub fn is_real(&self) -> bool {
        self.disk_bytenr < LAST_BYTE
    }

    /// Disk address of `start` (`btrfs_extent_map_block_start`).
    pub fn block_start(&self, flags: u32) -> u64 {
        if self.is_real() && !is_compressed(flags) {
            self.disk_bytenr.wrapping_add(self.offset)
        } else {
            self.disk_bytenr
        }
    }

    /// Length on disk of what the map covers (`extent_map_block_len`).
    pub fn block_len(&self, flags: u32) -> u64 {
        if is_compressed(flags) {
            self.disk_num_bytes
        } else {
            self.len
        }
    }

    /// One past the map's last disk byte, saturating (`extent_map_block_end`).
    pub fn block_end(&self, flags: u32) -> u64 {
        let start = self.block_start(flags);
        start.saturating_add(self.block_len(flags))
    }

    /// Whether `[start, start+len)` overlaps the map (the strict lookup test).
    pub fn overlaps(&self, start: u64, len: u64) -> bool {
        range_end(start, len) > self.start && start < self.end()
    }

    /// Whether `pos` is inside the map.
    pub fn contains(&self, pos: u64) -> bool {
        pos >= self.start && pos < self.end()
    }
}

/// Whether a map may take part in a merge at all (`can_merge_extent_map`).
pub fn can_merge(flags: u32, on_modified_list: bool) -> bool {
    flags & (PINNED | LOGGING) == 0 && !is_compressed(flags) && !on_modified_list
}

/// Whether `prev` and `next` are adjacent and describe contiguous storage (`mergeable_maps`).
/// Flags must be equal ignoring [`MERGED`]; generations do not matter.
pub fn mergeable(prev: &MapFields, prev_flags: u32, next: &MapFields, next_flags: u32) -> bool {
    if prev.end() != next.start {
        return false;
    }
    if prev_flags & !MERGED != next_flags & !MERGED {
        return false;
    }
    if next.disk_bytenr < LAST_BYTE - 1 {
        return next.block_start(next_flags) == prev.block_end(prev_flags);
    }
    // Holes and inline extents.
    next.disk_bytenr == prev.disk_bytenr
}

/// The fields of the map that results from merging adjacent `prev` and `next`
/// (`try_merge_map` with `merge_ondisk_extents`). Only meaningful if [`mergeable`].
/// `keep_next` says which of the two survives the merge (btrfs keeps the map it was asked to
/// merge, whichever side it is on); holes and inline maps keep the survivor's disk fields.
pub fn merged(prev: &MapFields, next: &MapFields, keep_next: bool) -> MapFields {
    let survivor = if keep_next { next } else { prev };
    let mut m = MapFields {
        start: prev.start,
        len: prev.len.wrapping_add(next.len),
        ..*survivor
    };
    if survivor.is_real() {
        let disk_bytenr = prev.disk_bytenr.min(next.disk_bytenr);
        let disk_end = prev
            .disk_bytenr
            .wrapping_add(prev.disk_num_bytes)
            .max(next.disk_bytenr.wrapping_add(next.disk_num_bytes));
        m.disk_bytenr = disk_bytenr;
        m.disk_num_bytes = disk_end.wrapping_sub(disk_bytenr);
        m.ram_bytes = m.disk_num_bytes;
        m.offset = prev
            .disk_bytenr
            .wrapping_add(prev.offset)
            .wrapping_sub(disk_bytenr);
    }
    m
}

/// The part of `em` in front of `start` (`btrfs_drop_extent_map_range`, front split).
/// `start` must be inside `em`, after its first byte.
pub fn split_front(em: &MapFields, start: u64) -> MapFields {
    let len = start - em.start;
    if em.is_real() {
        MapFields { len, ..*em }
    } else {
        MapFields {
            start: em.start,
            len,
            disk_bytenr: em.disk_bytenr,
            disk_num_bytes: 0,
            offset: 0,
            ram_bytes: len,
        }
    }
}

/// The part of `em` from `end` on (`btrfs_drop_extent_map_range`, back split).
/// `end` must be inside `em`, after its first byte.
pub fn split_back(em: &MapFields, end: u64) -> MapFields {
    let len = em.end() - end;
    if em.is_real() {
        MapFields {
            start: end,
            len,
            offset: em.offset + (end - em.start),
            ..*em
        }
    } else {
        MapFields {
            start: end,
            len,
            disk_bytenr: em.disk_bytenr,
            disk_num_bytes: 0,
            offset: 0,
            ram_bytes: len,
        }
    }
}

/// Trims `em` to the gap between its in-tree neighbours around `map_start`
/// (`merge_extent_mapping`): `prev_end` is the end of the map before the gap, `next_start` the
/// start of the map after it. `None` if `map_start` is outside `em` or the gap misses `em`.
pub fn trim_to_gap(
    em: &MapFields,
    map_start: u64,
    prev_end: Option<u64>,
    next_start: Option<u64>,
) -> Option<MapFields> {
    if !em.contains(map_start) {
        return None;
    }
    let start = prev_end.unwrap_or(em.start).max(em.start);
    let end = next_start.unwrap_or(em.end()).min(em.end());
    if end <= start {
        return None;
    }
    let start_diff = start - em.start;
    let mut t = MapFields {
        start,
        len: end - start,
        ..*em
    };
    if em.is_real() {
        t.offset = em.offset.wrapping_add(start_diff);
    }
    Some(t)
}

/// Whether the fields are self-consistent (btrfs `validate_extent_map`, debug builds): returns
/// the first rule broken.
pub fn validate(em: &MapFields, flags: u32) -> Result<(), &'static str> {
    if em.is_real() {
        if em.disk_num_bytes == 0 {
            return Err("zero disk_num_bytes");
        }
        if em.offset.saturating_add(em.len) > em.ram_bytes {
            return Err("ram_bytes too small");
        }
        if !is_compressed(flags) {
            if em.offset.saturating_add(em.len) > em.disk_num_bytes {
                return Err("disk_num_bytes too small");
            }
            if em.ram_bytes != em.disk_num_bytes {
                return Err("ram_bytes mismatch with disk_num_bytes for non-compressed em");
            }
        }
    } else if em.offset != 0 {
        return Err("non-zero offset for hole/inline");
    }
    Ok(())
}
