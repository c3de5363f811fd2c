// SPDX-License-Identifier: GPL-2.0

//! Per-CPU event counters: counting costs no shared atomic read-modify-write (one
//! `this_cpu_add`, as `percpu_counter_add` does below its batch), reading sums every CPU's part.
//! The counters are a fixed array of the module's, defined in `rust/percpu.c`. On x86-64 the
//! increment is inlined, the one `add` to `%gs`-relative memory that `this_cpu_add` compiles
//! to; elsewhere it calls C.
//!
//! C header: [`include/linux/percpu-defs.h`](srctree/include/linux/percpu-defs.h)

use super::ffi;

/// How many counters the module has (`EMFS_EVENTS` of `rust/helpers.h`, the length of the
/// array).
pub const EVENTS: u32 = ffi::EMFS_EVENTS;

#[cfg(target_arch = "x86_64")]
extern "C" {
    /// `rust/percpu.c`'s `DEFINE_PER_CPU(u64, emfs_events[EMFS_EVENTS])`. Its address is a
    /// per-CPU offset, not a pointer: it is only ever named in `asm!`, never read from Rust.
    static emfs_events: [u64; EVENTS as usize];
}

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
        #[cfg(target_arch = "x86_64")]
        // SAFETY: x86-64 addresses this CPU's copy of per-CPU data at the variable's per-CPU
        // offset relative to `%gs`, as `this_cpu_add` does; `index` is below the array's
        // length (the type invariant), so the `add` touches this CPU's counter `index` and
        // nothing else. One instruction: neither preemption nor an interrupt can split it.
        unsafe {
            core::arch::asm!(
                "add {n}, %gs:{events}(,{index},8)",
                events = sym emfs_events,
                index = in(reg) u64::from(self.index),
                n = in(reg) n,
                options(att_syntax, nostack),
            )
        };
        #[cfg(not(target_arch = "x86_64"))]
        // SAFETY: The call checks the index (in range by the type invariant) and only adds to
        // this CPU's part of the counter (`this_cpu_add` is preemption-safe).
        unsafe {
            ffi::emfs_event_add(self.index, n)
        };
    }

    /// The sum of every CPU's part: exact when no CPU counts meanwhile, else the value at some
    /// moment during the call, give or take the concurrent events.
    pub fn sum(&self) -> u64 {
        // SAFETY: The call checks the index and only reads the counters.
        unsafe { ffi::emfs_event_sum(self.index) }
    }
}
