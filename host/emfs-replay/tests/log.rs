// SPDX-License-Identifier: GPL-2.0

//! The log reader on logs laid out as `dm-log-writes.c` writes them.

use emfs_replay::*;
use std::io::Cursor;

const SS: usize = 512;

/// A log: the super, then each entry's header block (with a mark's text) and data blocks.
fn log(entries: &[(u64, u64, u64, &[u8], &str)]) -> Vec<u8> {
    let mut b = vec![0u8; SS];
    b[0..8].copy_from_slice(&MAGIC.to_le_bytes());
    b[8..16].copy_from_slice(&VERSION.to_le_bytes());
    b[16..24].copy_from_slice(&(entries.len() as u64).to_le_bytes());
    b[24..28].copy_from_slice(&(SS as u32).to_le_bytes());
    for &(sector, nr, flags, data, mark) in entries {
        let mut h = vec![0u8; SS];
        h[0..8].copy_from_slice(&sector.to_le_bytes());
        h[8..16].copy_from_slice(&nr.to_le_bytes());
        h[16..24].copy_from_slice(&flags.to_le_bytes());
        let len = if flags & MARK != 0 {
            mark.len()
        } else {
            data.len()
        };
        h[24..32].copy_from_slice(&(len as u64).to_le_bytes());
        h[32..32 + mark.len()].copy_from_slice(mark.as_bytes());
        b.extend_from_slice(&h);
        b.extend_from_slice(data);
    }
    b
}

fn read_all(bytes: Vec<u8>) -> std::io::Result<Vec<Entry>> {
    let mut l = Log::open(Cursor::new(bytes))?;
    let mut v = Vec::new();
    while let Some(e) = l.next_entry()? {
        v.push(e);
    }
    Ok(v)
}

#[test]
fn entries_come_back_in_order_with_their_data() {
    let w = vec![7u8; 2 * SS];
    let f = vec![9u8; SS];
    let bytes = log(&[
        (8, 2, 0, &w, ""),
        (0, 0, FLUSH, &[], ""),
        (1, 1, FLUSH | FUA, &f, ""),
        (0, 0, MARK, &[], "fsync:a:3:00000000000000ff"),
        (100, 16, DISCARD, &[], ""),
    ]);
    let v = read_all(bytes).unwrap();
    assert_eq!(v.len(), 5);
    assert_eq!(
        (v[0].sector, v[0].nr_sectors, v[0].data.len()),
        (8, 2, 2 * SS)
    );
    assert!(v[0].data.iter().all(|&b| b == 7));
    assert!(!v[0].is_point());
    assert!(v[1].is_point() && v[1].data.is_empty());
    assert!(v[2].is_point() && v[2].data == f);
    assert_eq!(v[3].mark, "fsync:a:3:00000000000000ff");
    assert!(v[3].is_point());
    // A discard has no data in the log; the next entry would follow its header directly.
    assert_eq!((v[4].nr_sectors, v[4].data.len()), (16, 0));
    assert_eq!(v[4].index, 4);
}

#[test]
fn a_damaged_log_is_an_error_not_a_panic() {
    let mut bytes = log(&[(8, 2, 0, &[1u8; 2 * SS], "")]);
    bytes[0] ^= 1;
    assert!(Log::open(Cursor::new(bytes)).is_err());
    // Cut short: the entry's data is missing.
    let bytes = log(&[(8, 2, 0, &[1u8; 2 * SS], "")]);
    assert!(read_all(bytes[..SS * 2 + 10].to_vec()).is_err());
    // A mark longer than its block.
    let mut bytes = log(&[(0, 0, MARK, &[], "x")]);
    bytes[SS + 24..SS + 32].copy_from_slice(&4096u64.to_le_bytes());
    assert!(read_all(bytes).is_err());
    // More sectors than any write has.
    let mut bytes = log(&[(0, 0, 0, &[], "")]);
    bytes[SS + 8..SS + 16].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(read_all(bytes).is_err());
}

#[test]
fn marks_say_what_is_promised() {
    assert_eq!(
        parse_mark("fsync:f3:4096:00000000deadbeef"),
        Some((
            "f3".into(),
            Expect::Content {
                len: 4096,
                hash: 0xdead_beef
            }
        ))
    );
    assert_eq!(parse_mark("exists:f1"), Some(("f1".into(), Expect::Exists)));
    assert_eq!(parse_mark("dirty:f1"), Some(("f1".into(), Expect::Dirty)));
    assert_eq!(parse_mark("mkfs"), None);
    assert_eq!(parse_mark("fsync:f1:x:0"), None);
    // FNV-1a's published value for "a".
    assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
}
