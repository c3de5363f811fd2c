// SPDX-License-Identifier: GPL-2.0

//! Kernel abstractions that the 6.12 `kernel` crate lacks.
//!
//! Everything `unsafe` in the project lives below this module: `extmap` and `emfs` are safe
//! Rust on top of it. Static-inline kernel functions are reached through the module's C file,
//! `rust/helpers.c`, declared in [`ffi`].
//!
//! # Safety model
//!
//! An abstraction here is sound when no safe caller, in `extmap`, `emfs` or anywhere else, can
//! cause undefined behaviour through it. Locks held, references counted, calls made in order:
//! none of that is trusted to the caller; guards, tokens and view types carry it, and
//! `selftests/compile_fail/` shows what they refuse. Two assumptions remain, both the kernel
//! crate's own:
//!
//! - **Owners of module-lifetime objects are dropped before the module goes.** A debugfs
//!   directory's files ([`debugfs::DebugfsDir`]), a kernel thread running a closure
//!   ([`kthread::KThread`]) and a registered file-system type ([`vfs::Registration`]) point
//!   into the module's text and data; their owner's `Drop` removes, joins or unregisters them,
//!   and the module's exit drops the owners. Safe Rust can skip a `Drop` (`core::mem::forget`,
//!   a reference cycle of `Arc`s): the object would then outlive the module's memory, and its
//!   next use would run freed code. The `kernel` crate's registrations (misc devices, file
//!   systems, PHY drivers) rest on the same assumption. This project keeps every such owner in
//!   the module's state, dropped by its exit, and forgets none.
//! - **C callers keep their documented contracts.** A trampoline trusts the VFS, the page
//!   cache, the block layer and debugfs to call it with the locks, references and objects their
//!   documentation names; each `extern "C"` function's `# Safety` section says which.

pub mod crc32c;
pub mod debugfs;
pub mod errno;
pub mod ffi;
pub mod kthread;
pub mod kunit;
pub mod links;
pub mod nofs;
pub mod percpu;
pub mod printk;
pub mod refcount;
pub mod reftree;
pub mod rwlock;
pub mod slab;
pub mod sort;
pub mod time;
pub mod vfs;
