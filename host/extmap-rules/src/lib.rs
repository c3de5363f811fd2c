// SPDX-License-Identifier: GPL-2.0

//! The pure rules of extmap, compiled for the host from the very file the kernel module
//! compiles, so that `cargo test` can check them against a model.

#[path = "../../../extmap/rules.rs"]
pub mod rules;
