// SPDX-License-Identifier: GPL-2.0

//! Registration of a file system type.

use super::super_block::{kill_sb_callback, mount_callback};
use super::*;

/// A registered file system type; unregistered on drop.
///
/// The `file_system_type` is allocated apart from this object, because a superblock keeps
/// pointing at it (`s_type`) until it is unmounted, and unregistering does not wait for that.
/// Each superblock holds the module (`owner`), so while the module is being unloaded none
/// exists and none is being made: then the type is freed. Dropped at any other time (a mount
/// may exist), the type is unregistered but its memory, and its lockdep keys, stay: a small
/// leak instead of a use-after-free.
///
/// # Invariants
///
/// `fs` points to a `file_system_type` allocated by [`Registration::new`] for `T` of `module`,
/// with its lockdep keys registered, and registered with `register_filesystem` while this
/// object lives.
///
/// # Examples
///
/// ```ignore
/// // `MyFs` implements `FileSystem`, `InodeOperations`, `FileOperations` and
/// // `AddressSpaceOperations` (each `#[vtable]`: what it leaves out keeps the VFS default).
/// let reg = Registration::<MyFs>::new(module)?;
/// // `mount -t <MyFs::NAME>` works until `reg` is dropped.
/// ```
pub struct Registration<T: Type> {
    fs: ptr::NonNull<bindings::file_system_type>,
    module: &'static ThisModule,
    _p: PhantomData<T>,
}

// SAFETY: The registration is only used to unregister, which any thread may do.
unsafe impl<T: Type> Send for Registration<T> {}
// SAFETY: `&Registration` gives access to nothing.
unsafe impl<T: Type> Sync for Registration<T> {}

impl<T: Type> Registration<T> {
    /// Registers `T` as a file system type of `module`.
    pub fn new(module: &'static ThisModule) -> Result<Self> {
        const {
            assert!(
                T::BLOCK_SIZE == BLOCK_SIZE,
                "the VFS glue supports only page-sized blocks"
            )
        };
        // SAFETY: All-zero is a valid `file_system_type`: null pointers, `None` function
        // pointers, zero integers, and lockdep keys that are registered below before any use.
        let fs: bindings::file_system_type = unsafe { core::mem::zeroed() };
        let ft = KBox::into_raw(KBox::new(fs, GFP_KERNEL)?);
        // SAFETY: `ft` was just allocated and initialised, and nothing else knows it until it is
        // registered below: its fields are ours to write. The name and the module are `'static`.
        unsafe {
            (*ft).name = T::NAME.as_char_ptr();
            (*ft).fs_flags = bindings::FS_REQUIRES_DEV as i32;
            (*ft).mount = Some(mount_callback::<T>);
            (*ft).kill_sb = Some(kill_sb_callback::<T>);
            (*ft).owner = module.as_ptr();
        }
        // The type is not static memory: lockdep must know its keys.
        // SAFETY: `ft` is initialised and not registered yet; its keys stay put until `drop`
        // frees them (or forever).
        unsafe { ffi::emfs_fs_type_register_keys(ft) };
        // SAFETY: `ft` is fully initialised with its lockdep keys registered; it stays allocated
        // at least until `drop` unregisters it. Its callbacks are this module's code: the
        // module's exit drops the registration first (the "Safety model" of `rust/mod.rs`: an
        // owner that is forgotten is the assumption accepted there).
        if let Err(e) = to_result(unsafe { bindings::register_filesystem(ft) }) {
            // SAFETY: The registration failed, so nothing else has seen `ft`: its keys are
            // unused, and the box is ours again.
            unsafe {
                ffi::emfs_fs_type_unregister_keys(ft);
                drop(KBox::from_raw(ft));
            }
            return Err(e);
        }
        // INVARIANT: `ft` was allocated, its keys registered, and registered, above.
        Ok(Self {
            // SAFETY: `KBox::into_raw` never returns null.
            fs: unsafe { ptr::NonNull::new_unchecked(ft) },
            module,
            _p: PhantomData,
        })
    }
}

impl<T: Type> Drop for Registration<T> {
    fn drop(&mut self) {
        let ft = self.fs.as_ptr();
        // SAFETY: By the type invariant the type is registered.
        unsafe { bindings::unregister_filesystem(ft) };
        // SAFETY: `module` is `'static`; the helper only reads its state.
        if unsafe { ffi::emfs_module_going(self.module.as_ptr()) } {
            // SAFETY: The module is being unloaded, so its count is zero: no superblock of the
            // type exists (each holds the module from mount to `kill_sb`) and no mount of it is
            // on its way (one holds the module from `get_fs_type` on), and none can start (the
            // type is unregistered). Nothing uses `ft` or its keys any more.
            unsafe {
                ffi::emfs_fs_type_unregister_keys(ft);
                drop(KBox::from_raw(ft));
            }
        }
    }
}
