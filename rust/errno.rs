// SPDX-License-Identifier: GPL-2.0

//! Error codes the 6.12 `kernel` crate does not name.

use kernel::{bindings, error::Error};

/// `EUCLEAN`: structure needs cleaning (btrfs's "this should not be, the metadata is bad").
pub fn euclean() -> Error {
    Error::from_errno(-(bindings::EUCLEAN as i32))
}

/// `ENAMETOOLONG`: file name too long.
pub fn enametoolong() -> Error {
    Error::from_errno(-(bindings::ENAMETOOLONG as i32))
}

/// `EOPNOTSUPP`: operation not supported.
pub fn eopnotsupp() -> Error {
    Error::from_errno(-(bindings::EOPNOTSUPP as i32))
}

/// `ENOTEMPTY`: directory not empty.
pub fn enotempty() -> Error {
    Error::from_errno(-(bindings::ENOTEMPTY as i32))
}
