// SPDX-License-Identifier: GPL-2.0

//! Declarations of the C helpers in `rust/helpers.c`.
//!
//! They wrap static inlines and macros (`read_lock`, `refcount_read`, `INIT_LIST_HEAD`, ...)
//! for which bindgen emits no callable symbol. Each has the semantics of the kernel function
//! it wraps; see that function for its safety requirements.

use kernel::{
    bindings,
    ffi::{c_char, c_int, c_uint},
};

/// A command file's handler (`emfs_cmdfile_fn`): the file, the input and its length.
pub type CmdFileFn =
    unsafe extern "C" fn(f: *mut core::ffi::c_void, input: *const c_char, len: usize) -> c_int;

// The C structs are only passed by pointer; some contain zero-sized members (as
// `mod_arch_specific` on x86), which the lint flags. The kernel's own bindings allow it too.
#[allow(improper_ctypes)]
extern "C" {
    /// `rwlock_init()` with an explicit lockdep class.
    pub fn emfs_rwlock_init(
        lock: *mut bindings::rwlock_t,
        name: *const c_char,
        key: *mut bindings::lock_class_key,
    );
    /// `read_lock()`.
    pub fn emfs_read_lock(lock: *mut bindings::rwlock_t);
    /// `read_unlock()`.
    pub fn emfs_read_unlock(lock: *mut bindings::rwlock_t);
    /// `write_lock()`.
    pub fn emfs_write_lock(lock: *mut bindings::rwlock_t);
    /// `write_unlock()`.
    pub fn emfs_write_unlock(lock: *mut bindings::rwlock_t);
    /// `lockdep_assert_held_write()`.
    pub fn emfs_lockdep_assert_write_held(lock: *mut bindings::rwlock_t);

    /// `refcount_read()`.
    pub fn emfs_refcount_read(r: *const bindings::refcount_t) -> c_uint;
    /// `atomic_read_acquire()` of the count.
    pub fn emfs_refcount_read_acquire(r: *const bindings::refcount_t) -> c_uint;
    /// `refcount_inc()`.
    pub fn emfs_refcount_inc(r: *mut bindings::refcount_t);
    /// `refcount_dec_and_test()`.
    pub fn emfs_refcount_dec_and_test(r: *mut bindings::refcount_t) -> bool;

    /// `INIT_LIST_HEAD()`.
    pub fn emfs_init_list_head(list: *mut bindings::list_head);
    /// `list_add_tail()`.
    pub fn emfs_list_add_tail(entry: *mut bindings::list_head, head: *mut bindings::list_head);
    /// `list_del_init()`.
    pub fn emfs_list_del_init(entry: *mut bindings::list_head);
    /// `list_empty()`.
    pub fn emfs_list_empty(head: *const bindings::list_head) -> bool;

    /// `RB_CLEAR_NODE()`.
    pub fn emfs_rb_clear_node(node: *mut bindings::rb_node);

    /// `GFP_NOFS`, which bindgen cannot evaluate.
    pub fn emfs_gfp_nofs() -> bindings::gfp_t;

    /// `debugfs_create_dir()` (debugfs.h is not in the 6.12 bindings).
    pub fn debugfs_create_dir(
        name: *const c_char,
        parent: *mut core::ffi::c_void,
    ) -> *mut core::ffi::c_void;
    /// `debugfs_create_u64()`.
    pub fn debugfs_create_u64(
        name: *const c_char,
        mode: bindings::umode_t,
        parent: *mut core::ffi::c_void,
        value: *mut u64,
    );
    /// `debugfs_create_size_t()`.
    pub fn debugfs_create_size_t(
        name: *const c_char,
        mode: bindings::umode_t,
        parent: *mut core::ffi::c_void,
        value: *mut usize,
    );
    /// `debugfs_remove()` (recursive).
    pub fn debugfs_remove(dentry: *mut core::ffi::c_void);
    /// A debugfs command file (`rust/cmdfile.c`) whose first read runs `handler` on the input.
    pub fn emfs_debugfs_create_cmdfile(
        name: *const c_char,
        parent: *mut core::ffi::c_void,
        handler: CmdFileFn,
    ) -> *mut core::ffi::c_void;
    /// Appends `n` bytes at `p` to the output of the command file `f` (`-ENOMEM` on failure).
    pub fn emfs_cmdfile_emit(f: *mut core::ffi::c_void, p: *const c_char, n: usize) -> c_int;

    /// `folio_pos()`.
    pub fn emfs_folio_pos(folio: *mut bindings::folio) -> bindings::loff_t;
    /// `folio_size()`.
    pub fn emfs_folio_size(folio: *mut bindings::folio) -> usize;
    /// `folio_zero_range()`.
    pub fn emfs_folio_zero_range(folio: *mut bindings::folio, start: usize, len: usize);
    /// `folio->mapping->host`.
    pub fn emfs_folio_inode(folio: *mut bindings::folio) -> *mut bindings::inode;
    /// `mapping_set_release_always()`.
    pub fn emfs_mapping_set_release_always(mapping: *mut bindings::address_space);
    /// `virt_to_page()`.
    pub fn emfs_virt_to_page(addr: *const core::ffi::c_void) -> *mut bindings::page;
    /// `rac->mapping->host`.
    pub fn emfs_readahead_inode(rac: *mut bindings::readahead_control) -> *mut bindings::inode;
    /// `readahead_folio()`: the next locked folio of a readahead batch, or null.
    pub fn emfs_readahead_folio(rac: *mut bindings::readahead_control) -> *mut bindings::folio;
    /// Makes a read bio end the read of all its folios when it completes, then put itself.
    pub fn emfs_bio_set_read_end_io(bio: *mut bindings::bio);
    /// `dir_emit()`.
    pub fn emfs_dir_emit(
        ctx: *mut bindings::dir_context,
        name: *const c_char,
        len: c_int,
        ino: u64,
        ty: c_uint,
    ) -> bool;
    /// `dir_emit_dots()`.
    pub fn emfs_dir_emit_dots(file: *mut bindings::file, ctx: *mut bindings::dir_context) -> bool;
    /// `file_inode()`.
    pub fn emfs_file_inode(file: *mut bindings::file) -> *mut bindings::inode;
    /// `sb->s_flags |= SB_RDONLY`.
    pub fn emfs_sb_set_rdonly(sb: *mut bindings::super_block);
    /// `lockdep_register_key()` on every key a `file_system_type` embeds.
    pub fn emfs_fs_type_register_keys(t: *mut bindings::file_system_type);
    /// `lockdep_unregister_key()` on the same keys.
    pub fn emfs_fs_type_unregister_keys(t: *mut bindings::file_system_type);
    /// Fills a `struct kstatfs` (not in the 6.12 bindings).
    #[allow(clippy::too_many_arguments)]
    pub fn emfs_fill_statfs(
        buf: *mut bindings::kstatfs,
        ty: core::ffi::c_long,
        bsize: core::ffi::c_long,
        blocks: u64,
        bfree: u64,
        files: u64,
        ffree: u64,
        namelen: core::ffi::c_long,
    );
    /// `inode->i_state & I_NEW`.
    pub fn emfs_inode_is_new(inode: *mut bindings::inode) -> bool;

    /// `folio_end_read()` (exported; pagemap.h is not in the 6.12 bindings).
    pub fn folio_end_read(folio: *mut bindings::folio, success: bool);

    /// `kunit_err()` followed by `kunit_set_failure()`.
    pub fn emfs_kunit_fail(
        test: *mut bindings::kunit,
        file: *const c_char,
        line: c_int,
        msg: *const c_char,
    );
    /// `kunit_info()`.
    pub fn emfs_kunit_log(test: *mut bindings::kunit, msg: *const c_char);

    /// `__filemap_get_folio(mapping, pos >> PAGE_SHIFT, FGP_WRITEBEGIN, ...)`: a locked,
    /// referenced folio, or null with `*err` set.
    pub fn emfs_write_begin_folio(
        mapping: *mut bindings::address_space,
        pos: bindings::loff_t,
        err: *mut c_int,
    ) -> *mut bindings::folio;
    /// `folio_lock()`.
    pub fn emfs_folio_lock(folio: *mut bindings::folio);
    /// `folio_unlock()`.
    pub fn emfs_folio_unlock(folio: *mut bindings::folio);
    /// `folio_put()`.
    pub fn emfs_folio_put(folio: *mut bindings::folio);
    /// `folio_test_uptodate()`.
    pub fn emfs_folio_test_uptodate(folio: *mut bindings::folio) -> bool;
    /// `folio_mark_uptodate()`.
    pub fn emfs_folio_mark_uptodate(folio: *mut bindings::folio);
    /// `folio_test_dirty()`.
    pub fn emfs_folio_test_dirty(folio: *mut bindings::folio) -> bool;
    /// `folio_test_writeback()`.
    pub fn emfs_folio_test_writeback(folio: *mut bindings::folio) -> bool;
    /// `folio->mapping`.
    pub fn emfs_folio_mapping(folio: *mut bindings::folio) -> *mut bindings::address_space;
    /// `folio_wait_stable()`.
    pub fn emfs_folio_wait_stable(folio: *mut bindings::folio);
    /// Whether the folio holds a block reservation (non-null `private`).
    pub fn emfs_folio_reserved(folio: *mut bindings::folio) -> bool;
    /// `folio_attach_private()` of the reservation marker.
    pub fn emfs_folio_set_reserved(folio: *mut bindings::folio);
    /// `folio_detach_private()`; whether there was a reservation.
    pub fn emfs_folio_clear_reserved(folio: *mut bindings::folio) -> bool;
    /// `folio_start_writeback()`.
    pub fn emfs_folio_start_writeback(folio: *mut bindings::folio);
    /// `i_size_write()`.
    pub fn emfs_i_size_write(inode: *mut bindings::inode, size: bindings::loff_t);
    /// `mark_inode_dirty()`.
    pub fn emfs_mark_inode_dirty(inode: *mut bindings::inode);
    /// `current_fsuid()` in the initial user namespace.
    pub fn emfs_current_fsuid() -> u32;
    /// `current_fsgid()` in the initial user namespace.
    pub fn emfs_current_fsgid() -> u32;
    /// `file_inode(vmf->vma->vm_file)`.
    pub fn emfs_vmf_inode(vmf: *mut bindings::vm_fault) -> *mut bindings::inode;
    /// `page_folio(vmf->page)`.
    pub fn emfs_vmf_folio(vmf: *mut bindings::vm_fault) -> *mut bindings::folio;
    /// `file_accessed()`.
    pub fn emfs_file_accessed(file: *mut bindings::file);
    /// `filemap_write_and_wait_range()`.
    pub fn emfs_filemap_write_and_wait_range(
        mapping: *mut bindings::address_space,
        start: bindings::loff_t,
        end: bindings::loff_t,
    ) -> c_int;
    /// `filemap_migrate_folio()`.
    pub fn emfs_migrate_folio(
        mapping: *mut bindings::address_space,
        dst: *mut bindings::folio,
        src: *mut bindings::folio,
        mode: bindings::migrate_mode,
    ) -> c_int;
    /// `alloc_workqueue("%s-endio", WQ_MEM_RECLAIM | WQ_UNBOUND, 0, fs_name)`.
    pub fn emfs_alloc_workqueue(fs_name: *const c_char) -> *mut bindings::workqueue_struct;
    /// `INIT_WORK()`.
    pub fn emfs_init_work(work: *mut bindings::work_struct, f: bindings::work_func_t);
    /// `queue_work()`.
    pub fn emfs_queue_work(
        wq: *mut bindings::workqueue_struct,
        work: *mut bindings::work_struct,
    ) -> bool;
    /// `flush_workqueue()`.
    pub fn emfs_flush_workqueue(wq: *mut bindings::workqueue_struct);
    /// Ends the writeback of every folio of a completed write bio, recording an error in
    /// their mappings if it failed.
    pub fn emfs_bio_end_writeback(bio: *mut bindings::bio);
    /// `blk_status_to_errno(bio->bi_status)`.
    pub fn emfs_bio_status(bio: *mut bindings::bio) -> c_int;
    /// A synchronous metadata write; with `fua`, also `REQ_PREFLUSH | REQ_FUA`.
    pub fn emfs_write_opf(fua: bool) -> bindings::blk_opf_t;
    /// A data write.
    pub fn emfs_data_write_opf() -> bindings::blk_opf_t;
    /// `sb_rdonly()`.
    pub fn emfs_sb_rdonly(sb: *mut bindings::super_block) -> bool;
    /// `inode_lock()`.
    pub fn emfs_inode_lock(inode: *mut bindings::inode);
    /// `inode_unlock()`.
    pub fn emfs_inode_unlock(inode: *mut bindings::inode);
    /// `sb_start_pagefault()`.
    pub fn emfs_sb_start_pagefault(sb: *mut bindings::super_block);
    /// `sb_end_pagefault()`.
    pub fn emfs_sb_end_pagefault(sb: *mut bindings::super_block);
    /// `d_inode()`.
    pub fn emfs_d_inode(dentry: *mut bindings::dentry) -> *mut bindings::inode;
    /// `memalloc_nofs_save()`.
    pub fn emfs_memalloc_nofs_save() -> c_uint;
    /// `memalloc_nofs_restore()`.
    pub fn emfs_memalloc_nofs_restore(flags: c_uint);
    /// `folio_end_writeback()` (exported; pagemap.h is not in the 6.12 bindings).
    pub fn folio_end_writeback(folio: *mut bindings::folio);
}
