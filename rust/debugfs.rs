// SPDX-License-Identifier: GPL-2.0

//! A debugfs directory of counters, and of a few writable knobs for tests.
//!
//! C header: [`include/linux/debugfs.h`](srctree/include/linux/debugfs.h)

use super::{ffi, percpu::Event, slab::KmemCache};
use core::{
    marker::PhantomData,
    sync::atomic::{AtomicU64, AtomicUsize},
};
use kernel::{
    bindings,
    error::to_result,
    ffi::{c_char, c_int},
    prelude::*,
    str::CStr,
};

/// A directory in debugfs, removed (with its files) on drop.
///
/// debugfs is best effort by design: if creation fails the directory is an error pointer that
/// every debugfs call accepts and ignores, so there is nothing to handle.
///
/// # Invariants
///
/// `dentry` is what `debugfs_create_dir` returned: a directory dentry or an error pointer.
///
/// # Examples
///
/// ```ignore
/// static HITS: AtomicU64 = AtomicU64::new(0);
/// let dir = DebugfsDir::new(c_str!("mymod")); // /sys/kernel/debug/mymod/
/// dir.add_u64(c_str!("hits"), &HITS); // read-only file showing the counter
/// // Dropping `dir` removes the directory and its files.
/// ```
pub struct DebugfsDir {
    dentry: *mut bindings::dentry,
}

// SAFETY: debugfs dentries may be used and removed from any thread.
unsafe impl Send for DebugfsDir {}
// SAFETY: `&DebugfsDir` only creates files, which debugfs serialises itself.
unsafe impl Sync for DebugfsDir {}

impl DebugfsDir {
    /// Creates `name` at the debugfs root.
    pub fn new(name: &CStr) -> Self {
        // SAFETY: `name` is NUL-terminated; a null parent means the debugfs root.
        let dentry = unsafe { ffi::debugfs_create_dir(name.as_char_ptr(), core::ptr::null_mut()) };
        // INVARIANT: `dentry` is what `debugfs_create_dir` returned.
        Self { dentry }
    }

    /// Adds a read-only file showing `value`.
    pub fn add_u64(&self, name: &'static CStr, value: &'static AtomicU64) {
        // SAFETY: `name` is NUL-terminated; `value` is `'static`, so it outlives the file
        // (removed with the directory at the latest); `AtomicU64` has the size and alignment of
        // `u64`, and the file's only access is a `READ_ONCE` of the whole aligned word, a marked
        // atomic access that does not race with the Rust side's atomic ones.
        unsafe {
            ffi::emfs_debugfs_create_atomic_u64(
                name.as_char_ptr(),
                false,
                self.dentry,
                value.as_ptr(),
            )
        };
    }

    /// Adds a file (root only) showing `value` that writes set: a test knob.
    pub fn add_u64_rw(&self, name: &'static CStr, value: &'static AtomicU64) {
        // SAFETY: `name` is NUL-terminated; `value` is `'static`, so it outlives the file
        // (removed with the directory at the latest); `AtomicU64` has the size and alignment of
        // `u64`, and the file accesses it only with `READ_ONCE` and `WRITE_ONCE` of the whole
        // aligned word, marked atomic accesses that do not race with the Rust side's atomic ones.
        unsafe {
            ffi::emfs_debugfs_create_atomic_u64(
                name.as_char_ptr(),
                true,
                self.dentry,
                value.as_ptr(),
            )
        };
    }

    /// Adds a read-only file showing `value`.
    pub fn add_usize(&self, name: &'static CStr, value: &'static AtomicUsize) {
        // SAFETY: `name` is NUL-terminated; `value` is `'static`, so it outlives the file
        // (removed with the directory at the latest); `AtomicUsize` has the size and alignment
        // of `usize`, the kernel's `size_t`, and the file's only access is a `READ_ONCE` of the
        // whole aligned word, a marked atomic access that does not race with the Rust side's
        // atomic ones.
        unsafe {
            ffi::emfs_debugfs_create_atomic_size(name.as_char_ptr(), self.dentry, value.as_ptr())
        };
    }

    /// Adds a read-only file `name` showing the sum of a per-CPU event counter.
    pub fn add_event(&self, name: &'static CStr, event: &'static Event) {
        // SAFETY: `name` is `'static` and NUL-terminated; `self.dentry` is this directory's
        // (or an error pointer, which debugfs ignores); the file's data is the counter's index,
        // which `emfs_event_sum` checks.
        unsafe { ffi::emfs_debugfs_create_event(name.as_char_ptr(), self.dentry, event.index()) };
    }

    /// Adds a read-only file showing how many objects allocated from `cache` are alive.
    pub fn add_live_objects<T>(&self, name: &'static CStr, cache: &'static KmemCache<T>) {
        self.add_usize(name, cache.live_counter());
    }

    /// Adds a command file (root only, `rust/cmdfile.c`): what one open file is written is the
    /// input, and its first read runs `H::run` on it and returns what `H::run` wrote.
    ///
    /// # Examples
    ///
    /// ```ignore
    /// struct Echo;
    ///
    /// impl CmdHandler for Echo {
    ///     fn run(input: &[u8], out: &mut CmdOutput<'_>) -> Result {
    ///         out.write_bytes(input)
    ///     }
    /// }
    ///
    /// let dir = DebugfsDir::new(c_str!("example"));
    /// dir.add_cmdfile::<Echo>(c_str!("echo"));
    /// // exec 3<>/sys/kernel/debug/example/echo; echo hi >&3; cat <&3   -> hi
    /// ```
    pub fn add_cmdfile<H: CmdHandler>(&self, name: &'static CStr) {
        // SAFETY: `name` is NUL-terminated; the handler is a function of this module, and the
        // file's operations hold a reference on the module while the file is open, so the
        // function outlives every call.
        unsafe {
            ffi::emfs_debugfs_create_cmdfile(
                name.as_char_ptr(),
                self.dentry,
                Some(cmd_trampoline::<H>),
            )
        };
    }
}

/// What a command file's handler writes: the text its reader gets.
///
/// # Invariants
///
/// `file` is the `struct emfs_cmdfile` whose handler is running, valid for `'a`.
pub struct CmdOutput<'a> {
    file: *mut ffi::emfs_cmdfile,
    _p: PhantomData<&'a mut ffi::emfs_cmdfile>,
}

impl CmdOutput<'_> {
    /// Appends `bytes` to the output (`ENOMEM` if it cannot grow).
    pub fn write_bytes(&mut self, bytes: &[u8]) -> Result {
        // SAFETY: By the type invariant `file` is valid; `bytes` is valid for its length, and
        // `emfs_cmdfile_emit` only copies from it.
        to_result(unsafe { ffi::emfs_cmdfile_emit(self.file, bytes.as_ptr().cast(), bytes.len()) })
    }
}

impl core::fmt::Write for CmdOutput<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.write_bytes(s.as_bytes()).map_err(|_| core::fmt::Error)
    }
}

/// The handler of a command file (see [`DebugfsDir::add_cmdfile`]).
pub trait CmdHandler {
    /// Runs on the `input` written to the file; what it writes to `out` is what the reader reads.
    /// An error with no output makes the read fail with that error.
    fn run(input: &[u8], out: &mut CmdOutput<'_>) -> Result;
}

/// Called by `rust/cmdfile.c` on the first read of a command file.
///
/// # Safety
///
/// `file` is a live `struct emfs_cmdfile`, used by nobody else during the call; `input` is
/// valid for reads of `len` bytes and not written during the call.
unsafe extern "C" fn cmd_trampoline<H: CmdHandler>(
    file: *mut ffi::emfs_cmdfile,
    input: *const c_char,
    len: usize,
) -> c_int {
    // SAFETY: By the function's safety requirements `input` is valid for `len` bytes and not
    // written while the slice lives (it ends with this call).
    let input = unsafe { core::slice::from_raw_parts(input.cast::<u8>(), len) };
    // INVARIANT: `file` is live for the call, which outlives `out`.
    let mut out = CmdOutput {
        file,
        _p: PhantomData,
    };
    match H::run(input, &mut out) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

impl Drop for DebugfsDir {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `dentry` came from `debugfs_create_dir`;
        // `debugfs_remove` accepts error pointers and removes the directory recursively.
        unsafe { ffi::debugfs_remove(self.dentry) };
    }
}
