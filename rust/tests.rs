// SPDX-License-Identifier: GPL-2.0

//! KUnit suite `emfs_kernel_ext`: what the abstractions refuse or get right where a safe caller
//! could otherwise reach undefined behaviour, one case for each such path. A module of
//! `emfs.ko` only (`emfs_main.rs`), not of the sample that also builds `rust/`.

use crate::kernel_ext::kthread::KThread;
use crate::kernel_ext::kunit::{kunit_assert_eq, Test};
use crate::kernel_ext::slab::KmemCache;
use kernel::{c_str, prelude::*};

/// A thread name is printed, not used as a format: `%` directives in it must not make
/// `vsnprintf` read arguments that were never passed (or warn about `%n`).
pub(crate) fn kthread_name_is_not_a_format(t: &mut Test) -> Result {
    let th = KThread::spawn(c_str!("emfs_%s%p%n"), || 7)?;
    kunit_assert_eq!(t, th.join(), 7);
    Ok(())
}

/// A cache of zero-sized objects is refused: SLUB would divide by the object size.
pub(crate) fn slab_refuses_empty_objects(t: &mut Test) -> Result {
    static EMPTY: KmemCache<()> = KmemCache::new();
    kunit_assert_eq!(t, EMPTY.create(c_str!("emfs_empty")), Err(EINVAL));
    kunit_assert_eq!(t, EMPTY.destroy(), Ok(()));
    Ok(())
}
