// SPDX-License-Identifier: GPL-2.0

//! Kernel abstractions that the 6.12 `kernel` crate lacks.
//!
//! Everything `unsafe` in the project lives below this module: `extmap` and `emfs` are safe
//! Rust on top of it. Static-inline kernel functions are reached through the module's C file,
//! `rust/helpers.c`, declared in [`ffi`].

pub mod crc32c;
pub mod debugfs;
pub mod errno;
pub mod ffi;
pub mod kthread;
pub mod kunit;
pub mod nofs;
pub mod printk;
pub mod refcount;
pub mod reftree;
pub mod rwlock;
pub mod slab;
pub mod time;
pub mod vfs;
