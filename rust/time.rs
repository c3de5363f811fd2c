// SPDX-License-Identifier: GPL-2.0

//! Sleeping for a while (`msleep`), which the 6.12 `kernel` crate does not offer.
//!
//! C header: [`include/linux/delay.h`](srctree/include/linux/delay.h)

use kernel::bindings;

/// Sleeps for at least `ms` milliseconds. Process context only (it schedules).
pub fn msleep(ms: u32) {
    // SAFETY: `msleep` may be called from any sleepable context, which is what callers of a
    // function that sleeps must be in.
    unsafe { bindings::msleep(ms) };
}
