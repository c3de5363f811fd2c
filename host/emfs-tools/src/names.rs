// SPDX-License-Identifier: GPL-2.0

//! Rules of a directory's names that only the host tools check (the module keeps each
//! directory's names in an index that refuses a second one).

/// Whether `names` (one directory's, reordered here) holds no name twice.
pub fn names_unique(names: &mut [&[u8]]) -> bool {
    names.sort_unstable();
    names.windows(2).all(|w| w[0] != w[1])
}
