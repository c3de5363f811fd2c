// SPDX-License-Identifier: GPL-2.0

//! The static inlines of `rbtree.h` and `list.h` that [`super::reftree`] uses, inlined here as
//! C inlines them, with the same stores. With `CONFIG_DEBUG_LIST` the list operations go to C
//! instead, so that the list's integrity checks run on them as on C's.
//!
//! C headers: [`include/linux/rbtree.h`](srctree/include/linux/rbtree.h),
//! [`include/linux/list.h`](srctree/include/linux/list.h)

use core::ptr;
use kernel::bindings::{list_head, rb_node};

/// `RB_CLEAR_NODE`: marks `node` as in no tree (its parent pointer points at itself).
///
/// # Safety
///
/// `node` must be valid for writes and not linked in a tree.
#[inline]
pub unsafe fn rb_clear_node(node: *mut rb_node) {
    // SAFETY: The caller guarantees `node` is valid for writes.
    unsafe { (*node).__rb_parent_color = node as usize as _ };
}

/// `rb_link_node`: makes `node` a leaf child of `parent` at `link`, before rebalancing
/// (`rb_insert_color`).
///
/// # Safety
///
/// `node` must be valid for writes and in no tree; `link` must be the null child pointer of
/// `parent` (or the null root pointer, with `parent` null) of a tree the caller may change.
#[inline]
pub unsafe fn rb_link_node(node: *mut rb_node, parent: *mut rb_node, link: *mut *mut rb_node) {
    // SAFETY: The caller guarantees `node` and `link` are valid for writes.
    unsafe {
        (*node).__rb_parent_color = parent as usize as _;
        (*node).rb_left = ptr::null_mut();
        (*node).rb_right = ptr::null_mut();
        *link = node;
    }
}

/// `INIT_LIST_HEAD`: an empty list, or an entry on none.
///
/// # Safety
///
/// `list` must be valid for writes and on no list.
#[inline]
pub unsafe fn init_list_head(list: *mut list_head) {
    // SAFETY: The caller guarantees `list` is valid for writes.
    unsafe {
        (*list).next = list;
        (*list).prev = list;
    }
}

/// `list_empty`.
///
/// # Safety
///
/// `head` must be an initialised list head, valid for reads, that no one changes meanwhile.
#[inline]
pub unsafe fn list_empty(head: *const list_head) -> bool {
    // SAFETY: The caller guarantees `head` is valid for reads.
    ptr::eq(unsafe { (*head).next }, head)
}

/// `list_add_tail`: puts `entry` at the end of the list `head`.
///
/// # Safety
///
/// `head` must be an initialised list head and `entry` an entry on no list, both valid for
/// writes, and the caller must have the list to itself.
#[inline]
pub unsafe fn list_add_tail(entry: *mut list_head, head: *mut list_head) {
    #[cfg(CONFIG_DEBUG_LIST)]
    // SAFETY: The caller's guarantees are `list_add_tail`'s.
    unsafe {
        super::ffi::emfs_list_add_tail(entry, head)
    };
    #[cfg(not(CONFIG_DEBUG_LIST))]
    // SAFETY: `head` is an initialised list the caller has to itself, so `head->prev` is its
    // last entry (or `head`), valid for writes; `entry` is valid for writes.
    unsafe {
        let prev = (*head).prev;
        (*head).prev = entry;
        (*entry).next = head;
        (*entry).prev = prev;
        (*prev).next = entry;
    }
}

/// `list_del_init`: takes `entry` off its list and leaves it initialised (on none).
///
/// # Safety
///
/// `entry` must be on a list, valid for writes, and the caller must have that list to itself.
#[inline]
pub unsafe fn list_del_init(entry: *mut list_head) {
    #[cfg(CONFIG_DEBUG_LIST)]
    // SAFETY: The caller's guarantees are `list_del_init`'s.
    unsafe {
        super::ffi::emfs_list_del_init(entry)
    };
    #[cfg(not(CONFIG_DEBUG_LIST))]
    // SAFETY: `entry` is on a list the caller has to itself, so its neighbours are entries (or
    // the head) of that list, valid for writes.
    unsafe {
        let (prev, next) = ((*entry).prev, (*entry).next);
        (*next).prev = prev;
        (*prev).next = next;
        init_list_head(entry);
    }
}
