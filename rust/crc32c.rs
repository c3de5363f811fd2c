// SPDX-License-Identifier: GPL-2.0

//! CRC-32C (Castagnoli) through the kernel's library.
//!
//! C header: [`include/linux/crc32c.h`](srctree/include/linux/crc32c.h)

use super::ffi;

/// The standard CRC-32C of `data` (initial value and final XOR `!0`, as iSCSI, ext4 and btrfs
/// use it), computed by the kernel's `crc32c()`, which runs on the CPU's CRC32 instruction when
/// the kernel has a driver for it (`CONFIG_CRYPTO_CRC32C_INTEL` on x86).
///
/// # Examples
///
/// ```ignore
/// assert_eq!(crc32c(b"123456789"), 0xe306_9283);
/// ```
pub fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    // `crc32c()` takes the length as an `unsigned int`.
    for chunk in data.chunks(u32::MAX as usize) {
        // At most `u32::MAX`: no truncation.
        let len = chunk.len() as u32;
        // SAFETY: `chunk` is valid for reads of `len` bytes; `crc32c()` only reads them, and may
        // be called in any context.
        crc = unsafe { ffi::crc32c(crc, chunk.as_ptr().cast(), len) };
    }
    !crc
}
