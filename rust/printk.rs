// SPDX-License-Identifier: GPL-2.0

//! Rate limiting of kernel messages (`printk_ratelimit`), which the 6.12 `kernel` crate does
//! not offer.
//!
//! C header: [`include/linux/printk.h`](srctree/include/linux/printk.h)

use kernel::{bindings, str::CStr};

/// Whether a message of `who` may be printed now: `false` once too many were printed lately
/// (the kernel's `printk_ratelimit`, shared by all its callers: 10 messages per 5 seconds by
/// default). For messages that input can make frequent.
///
/// # Examples
///
/// ```ignore
/// if ratelimit(c_str!("extmap")) {
///     pr_warn!("extmap: no extent map found\n");
/// }
/// ```
pub fn ratelimit(who: &CStr) -> bool {
    // SAFETY: `who` is NUL-terminated and only read (it names the caller in the "callbacks
    // suppressed" message).
    unsafe { bindings::__printk_ratelimit(who.as_char_ptr()) != 0 }
}
