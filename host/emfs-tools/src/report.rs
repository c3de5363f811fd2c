// SPDX-License-Identifier: GPL-2.0

//! What a check of an emfs found ([`crate::fsck`]), and the exit code `fsck.emfs` gives it.

use crate::superblock::DiskSuperblock;

/// e2fsck's exit codes, the ones fsck.emfs uses.
pub mod exit {
    /// No errors.
    pub const CLEAN: i32 = 0;
    /// Errors found and left uncorrected.
    pub const ERRORS: i32 = 4;
    /// Operational error: the device could not be read.
    pub const OPERATIONAL: i32 = 8;
    /// Usage error.
    pub const USAGE: i32 = 16;
}

/// What a check found.
#[derive(Debug, Default)]
pub struct Report {
    /// Every broken invariant, one line each.
    pub errors: Vec<String>,
    /// The header of the superblock used, if one was valid.
    pub superblock: Option<DiskSuperblock>,
    /// Regular files in use.
    pub files: u64,
    /// Directories in use.
    pub directories: u64,
    /// Symlinks in use.
    pub symlinks: u64,
    /// FIFOs, sockets and device nodes in use.
    pub special: u64,
    /// Inodes in use with no link (unlinked while open; the next mount frees them).
    pub orphans: u64,
    /// Extent records.
    pub extents: u64,
    /// Blocks in use.
    pub used_blocks: u64,
    /// The image cannot be checked (an unknown incompatible feature): exit 8.
    pub unsupported: bool,
    /// The image is of a format version that is refused, as the mount refuses it: what the
    /// mount says ([`crate::superblock::V1_REFUSED`]); nothing else is checked. Exit 8.
    pub refused: Option<&'static str>,
}

impl Report {
    pub(crate) fn error(&mut self, msg: String) {
        self.errors.push(msg);
    }

    /// The exit code for this report.
    pub fn exit_code(&self) -> i32 {
        if self.unsupported || self.refused.is_some() {
            exit::OPERATIONAL
        } else if self.errors.is_empty() {
            exit::CLEAN
        } else {
            exit::ERRORS
        }
    }
}
