// SPDX-License-Identifier: GPL-2.0

//! Error codes the 6.12 `kernel` crate does not name.

use kernel::{bindings, error::Error};

/// `EUCLEAN`: structure needs cleaning (btrfs's "this should not be, the metadata is bad").
pub fn euclean() -> Error {
    Error::from_errno(-(bindings::EUCLEAN as i32))
}
