// SPDX-License-Identifier: GPL-2.0

//! KUnit suite `emfs_checksum`: the format's checksum, the kernel's `crc32c()`, against the
//! published vectors and against the checksums the host tools' `crc32c` crate gives on the
//! same blocks (`crc32c_vectors.rs`, which the host tests check too).

use super::{crc32c, crc32c_vectors as vectors, format, meta};
use crate::kernel_ext::kunit::{kunit_assert, kunit_assert_eq, Test};
use kernel::prelude::*;

/// RFC 3720's vectors and the check value of "123456789".
pub(crate) fn crc32c_known_vectors(t: &mut Test) -> Result {
    for (data, want) in vectors::KNOWN {
        kunit_assert_eq!(t, crc32c(data), want);
    }
    Ok(())
}

/// The host's checksums of pseudo-random blocks, whole and cut at odd lengths.
pub(crate) fn crc32c_matches_the_host(t: &mut Test) -> Result {
    let mut block = meta::new_block()?;
    for (seed, len, want) in vectors::BLOCKS {
        vectors::block(seed, &mut block);
        kunit_assert!(t, len <= block.len());
        let got = crc32c(&block[..len]);
        kunit_assert!(
            t,
            got == want,
            "seed {seed}, {len} bytes: kernel {got:#010x}, host {want:#010x}"
        );
    }
    Ok(())
}

/// A sealed block verifies, and one flipped bit anywhere in it is caught.
pub(crate) fn sealed_block_detects_a_flip(t: &mut Test) -> Result {
    let mut block = meta::new_block()?;
    vectors::block(9, &mut block);
    format::seal_block(&mut block);
    kunit_assert!(t, format::block_csum_ok(&block));
    for bit in [
        0,
        8 * 2048 + 3,
        8 * format::CSUM_OFFSET - 1,
        8 * format::BLOCK_SIZE - 1,
    ] {
        block[bit / 8] ^= 1 << (bit % 8);
        kunit_assert!(
            t,
            !format::block_csum_ok(&block),
            "flip of bit {bit} not caught"
        );
        block[bit / 8] ^= 1 << (bit % 8);
    }
    Ok(())
}
