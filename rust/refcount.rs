// SPDX-License-Identifier: GPL-2.0

//! `refcount_t`, with its increment and decrement inlined as C inlines them.
//!
//! The fast paths are `include/linux/refcount.h`'s, on the same `atomic_t`, with the same
//! orderings: a relaxed increment, a release decrement followed by an acquire fence when the
//! count reaches zero. The slow paths (a count that was zero, negative or about to overflow) go
//! to the kernel's out-of-line `refcount_warn_saturate`, which warns and saturates the count as
//! it does for C callers.
//!
//! C header: [`include/linux/refcount.h`](srctree/include/linux/refcount.h)

use core::sync::atomic::{fence, AtomicI32, Ordering};
use kernel::{bindings, types::Opaque};

/// A saturating reference count, the kernel's `refcount_t`.
///
/// # Invariants
///
/// The wrapped `refcount_t` is always initialised, and every access to its counter is atomic:
/// Rust's atomics here, and the C atomics of `refcount_warn_saturate`.
///
/// # Examples
///
/// ```ignore
/// let count = Refcount::new(1);
/// count.inc();
/// assert!(!count.dec_and_test());
/// assert!(count.dec_and_test()); // the last reference: free the object now
/// ```
#[repr(transparent)]
pub struct Refcount(Opaque<bindings::refcount_t>);

// SAFETY: `refcount_t` is an atomic counter made to be used from any thread.
unsafe impl Sync for Refcount {}
// SAFETY: A `refcount_t` holds no thread-bound state.
unsafe impl Send for Refcount {}

impl Refcount {
    /// Creates a count with value `n`.
    pub fn new(n: i32) -> Self {
        // INVARIANT: `REFCOUNT_INIT(n)`: the whole value is written.
        Self(Opaque::new(bindings::refcount_t {
            refs: bindings::atomic_t { counter: n },
        }))
    }

    /// The counter, as the atomic it is.
    fn counter(&self) -> &AtomicI32 {
        // SAFETY: `refcount_t` is `struct { atomic_t refs; }` and `atomic_t` is
        // `struct { int counter; }`, so the pointer is that of an aligned, initialised `i32`
        // that lives as long as `self`; by the type invariant every access to it is atomic.
        unsafe { AtomicI32::from_ptr(self.0.get().cast::<i32>()) }
    }

    /// Returns the current value. Only a snapshot unless the caller excludes concurrent
    /// increments and decrements by other means.
    pub fn read(&self) -> u32 {
        // `refcount_read`: a relaxed load, shown unsigned as C's callers print it.
        self.counter().load(Ordering::Relaxed) as u32
    }

    /// Returns the current value with acquire ordering. Seeing a value means seeing every access
    /// a former holder made before the decrement that dropped its reference: [`dec_and_test`]
    /// orders the holder's earlier accesses before the decrement (release, see
    /// `Documentation/core-api/refcount-vs-atomic.rst`), and this load pairs with it. Deciding
    /// from the count that nobody else holds an object, before writing it non-atomically, needs
    /// this ordering (as `Arc::get_mut` uses an acquire load).
    ///
    /// [`dec_and_test`]: Refcount::dec_and_test
    pub fn read_acquire(&self) -> u32 {
        self.counter().load(Ordering::Acquire) as u32
    }

    /// Increments the count (`refcount_inc`: saturating, with a warning, on overflow or on an
    /// increment from zero).
    #[inline]
    pub fn inc(&self) {
        let old = self.counter().fetch_add(1, Ordering::Relaxed);
        if old <= 0 || old == i32::MAX {
            self.saturate(if old == 0 {
                bindings::refcount_saturation_type_REFCOUNT_ADD_UAF
            } else {
                bindings::refcount_saturation_type_REFCOUNT_ADD_OVF
            });
        }
    }

    /// Decrements the count and returns `true` if it dropped to zero (`refcount_dec_and_test`:
    /// a decrement of a count that was zero or saturated warns and leaves it saturated).
    #[inline]
    #[must_use]
    pub fn dec_and_test(&self) -> bool {
        let old = self.counter().fetch_sub(1, Ordering::Release);
        if old == 1 {
            // `smp_acquire__after_ctrl_dep`: the object is freed only after every access of
            // every former holder.
            fence(Ordering::Acquire);
            return true;
        }
        if old <= 0 {
            self.saturate(bindings::refcount_saturation_type_REFCOUNT_SUB_UAF);
        }
        false
    }

    #[cold]
    fn saturate(&self, kind: bindings::refcount_saturation_type) {
        // SAFETY: By the type invariant the count is initialised; `refcount_warn_saturate`
        // warns and stores the saturated value atomically, for any value it finds.
        unsafe { bindings::refcount_warn_saturate(self.0.get(), kind) }
    }
}
