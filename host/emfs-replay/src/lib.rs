// SPDX-License-Identifier: GPL-2.0

//! Reading a dm-log-writes log (`drivers/md/dm-log-writes.c`,
//! `Documentation/admin-guide/device-mapper/log-writes.rst`) and the workload's marks.
//!
//! The log device holds, at sector 0, a super (`magic`, `version`, `nr_entries`,
//! `sectorsize`, little-endian), then from byte `sectorsize` on one entry after another: a
//! `sectorsize` block whose first 32 bytes are `sector`, `nr_sectors`, `flags`, `data_len`
//! (a mark's text follows them in the same block), then `nr_sectors` blocks of the write's data
//! (none for a discard or a mark). Sectors count in the data device's `sectorsize`. Writes are
//! logged when they are durable: a plain write at the next flush after its completion, a FUA
//! write when it completes, so replaying entries 0..=i gives what a power cut could have left
//! after entry i.

use std::io::{self, Read, Seek, SeekFrom};

/// `WRITE_LOG_MAGIC`.
pub const MAGIC: u64 = 0x006a_7366_7773_6872;
/// `WRITE_LOG_VERSION`.
pub const VERSION: u64 = 1;
/// The entry's bio had `REQ_PREFLUSH`.
pub const FLUSH: u64 = 1 << 0;
/// The entry's bio had `REQ_FUA`.
pub const FUA: u64 = 1 << 1;
/// A discard.
pub const DISCARD: u64 = 1 << 2;
/// A mark (text from `dmsetup message ... mark`).
pub const MARK: u64 = 1 << 3;
/// The entry's bio had `REQ_META`.
pub const METADATA: u64 = 1 << 4;

const ENTRY_HEADER: usize = 32;

fn le64(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

/// One logged write, flush, discard or mark.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its position in the log, from 0.
    pub index: u64,
    /// First sector written or discarded (in `sectorsize` units).
    pub sector: u64,
    /// Sectors written or discarded.
    pub nr_sectors: u64,
    /// [`FLUSH`], [`FUA`], [`DISCARD`], [`MARK`], [`METADATA`].
    pub flags: u64,
    /// The data of a write; empty otherwise.
    pub data: Vec<u8>,
    /// The text of a mark; empty otherwise.
    pub mark: String,
}

impl Entry {
    /// Whether the state after this entry is one the test checks: a flush or FUA point, or a
    /// mark.
    pub fn is_point(&self) -> bool {
        self.flags & (FLUSH | FUA | MARK) != 0
    }
}

/// A log being read, entry by entry.
pub struct Log<R> {
    dev: R,
    /// Bytes per sector of the logged device.
    pub sectorsize: u64,
    /// Entries the super says the log holds.
    pub nr_entries: u64,
    next: u64,
    read: u64,
}

fn bad(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

impl<R: Read + Seek> Log<R> {
    /// Reads the super; fails on a wrong magic, version or sector size.
    pub fn open(mut dev: R) -> io::Result<Self> {
        let mut s = [0u8; 28];
        dev.seek(SeekFrom::Start(0))?;
        dev.read_exact(&mut s)?;
        if le64(&s, 0) != MAGIC {
            return Err(bad(format!(
                "not a dm-log-writes log (magic {:#x})",
                le64(&s, 0)
            )));
        }
        if le64(&s, 8) != VERSION {
            return Err(bad(format!("log version {} (this reads 1)", le64(&s, 8))));
        }
        let sectorsize = u64::from(u32::from_le_bytes([s[24], s[25], s[26], s[27]]));
        if !(512..=65536).contains(&sectorsize) || !sectorsize.is_power_of_two() {
            return Err(bad(format!("log sector size {sectorsize}")));
        }
        Ok(Self {
            dev,
            sectorsize,
            nr_entries: le64(&s, 16),
            next: sectorsize,
            read: 0,
        })
    }

    /// The next entry, `None` after the last one the super counts.
    pub fn next_entry(&mut self) -> io::Result<Option<Entry>> {
        if self.read == self.nr_entries {
            return Ok(None);
        }
        let ss = self.sectorsize;
        let mut h = vec![0u8; ss as usize];
        self.dev.seek(SeekFrom::Start(self.next))?;
        self.dev.read_exact(&mut h)?;
        let (sector, nr_sectors, flags, data_len) =
            (le64(&h, 0), le64(&h, 8), le64(&h, 16), le64(&h, 24));
        let index = self.read;
        self.next += ss;
        let mut e = Entry {
            index,
            sector,
            nr_sectors,
            flags,
            data: Vec::new(),
            mark: String::new(),
        };
        if flags & MARK != 0 {
            let len = usize::try_from(data_len)
                .ok()
                .filter(|&l| l <= ss as usize - ENTRY_HEADER)
                .ok_or_else(|| bad(format!("entry {index}: mark of {data_len} bytes")))?;
            e.mark = String::from_utf8_lossy(&h[ENTRY_HEADER..ENTRY_HEADER + len]).into_owned();
        } else if flags & DISCARD == 0 && nr_sectors > 0 {
            let bytes = nr_sectors
                .checked_mul(ss)
                .filter(|&b| b <= 1 << 30)
                .ok_or_else(|| bad(format!("entry {index}: {nr_sectors} sectors")))?;
            e.data = vec![0u8; bytes as usize];
            self.dev.read_exact(&mut e.data)?;
            self.next += bytes;
        }
        self.read += 1;
        Ok(Some(e))
    }
}

/// What the workload said about a file, in the order it said it (`crash_workload.c`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// `fsync:NAME:LEN:HASH`: fsync or fdatasync returned with this content durable.
    Content { len: u64, hash: u64 },
    /// `exists:NAME`: a directory fsync made the name durable (content unknown).
    Exists,
    /// `dirty:NAME`: about to be changed; nothing is promised until its next mark.
    Dirty,
}

/// A mark's meaning: `(file, expectation)`, or `None` for other marks (`mkfs`, the log's
/// own `dm-log-writes-end`). One word, fields separated by `:` (the kernel splits a target
/// message at spaces).
pub fn parse_mark(mark: &str) -> Option<(String, Expect)> {
    let mut w = mark.split(':');
    let (kind, name) = (w.next()?, w.next()?.to_string());
    let e = match kind {
        "fsync" => Expect::Content {
            len: w.next()?.parse().ok()?,
            hash: u64::from_str_radix(w.next()?, 16).ok()?,
        },
        "exists" => Expect::Exists,
        "dirty" => Expect::Dirty,
        _ => return None,
    };
    Some((name, e))
}

/// FNV-1a, 64 bits: the content hash of the workload's marks (simple to write in C too).
pub fn fnv1a(data: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
