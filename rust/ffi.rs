// SPDX-License-Identifier: GPL-2.0

//! Declarations of the C helpers in `rust/helpers.c`.
//!
//! They wrap static inlines and macros (`read_lock`, `refcount_read`, `INIT_LIST_HEAD`, ...)
//! for which bindgen emits no callable symbol. Each has the semantics of the kernel function
//! it wraps; see that function for its safety requirements.

use kernel::bindings;

extern "C" {
    /// `rwlock_init()` with an explicit lockdep class.
    pub fn emfs_rwlock_init(
        lock: *mut bindings::rwlock_t,
        name: *const core::ffi::c_char,
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
    pub fn emfs_refcount_read(r: *const bindings::refcount_t) -> core::ffi::c_uint;
    /// `refcount_set()`.
    pub fn emfs_refcount_set(r: *mut bindings::refcount_t, n: core::ffi::c_int);
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

    /// `kunit_err()` followed by `kunit_set_failure()`.
    pub fn emfs_kunit_fail(
        test: *mut bindings::kunit,
        file: *const core::ffi::c_char,
        line: core::ffi::c_int,
        msg: *const core::ffi::c_char,
    );
    /// `kunit_info()`.
    pub fn emfs_kunit_log(test: *mut bindings::kunit, msg: *const core::ffi::c_char);
}
