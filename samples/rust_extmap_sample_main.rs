// SPDX-License-Identifier: GPL-2.0

//! A small sample: the reader-writer lock and reference count that extmap is built on.

#[path = "../rust/mod.rs"]
pub mod kernel_ext;

use kernel::prelude::*;
use kernel_ext::refcount::Refcount;

module! {
    type: RustExtmapSample,
    name: "rust_extmap_sample",
    author: "extmap developers",
    description: "Sample: the primitives extmap is built on",
    license: "GPL v2",
}

struct RustExtmapSample;

impl kernel::Module for RustExtmapSample {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // A tree lock guards the value; readers share it, a writer has it alone.
        let lock = KBox::pin_init(
            kernel_ext::rwlock::new_rwlock!(0u64, "sample_lock"),
            GFP_KERNEL,
        )?;
        *lock.write() = 4096;
        let value = *lock.read();

        // One reference for the "tree", one for us: the state in which extmap allows a merge.
        let refs = Refcount::new(1);
        refs.inc();
        pr_info!(
            "value {} under the lock, {} references\n",
            value,
            refs.read()
        );
        let _ = refs.dec_and_test();
        Ok(RustExtmapSample)
    }
}
