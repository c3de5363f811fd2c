// SPDX-License-Identifier: GPL-2.0

//! Sleeping for a while (`msleep`) and letting others run (`cond_resched`), which the 6.12
//! `kernel` crate does not offer.
//!
//! C header: [`include/linux/delay.h`](srctree/include/linux/delay.h)

use kernel::bindings;

/// Sleeps for at least `ms` milliseconds. Process context only (it schedules).
pub fn msleep(ms: u32) {
    // SAFETY: `msleep` may be called from any sleepable context, which is what callers of a
    // function that sleeps must be in.
    unsafe { bindings::msleep(ms) };
}

/// Lets other tasks run if this one should yield (`cond_resched`). Process context only.
pub fn cond_resched() {
    // SAFETY: `__cond_resched` (what `cond_resched()` calls on non-preemptible kernels) may be
    // called from any sleepable context, which is what callers of a function that may schedule
    // must be in.
    unsafe { bindings::__cond_resched() };
}
