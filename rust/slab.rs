// SPDX-License-Identifier: GPL-2.0

//! A dedicated slab cache (`struct kmem_cache`) for objects of one type.
//!
//! C header: [`include/linux/slab.h`](srctree/include/linux/slab.h)

use core::{
    marker::PhantomData,
    ptr::{self, NonNull},
    sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering},
};
use kernel::{bindings, prelude::*, str::CStr};

/// A slab cache for `T`, meant to live in a `static`: [`KmemCache::create`] at module init,
/// [`KmemCache::destroy`] at module exit.
///
/// Destruction cannot race with an allocation: an allocation counts itself in `live` *before*
/// it looks at the cache, and [`KmemCache::destroy`] closes the cache to new allocations
/// *before* it looks at `live` (all sequentially consistent), so at least one of the two sees
/// the other: either the allocation backs off, or the destruction is refused.
///
/// # Invariants
///
/// `cache` is null or a cache created by `kmem_cache_create` for objects of `size_of::<T>()`
/// bytes aligned for `T`, not yet destroyed. `live` counts the objects allocated from it and not
/// yet freed, plus allocations in progress. While `closed` is set no allocation starts using
/// `cache`.
///
/// # Examples
///
/// ```ignore
/// static CACHE: KmemCache<Foo> = KmemCache::new();
/// CACHE.create(c_str!("foo"))?; // module init
/// let p = CACHE.alloc_raw()?;
/// // ... `ptr::write` a `Foo` into `p`, use it, drop it in place ...
/// // SAFETY: `p` came from this cache and its `Foo` was dropped.
/// unsafe { CACHE.free_raw(p) };
/// CACHE.destroy()?; // module exit: `EBUSY` while an object is alive
/// ```
pub struct KmemCache<T> {
    cache: AtomicPtr<bindings::kmem_cache>,
    live: AtomicUsize,
    closed: AtomicBool,
    _p: PhantomData<T>,
}

// SAFETY: The slab allocator is thread-safe, every field is an atomic, and no `T` is stored:
// sharing the cache between threads shares only those.
unsafe impl<T> Sync for KmemCache<T> {}
// SAFETY: The cache holds no `T` and is not bound to the thread that created it.
unsafe impl<T> Send for KmemCache<T> {}

impl<T> KmemCache<T> {
    /// An empty slot; allocations fail with `ENOMEM` until [`KmemCache::create`].
    // A cache lives in a `static`, which needs this `const fn`; a `Default` would be a second,
    // unused way to make one.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Self {
            cache: AtomicPtr::new(ptr::null_mut()),
            live: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            _p: PhantomData,
        }
    }

    /// Creates the cache. Fails with `EBUSY` if it exists, `EINVAL` for a zero-sized `T` (SLUB
    /// cannot make a cache of empty objects), `ENOMEM` if the slab allocator fails.
    pub fn create(&self, name: &'static CStr) -> Result {
        if !self.cache.load(Ordering::Acquire).is_null() {
            return Err(EBUSY);
        }
        if core::mem::size_of::<T>() == 0 {
            return Err(EINVAL);
        }
        let size = u32::try_from(core::mem::size_of::<T>()).map_err(|_| EINVAL)?;
        let mut args = bindings::kmem_cache_args {
            align: core::mem::align_of::<T>() as u32,
            // SAFETY: All-zero is a valid `kmem_cache_args`: no usercopy, no constructor.
            ..unsafe { core::mem::zeroed() }
        };
        // Never merged with another cache of the same size: `live` and `/sys/kernel/slab/NAME`
        // then count this cache's objects only, and they never share slabs with another
        // subsystem's (make bench races btrfs's cache of the same size against this one).
        // SAFETY: `emfs_slab_no_merge` only returns a constant.
        let flags = unsafe { super::ffi::emfs_slab_no_merge() };
        // SAFETY: `name` is `'static` and NUL-terminated (slab keeps the pointer); `args` is
        // valid for the call.
        let cache = unsafe {
            bindings::__kmem_cache_create_args(name.as_char_ptr(), size, &mut args, flags)
        };
        if cache.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: `cache` was just created for `T`-sized objects.
        self.cache
            .compare_exchange(ptr::null_mut(), cache, Ordering::AcqRel, Ordering::Acquire)
            .map_err(|_| {
                // SAFETY: The cache was created above and nobody else has seen it.
                unsafe { bindings::kmem_cache_destroy(cache) };
                EBUSY
            })?;
        Ok(())
    }

    /// Destroys the cache. Refused (`EBUSY`, and the cache stays usable) while objects
    /// allocated from it are alive or being allocated.
    pub fn destroy(&self) -> Result {
        // Close first, then look at `live`: see the type's documentation.
        if self.closed.swap(true, Ordering::SeqCst) {
            // Another destruction is running.
            return Err(EBUSY);
        }
        if self.live.load(Ordering::SeqCst) != 0 {
            self.closed.store(false, Ordering::SeqCst);
            return Err(EBUSY);
        }
        let cache = self.cache.swap(ptr::null_mut(), Ordering::SeqCst);
        if !cache.is_null() {
            // SAFETY: By the type invariant `cache` is a live cache. No object allocated from
            // it is alive and no allocation uses it: `live` was 0 after `closed` was set, so an
            // allocation that counted itself later reads `closed` either set (and backs off) or
            // clear again after this destruction, and then reads `cache` null (it reads
            // `closed` first); `cache` is null for everyone from now on.
            unsafe { bindings::kmem_cache_destroy(cache) };
        }
        self.closed.store(false, Ordering::SeqCst);
        Ok(())
    }

    /// The number of objects allocated from the cache and not yet freed.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// The live-object counter itself, for a read-only debugfs file
    /// ([`super::debugfs::DebugfsDir::add_live_objects`]). Not public: the cache's safety rests on
    /// the count, which nothing but the cache may write.
    pub(in crate::kernel_ext) fn live_counter(&self) -> &AtomicUsize {
        &self.live
    }

    /// Allocates room for one `T` with `GFP_NOFS`: objects of a file system's caches are
    /// allocated on paths that reclaim may enter through the file system.
    pub fn alloc_raw(&self) -> Result<NonNull<T>> {
        // Count first, then look at `closed`, then at `cache`: see the type's documentation.
        // (`closed` before `cache`: a destruction that completed clears `closed` again, after
        // it cleared `cache`, so seeing `closed` clear after it means seeing `cache` null.)
        self.live.fetch_add(1, Ordering::SeqCst);
        let closed = self.closed.load(Ordering::SeqCst);
        let cache = self.cache.load(Ordering::SeqCst);
        if closed || cache.is_null() {
            self.live.fetch_sub(1, Ordering::SeqCst);
            return Err(ENOMEM);
        }
        // SAFETY: `emfs_gfp_nofs` only returns a constant.
        let gfp = unsafe { super::ffi::emfs_gfp_nofs() };
        // SAFETY: By the type invariant `cache` is a live cache, and it stays so: this
        // allocation is counted in `live` and found the cache open, so `destroy` refuses.
        let p = unsafe { bindings::kmem_cache_alloc_noprof(cache, gfp) };
        NonNull::new(p.cast::<T>()).ok_or_else(|| {
            self.live.fetch_sub(1, Ordering::SeqCst);
            ENOMEM
        })
    }

    /// Returns an object's memory to the cache.
    ///
    /// # Safety
    ///
    /// `p` must come from [`KmemCache::alloc_raw`] on this cache, must not be used afterwards,
    /// and any `T` in it must have been dropped already.
    pub unsafe fn free_raw(&self, p: NonNull<T>) {
        let cache = self.cache.load(Ordering::Acquire);
        // SAFETY: The caller guarantees `p` came from this cache, which cannot have been
        // destroyed while `p` was alive (`destroy` refuses while `live` is not 0).
        unsafe { bindings::kmem_cache_free(cache, p.as_ptr().cast()) };
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}
