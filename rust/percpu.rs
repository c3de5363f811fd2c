// SPDX-License-Identifier: GPL-2.0

//! Per-CPU event counters: counting costs no shared atomic read-modify-write (one
//! `this_cpu_add`, as `percpu_counter_add` does below its batch), reading sums every CPU's part.
//! The counters are a fixed array of the module's, defined in `rust/percpu.c`.
//!
//! C header: [`include/linux/percpu-defs.h`](srctree/include/linux/percpu-defs.h)

use super::ffi;

/// How many counters the module has: `EMFS_EVENTS` of `rust/helpers.h`, which `rust/percpu.c`
/// checks every index against too.
pub const EVENTS: u32 = 16;

/// One of the module's per-CPU event counters.
///
/// # Invariants
///
/// `index` is below [`EVENTS`].
///
/// # Examples
///
/// ```ignore
/// static HITS: Event = Event::new(3);
/// HITS.inc();
/// HITS.add(2);
/// assert!(HITS.sum() >= 3);
/// ```
pub struct Event {
    index: u32,
}

impl Event {
    /// Counter `index` of the module's; a compile-time error unless below [`EVENTS`]. Two
    /// `Event`s of the same index count into the same counter.
    pub const fn new(index: u32) -> Self {
        assert!(index < EVENTS, "per-CPU event counter index out of range");
        // INVARIANT: Checked above.
        Self { index }
    }

    /// The counter's index, for its debugfs file.
    pub(crate) fn index(&self) -> u32 {
        self.index
    }

    /// Counts one event on this CPU.
    #[inline]
    pub fn inc(&self) {
        self.add(1)
    }

    /// Counts `n` events on this CPU.
    #[inline]
    pub fn add(&self, n: u64) {
        // SAFETY: The call checks the index (in range by the type invariant) and only adds to
        // this CPU's part of the counter (`this_cpu_add` is preemption-safe).
        unsafe { ffi::emfs_event_add(self.index, n) }
    }

    /// The sum of every CPU's part: exact when no CPU counts meanwhile, else the value at some
    /// moment during the call, give or take the concurrent events.
    pub fn sum(&self) -> u64 {
        // SAFETY: The call checks the index and only reads the counters.
        unsafe { ffi::emfs_event_sum(self.index) }
    }
}
