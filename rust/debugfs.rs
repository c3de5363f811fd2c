// SPDX-License-Identifier: GPL-2.0

//! A debugfs directory of counters, and of a few writable knobs for tests.
//!
//! C header: [`include/linux/debugfs.h`](srctree/include/linux/debugfs.h)

use super::ffi;
use core::sync::atomic::{AtomicU64, AtomicUsize};
use kernel::str::CStr;

/// A directory in debugfs, removed (with its files) on drop.
///
/// debugfs is best effort by design: if creation fails the directory is an error pointer that
/// every debugfs call accepts and ignores, so there is nothing to handle.
///
/// # Invariants
///
/// `dentry` is what `debugfs_create_dir` returned: a directory dentry or an error pointer.
pub struct Dir {
    dentry: *mut core::ffi::c_void,
}

// SAFETY: debugfs dentries may be used and removed from any thread.
unsafe impl Send for Dir {}
// SAFETY: `&Dir` only creates files, which debugfs serialises itself.
unsafe impl Sync for Dir {}

impl Dir {
    /// Creates `name` at the debugfs root.
    pub fn new(name: &CStr) -> Self {
        // SAFETY: `name` is NUL-terminated; a null parent means the debugfs root.
        let dentry = unsafe { ffi::debugfs_create_dir(name.as_char_ptr(), core::ptr::null_mut()) };
        // INVARIANT: `dentry` is what `debugfs_create_dir` returned.
        Self { dentry }
    }

    /// Adds a read-only file showing `value`.
    pub fn add_u64(&self, name: &'static CStr, value: &'static AtomicU64) {
        // SAFETY: `value` is `'static`, so it outlives the file (removed with the directory at
        // the latest); `AtomicU64` has the layout of `u64`, and debugfs only reads it, with a
        // single aligned load.
        unsafe { ffi::debugfs_create_u64(name.as_char_ptr(), 0o444, self.dentry, value.as_ptr()) };
    }

    /// Adds a file (root only) showing `value` that writes set: a test knob.
    pub fn add_u64_rw(&self, name: &'static CStr, value: &'static AtomicU64) {
        // SAFETY: As in `add_u64`. debugfs writes with a single aligned 64-bit store, which on
        // the architectures the kernel supports for Rust is not torn; the Rust side only ever
        // loads it atomically.
        unsafe { ffi::debugfs_create_u64(name.as_char_ptr(), 0o600, self.dentry, value.as_ptr()) };
    }

    /// Adds a read-only file showing `value`.
    pub fn add_usize(&self, name: &'static CStr, value: &'static AtomicUsize) {
        // SAFETY: As in `add_u64`; `usize` is the kernel's `size_t`.
        unsafe {
            ffi::debugfs_create_size_t(name.as_char_ptr(), 0o444, self.dentry, value.as_ptr())
        };
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `dentry` came from `debugfs_create_dir`;
        // `debugfs_remove` accepts error pointers and removes the directory recursively.
        unsafe { ffi::debugfs_remove(self.dentry) };
    }
}
