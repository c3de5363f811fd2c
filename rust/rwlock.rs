// SPDX-License-Identifier: GPL-2.0

//! A reader-writer spinlock, the kernel's `rwlock_t`.
//!
//! The 6.12 `kernel` crate has no reader-writer lock. Locking and unlocking call the kernel's
//! out-of-line `_raw_*` functions directly, as C's `read_lock` and the others do; where the
//! configuration inlines one of them in C (`CONFIG_INLINE_READ_UNLOCK` and the like: no
//! symbol exists then) or replaces the lock (`CONFIG_PREEMPT_RT`), the module's C helper does
//! the C inline instead.
//!
//! C header: [`include/linux/rwlock.h`](srctree/include/linux/rwlock.h)

use super::ffi;
use core::{
    cell::UnsafeCell,
    marker::{PhantomData, PhantomPinned},
    ops::{Deref, DerefMut},
};
use kernel::{bindings, init::PinInit, prelude::*, str::CStr, sync::LockClassKey, types::Opaque};

/// Creates a [`RwLock`] initialiser with a lockdep class of its own for this call site.
#[macro_export]
macro_rules! new_rwlock {
    ($inner:expr, $name:literal $(,)?) => {
        $crate::kernel_ext::rwlock::RwLock::new(
            $inner,
            ::kernel::c_str!($name),
            ::kernel::static_lock_class!(),
        )
    };
}
pub use new_rwlock;

/// A reader-writer spinlock protecting a `T`.
///
/// Readers share the data; a writer has it alone. Both sides spin and disable preemption, so
/// nothing that may sleep can run while a guard is alive.
///
/// # Invariants
///
/// `lock` is an initialised `rwlock_t`. `data` is only accessed through a [`ReadGuard`]
/// (shared) or a [`WriteGuard`] (exclusive), which exist only while `lock` is held in the
/// matching mode.
///
/// # Examples
///
/// ```ignore
/// let lock = KBox::pin_init(new_rwlock!(0u64, "counter"), GFP_KERNEL)?;
/// *lock.write() += 1; // `u64: Unpin`: the write guard gives `&mut`
/// assert_eq!(*lock.read(), 1);
/// let held = lock.read();
/// assert!(lock.try_write().is_none()); // a reader holds it: no waiting
/// drop(held);
/// // A pinned `T` (say an extmap `Tree`) is reached as `Pin<&mut T>` only:
/// // `lock.write().as_mut()`.
/// ```
#[pin_data]
pub struct RwLock<T> {
    #[pin]
    lock: Opaque<bindings::rwlock_t>,
    #[pin]
    data: UnsafeCell<T>,
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: The lock hands out `&T` to several threads at once, so `T` must be `Sync`, and `&mut
// T` to one thread at a time, so `T` must be `Send`.
unsafe impl<T: Send + Sync> Sync for RwLock<T> {}
// SAFETY: Moving the lock to another thread moves `T` with it.
unsafe impl<T: Send> Send for RwLock<T> {}

impl<T> RwLock<T> {
    /// Returns an initialiser for a lock protecting the value `init` initialises, in lockdep
    /// class `key`. The value may be pinned (it never moves once the lock is initialised).
    pub fn new(
        init: impl PinInit<T>,
        name: &'static CStr,
        key: &'static LockClassKey,
    ) -> impl PinInit<Self> {
        // CAST: `LockClassKey` is `#[repr(transparent)]` over `Opaque<lock_class_key>`, so the
        // pointer is a valid `lock_class_key` that lockdep may write through.
        let key = (key as *const LockClassKey)
            .cast_mut()
            .cast::<bindings::lock_class_key>();
        // SAFETY: `UnsafeCell<T>` is `#[repr(transparent)]` over `T`, so initialising a `T` in
        // the slot initialises the cell; on error `init` has cleaned up after itself.
        let data = unsafe {
            kernel::init::pin_init_from_closure(move |slot: *mut UnsafeCell<T>| {
                init.__pinned_init(slot.cast::<T>())
            })
        };
        // INVARIANT: `lock` is initialised by `emfs_rwlock_init` before the lock is used.
        pin_init!(Self {
            data <- data,
            _pin: PhantomPinned,
            // SAFETY: `slot` is valid for writes while the closure runs; `name` and `key` are
            // `'static`, so they outlive the lock.
            lock <- Opaque::ffi_init(|slot| unsafe {
                ffi::emfs_rwlock_init(slot, name.as_char_ptr(), key)
            }),
        })
    }

    /// Takes the lock for reading, spinning while a writer holds it.
    pub fn read(&self) -> ReadGuard<'_, T> {
        // SAFETY: By the type invariant `lock` is initialised.
        unsafe { raw::read_lock(self.lock.get()) };
        // INVARIANT: The lock is now held for reading.
        ReadGuard {
            lock: self,
            _not_send: PhantomData,
        }
    }

    /// Takes the lock for reading if no writer holds or waits for it; `None` at once otherwise.
    pub fn try_read(&self) -> Option<ReadGuard<'_, T>> {
        // SAFETY: By the type invariant `lock` is initialised.
        if !unsafe { ffi::emfs_read_trylock(self.lock.get()) } {
            return None;
        }
        // INVARIANT: The trylock succeeded: the lock is now held for reading.
        Some(ReadGuard {
            lock: self,
            _not_send: PhantomData,
        })
    }

    /// Takes the lock for writing if nobody holds or waits for it; `None` at once otherwise (a
    /// caller that must not wait, such as a shrinker, skips the data).
    pub fn try_write(&self) -> Option<WriteGuard<'_, T>> {
        // SAFETY: By the type invariant `lock` is initialised.
        if !unsafe { ffi::emfs_write_trylock(self.lock.get()) } {
            return None;
        }
        // INVARIANT: The trylock succeeded: the lock is now held for writing.
        Some(WriteGuard {
            lock: self,
            _not_send: PhantomData,
        })
    }

    /// Takes the lock for writing, spinning while anyone else holds it.
    pub fn write(&self) -> WriteGuard<'_, T> {
        // SAFETY: By the type invariant `lock` is initialised.
        unsafe { raw::write_lock(self.lock.get()) };
        // INVARIANT: The lock is now held for writing.
        WriteGuard {
            lock: self,
            _not_send: PhantomData,
        }
    }
}

/// Shared access to the data of a [`RwLock`]; the read lock is released on drop.
///
/// # Invariants
///
/// `lock` is held for reading by this guard.
pub struct ReadGuard<'a, T> {
    lock: &'a RwLock<T>,
    // The unlock must run in the task (and with the preemption count) that locked.
    _not_send: PhantomData<*mut ()>,
}

impl<T> Deref for ReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: By the type invariant the read lock is held, so no writer exists.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> Drop for ReadGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant this guard holds the read lock.
        unsafe { raw::read_unlock(self.lock.lock.get()) };
    }
}

/// Exclusive access to the data of a [`RwLock`]; the write lock is released on drop.
///
/// # Invariants
///
/// `lock` is held for writing by this guard.
pub struct WriteGuard<'a, T> {
    lock: &'a RwLock<T>,
    _not_send: PhantomData<*mut ()>,
}

impl<T> WriteGuard<'_, T> {
    /// Tells lockdep to check that the lock is held for writing (a no-op without lockdep).
    pub fn assert_held(&self) {
        // SAFETY: By the type invariant of `RwLock`, `lock` is initialised.
        unsafe { ffi::emfs_lockdep_assert_write_held(self.lock.lock.get()) };
    }

    /// Lets waiters in (`cond_resched_rwlock_write`): if this task should reschedule or
    /// another task waits for the lock, drops the lock, reschedules and takes it again. Returns
    /// whether it did: whatever the caller learnt of the data under the lock may be stale then.
    pub fn cond_resched(&mut self) -> bool {
        // SAFETY: By the type invariant this guard holds the write lock, and `&mut self` keeps
        // every borrow of the data out while the lock may be dropped and retaken; the lock is
        // held again when the call returns.
        unsafe { ffi::emfs_cond_resched_rwlock_write(self.lock.lock.get()) != 0 }
    }
}

impl<T> Deref for WriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: By the type invariant the write lock is held, so this guard is alone.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> WriteGuard<'_, T> {
    /// The data, pinned: it never moves while the lock exists (the lock is only ever
    /// initialised in place, see [`RwLock::new`]). Data that must not move, such as a tree whose
    /// nodes point back into it, is reached only this way.
    pub fn as_mut(&mut self) -> Pin<&mut T> {
        // SAFETY: By the type invariant the write lock is held, and `&mut self` makes this the
        // only access through the guard. `data` is structurally pinned: `RwLock` is `!Unpin`
        // and built only by a `PinInit`, so it is never moved, and neither is `data`.
        unsafe { Pin::new_unchecked(&mut *self.lock.data.get()) }
    }
}

/// Plain `&mut T` only for data that may move: a `swap` of two guards' data would otherwise
/// move pinned data (the kernel crate's own lock guards of 6.12 allow it for every `T`).
impl<T: Unpin> DerefMut for WriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: By the type invariant the write lock is held, and `&mut self` makes this the
        // only access through the guard; `T: Unpin`, so moving it out is fine.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for WriteGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant this guard holds the write lock.
        unsafe { raw::write_unlock(self.lock.lock.get()) };
    }
}

impl<T> RwLock<T> {
    /// Whether a holder of the lock should let others in ([`WriteGuard::cond_resched`]): this
    /// task should reschedule, or another task waits for the lock. Callable while the data is
    /// borrowed through a guard, so that a walk checks it without ending its borrow.
    pub fn should_yield(&self) -> bool {
        // SAFETY: By the type invariant `lock` is initialised; the check only reads it and the
        // current task's flags.
        unsafe { ffi::emfs_rwlock_should_yield(self.lock.get()) }
    }
}

/// The lock's entry points: the kernel's out-of-line functions, which C's `read_lock` and the
/// others call too, or the C inline (through a helper) where the configuration inlines one.
mod raw {
    use super::ffi;
    use kernel::bindings::rwlock_t;

    /// One entry point: `$c` (C's name, for the documentation), the configuration under which
    /// C inlines it, the module's helper that does the C inline, and the kernel's function.
    macro_rules! entry {
        ($c:literal, $inlined:ident, $helper:ident, $raw:ident, $name:ident, $held:literal) => {
            #[doc = concat!("`", $c, "`.")]
            ///
            /// # Safety
            ///
            #[doc = concat!("`lock` must be an initialised `rwlock_t`", $held, ".")]
            #[inline]
            pub(super) unsafe fn $name(lock: *mut rwlock_t) {
                #[cfg(any($inlined, CONFIG_PREEMPT_RT))]
                // SAFETY: The caller's guarantee is the C function's, which the helper calls.
                unsafe {
                    ffi::$helper(lock)
                };
                #[cfg(not(any($inlined, CONFIG_PREEMPT_RT)))]
                // SAFETY: The caller's guarantee is the C function's, and this is what it
                // calls in this configuration.
                unsafe {
                    ffi::$raw(lock)
                };
            }
        };
    }

    entry!(
        "read_lock",
        CONFIG_INLINE_READ_LOCK,
        emfs_read_lock,
        _raw_read_lock,
        read_lock,
        ""
    );
    entry!(
        "read_unlock",
        CONFIG_INLINE_READ_UNLOCK,
        emfs_read_unlock,
        _raw_read_unlock,
        read_unlock,
        " this task holds for reading"
    );
    entry!(
        "write_lock",
        CONFIG_INLINE_WRITE_LOCK,
        emfs_write_lock,
        _raw_write_lock,
        write_lock,
        ""
    );
    entry!(
        "write_unlock",
        CONFIG_INLINE_WRITE_UNLOCK,
        emfs_write_unlock,
        _raw_write_unlock,
        write_unlock,
        " this task holds for writing"
    );
}
