// SPDX-License-Identifier: GPL-2.0

//! emfs: a small block-device file system built on extmap, a Rust port of btrfs's extent-map
//! cache.
//!
//! This is the crate root of `emfs.ko`. The module is one crate (Kbuild builds one crate per
//! module); its parts are modules of this crate:
//!
//! - [`kernel_ext`] (`rust/`): the kernel abstractions 6.12's `kernel` crate lacks, and the
//!   only place with `unsafe` code.
//! - [`extmap`] (`extmap/`): the extent-map cache, safe Rust, with its KUnit suite.
//! - [`emfs`] (`emfs/`): the file system, safe Rust on extmap and `kernel_ext::vfs`.

#[path = "rust/mod.rs"]
pub mod kernel_ext;

#[path = "extmap/mod.rs"]
pub mod extmap;

#[path = "emfs/mod.rs"]
pub mod emfs;

#[path = "rust/tests.rs"]
mod kernel_ext_tests;

use kernel::prelude::*;

// The KUnit suites, registered here: a registration needs `unsafe` (a linker-section static),
// which `extmap` and `emfs` forbid.
kernel_ext::kunit::kunit_suite!(
    extmap_suite,
    "extmap",
    crate::extmap::tests,
    [
        test_case_1,
        test_case_2,
        test_case_3,
        test_case_4,
        test_case_5,
        test_case_6,
        test_case_7,
        test_case_8,
        seed_refused_merge_while_read,
        seed_neighbour_never_written,
        merge_on_insert,
        unpin_errors,
        drop_range_without_memory,
        drop_range_split_flags,
        try_release_rules,
        split_for_direct_io,
        concurrent_readers_and_merges,
        map_size,
    ]
);
// The shrinker's walk of one tree.
kernel_ext::kunit::kunit_suite!(
    extmap_shrink_suite,
    "extmap_shrink",
    crate::extmap::shrink_tests,
    [
        shrink_keeps_what_is_needed,
        shrink_resumes_where_it_stopped,
        shrink_skips_a_locked_tree,
    ]
);
// emfs's checksum suite: the kernel's crc32c() against the host's on the same bytes.
kernel_ext::kunit::kunit_suite!(
    emfs_checksum_suite,
    "emfs_checksum",
    crate::emfs::checksum_tests,
    [
        crc32c_known_vectors,
        crc32c_matches_the_host,
        sealed_block_detects_a_flip,
    ]
);
// A directory in memory and its chain (format version 2).
kernel_ext::kunit::kunit_suite!(
    emfs_dir_suite,
    "emfs_dir",
    crate::emfs::dir_tests,
    [
        dir_add_lookup_remove,
        dir_hash_collision,
        dir_visit_from_position,
        dir_chain_round_trip,
        dir_bad_chain,
        dir_cookie_limit,
    ]
);
// The version-2 namespace in memory: each operation, each refusal, a random run.
kernel_ext::kunit::kunit_suite!(
    emfs_namespace_suite,
    "emfs_namespace",
    crate::emfs::namespace_tests,
    [
        ns_make_link_remove,
        ns_rename_refusals,
        ns_rename_moves,
        ns_random_run,
    ]
);
// The version-2 metadata written to a disk in memory and read back.
kernel_ext::kunit::kunit_suite!(
    emfs_meta_suite,
    "emfs_meta",
    crate::emfs::meta_tests,
    [
        meta_round_trip,
        meta_damage_found,
        meta_superblock_choice,
        meta_blocks_owned_once,
    ]
);
// A file's extent records replaced by range.
kernel_ext::kunit::kunit_suite!(
    emfs_records_suite,
    "emfs_records",
    crate::emfs::records_tests,
    [records_split_and_free, records_range_over_several]
);
// The mounted state on a device in memory that keeps only what a power cut would.
kernel_ext::kunit::kunit_suite!(
    emfs_state_suite,
    "emfs_state",
    crate::emfs::state_tests,
    [
        state_commit_and_load,
        state_commit_cut_anywhere,
        state_space_promises,
        state_superblock_other_slot,
        state_namespace_reserve,
        state_writeback_keeps_promises,
    ]
);
// The abstractions' own suite: what they refuse where a safe caller could reach UB.
kernel_ext::kunit::kunit_suite!(
    kernel_ext_suite,
    "emfs_kernel_ext",
    crate::kernel_ext_tests,
    [
        kthread_name_is_not_a_format,
        slab_refuses_empty_objects,
        replace_keeps_the_tree_ordered,
        trees_know_their_own_nodes,
        sort_orders_slices,
    ]
);
use kernel_ext::{refcount::Refcount, rwlock::RwLock};

module! {
    type: EmfsModule,
    name: "emfs",
    author: "extmap developers",
    description: "emfs: a block-device file system on a Rust port of btrfs's extent maps",
    license: "GPL v2",
}

/// The module's state.
struct EmfsModule {
    fs: Option<kernel_ext::vfs::Registration<emfs::Emfs>>,
    /// extmap's debugfs files; the script files allocate maps, so they go before the cache.
    stats: Option<kernel_ext::debugfs::DebugfsDir>,
    _emfs_debug: kernel_ext::debugfs::DebugfsDir,
}

/// Exercises every C helper the module links against once, so that a module that loads is a
/// module whose composite C+Rust link is sound.
fn init_self_check() -> Result {
    let count = Refcount::new(1);
    count.inc();
    if count.read() != 2
        || count.read_acquire() != 2
        || count.dec_and_test()
        || !count.dec_and_test()
    {
        return Err(EINVAL);
    }

    let lock = KBox::pin_init(
        crate::kernel_ext::rwlock::new_rwlock!(7u32, "emfs_self_check"),
        GFP_KERNEL,
    )?;
    // One reader at a time: lockdep treats a recursive read_lock outside interrupts as a
    // deadlock (a queued writer blocks the second reader).
    if *lock.read() != 7 {
        return Err(EINVAL);
    }
    {
        let mut w = lock.write();
        w.assert_held();
        *w += 1;
    }
    if *lock.read() != 8 {
        return Err(EINVAL);
    }
    let _: &RwLock<u32> = &lock;
    Ok(())
}

impl kernel::Module for EmfsModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        init_self_check().inspect_err(|e| pr_err!("init self-check failed: {:?}\n", e))?;
        pr_info!("init self-check passed\n");
        extmap::init(kernel::c_str!("emfs_extent_map"))?;
        let fs = kernel_ext::vfs::Registration::new(module).inspect_err(|_| {
            let _ = extmap::exit();
        })?;
        Ok(EmfsModule {
            fs: Some(fs),
            stats: Some(extmap::stats::register_debugfs()),
            _emfs_debug: emfs::debug::register_debugfs(),
        })
    }
}

impl Drop for EmfsModule {
    fn drop(&mut self) {
        // No mount can exist (it would hold the module), so every map is gone with its inode.
        self.fs = None;
        // Removing the debugfs files waits for their running handlers (a script allocating
        // maps), so that no allocation can start while the cache is destroyed.
        self.stats = None;
        if extmap::exit().is_err() {
            // Leaking the cache is better than freeing it under live maps.
            pr_err!(
                "{} extent maps still alive at unload\n",
                extmap::maps_alive()
            );
        }
        pr_info!("unloaded\n");
    }
}
