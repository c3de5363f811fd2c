// SPDX-License-Identifier: GPL-2.0

//! Sorting a slice in place with the kernel's `sort_r()`, a heapsort: no allocation and a few
//! words of stack whatever the length of the slice or the size of its elements.
//!
//! `core`'s `sort_unstable` is a quicksort that keeps a scratch array of up to 48 elements in
//! its frames and recurses up to about `2 * log2(n)` deep: at `-O2` a slice of 48-byte records
//! costs over 3 KiB of stack per level, and a few levels overrun a 16 KiB kernel stack (an
//! unlink of a fragmented file did, on the bench kernel). Code of this module sorts with these
//! functions only.
//!
//! C header: [`include/linux/sort.h`](srctree/include/linux/sort.h)

use core::{cmp::Ordering, ffi::c_void, mem::size_of};
use kernel::ffi::c_int;

/// Sorts `v` by `cmp`; not stable.
///
/// # Examples
///
/// ```ignore
/// let mut v = [3u64, 1, 2];
/// sort_unstable_by(&mut v, |a, b| b.cmp(a));
/// assert_eq!(v, [3, 2, 1]);
/// ```
pub fn sort_unstable_by<T, F: Fn(&T, &T) -> Ordering>(v: &mut [T], cmp: F) {
    // Nothing to order: no call (and `sort_r` would be given elements of size 0).
    if v.len() < 2 || size_of::<T>() == 0 {
        return;
    }
    // SAFETY: `v` is exclusively borrowed for the call, so `sort_r` may read and swap its
    // `v.len()` elements of `size_of::<T>()` bytes at `v.as_mut_ptr()`; its default swap moves
    // them with byte or word copies chosen from the size (and the address where unaligned
    // access is slow), a plain move of any `T` (nothing here is pinned: `v` is a plain mutable
    // slice). `compare::<T, F>` is given two elements of `v` and `priv` = `&cmp`,
    // which outlives the call, as it expects.
    unsafe {
        super::ffi::sort_r(
            v.as_mut_ptr().cast(),
            v.len(),
            size_of::<T>(),
            Some(compare::<T, F>),
            None,
            ptr_of(&cmp),
        )
    }
}

/// Sorts `v` by the key `key` gives each element; not stable.
pub fn sort_unstable_by_key<T, K: Ord>(v: &mut [T], key: impl Fn(&T) -> K) {
    sort_unstable_by(v, |a, b| key(a).cmp(&key(b)))
}

/// Sorts `v` in ascending order; not stable.
pub fn sort_unstable<T: Ord>(v: &mut [T]) {
    sort_unstable_by(v, T::cmp)
}

fn ptr_of<F>(f: &F) -> *const c_void {
    (f as *const F).cast()
}

/// `sort_r()`'s comparison: `cmp_r_func_t` over elements of type `T` compared by `F`.
///
/// # Safety
///
/// `a` and `b` must point to valid `T`s and `cmp` to a live `F`, none of them written during
/// the call.
unsafe extern "C" fn compare<T, F: Fn(&T, &T) -> Ordering>(
    a: *const c_void,
    b: *const c_void,
    cmp: *const c_void,
) -> c_int {
    // SAFETY: The caller guarantees all three point to live values of these types, which
    // nothing writes while the shared references live (the call's duration).
    let (a, b, cmp) = unsafe { (&*a.cast::<T>(), &*b.cast::<T>(), &*cmp.cast::<F>()) };
    cmp(a, b) as c_int
}
