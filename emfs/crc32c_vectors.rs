// SPDX-License-Identifier: GPL-2.0

//! Known CRC-32C values. The module's KUnit suite checks the kernel's `crc32c()` against them,
//! and the host tools' tests check the `crc32c` crate against the same table: two
//! implementations that each match it give the same checksum on the same bytes, so an image one
//! side sealed verifies on the other.

/// 32 zero bytes (RFC 3720, B.4).
pub const ZEROS: [u8; 32] = [0; 32];
/// 32 bytes of `0xff` (RFC 3720, B.4).
pub const ONES: [u8; 32] = [0xff; 32];
/// 0, 1, ..., 31 (RFC 3720, B.4).
pub const ASCENDING: [u8; 32] = {
    let mut a = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        a[i] = i as u8;
        i += 1;
    }
    a
};
/// 31, 30, ..., 0 (RFC 3720, B.4).
pub const DESCENDING: [u8; 32] = {
    let mut a = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        a[i] = 31 - i as u8;
        i += 1;
    }
    a
};

/// Published vectors: RFC 3720's, and the CRC catalogue's check value of "123456789".
pub const KNOWN: [(&[u8], u32); 5] = [
    (&ZEROS, 0x8a91_36aa),
    (&ONES, 0x62a8_ab43),
    (&ASCENDING, 0x46dd_794e),
    (&DESCENDING, 0x113f_db5c),
    (b"123456789", 0xe306_9283),
];

/// Bytes of a pseudo-random block: xorshift64* from `seed` (not 0).
pub fn block(seed: u64, out: &mut [u8; 4096]) {
    let mut x = seed;
    for chunk in out.chunks_mut(8) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        chunk.copy_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
}

/// `(seed, length, CRC-32C of the first length bytes of block(seed))`: whole blocks, the
/// metadata checksum's 4092 bytes, an inode's 252, and short and odd lengths that reach the
/// byte-wise head and tail of a word-at-a-time implementation. Computed with the `crc32c` crate
/// and checked with a bit-wise implementation.
pub const BLOCKS: [(u64, usize, u32); 8] = [
    (1, 4096, 0x1824_6982),
    (2, 4092, 0xfcd1_eca4),
    (3, 252, 0x97a9_1308),
    (4, 1, 0x32be_2c45),
    (5, 7, 0x7ff2_d54a),
    (6, 4095, 0x6e83_1f7c),
    (7, 2049, 0x2db9_4093),
    (8, 0, 0),
];
