// SPDX-License-Identifier: GPL-2.0

//! `refcount_t`, with the read that the 6.12 `kernel` crate does not offer.
//!
//! C header: [`include/linux/refcount.h`](srctree/include/linux/refcount.h)

use super::ffi;
use kernel::{bindings, types::Opaque};

/// A saturating reference count, the kernel's `refcount_t`.
///
/// # Invariants
///
/// The wrapped `refcount_t` is always initialised.
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
        // INVARIANT: `REFCOUNT_INIT` fully initialises the value.
        // SAFETY: `REFCOUNT_INIT` only builds a value; it has no preconditions.
        Self(Opaque::new(unsafe { bindings::REFCOUNT_INIT(n) }))
    }

    /// Returns the current value. Only a snapshot unless the caller excludes concurrent
    /// increments and decrements by other means.
    pub fn read(&self) -> u32 {
        // SAFETY: By the type invariant the count is initialised; `refcount_read` is atomic.
        unsafe { ffi::emfs_refcount_read(self.0.get()) }
    }

    /// Returns the current value with acquire ordering. Seeing a value means seeing every access
    /// a former holder made before the decrement that dropped its reference: `refcount_dec*`
    /// orders the holder's earlier accesses before the decrement (release, see
    /// `Documentation/core-api/refcount-vs-atomic.rst`), and this load pairs with it. Deciding
    /// from the count that nobody else holds an object, before writing it non-atomically, needs
    /// this ordering (as `Arc::get_mut` uses an acquire load).
    pub fn read_acquire(&self) -> u32 {
        // SAFETY: By the type invariant the count is initialised; the load is atomic.
        unsafe { ffi::emfs_refcount_read_acquire(self.0.get()) }
    }

    /// Increments the count (saturating, with a warning, on overflow).
    pub fn inc(&self) {
        // SAFETY: By the type invariant the count is initialised; `refcount_inc` is atomic.
        unsafe { ffi::emfs_refcount_inc(self.0.get()) }
    }

    /// Decrements the count and returns `true` if it dropped to zero.
    #[must_use]
    pub fn dec_and_test(&self) -> bool {
        // SAFETY: By the type invariant the count is initialised; the decrement is atomic.
        unsafe { ffi::emfs_refcount_dec_and_test(self.0.get()) }
    }
}
