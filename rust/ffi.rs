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
    /// `refcount_set()`.
    pub fn emfs_refcount_set(r: *mut bindings::refcount_t, n: c_int);
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
    /// `RB_EMPTY_NODE()`.
    pub fn emfs_rb_empty_node(node: *const bindings::rb_node) -> bool;

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
}
