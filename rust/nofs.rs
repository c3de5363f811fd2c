// SPDX-License-Identifier: GPL-2.0

//! Allocation scopes (`memalloc_nofs_save`/`memalloc_nofs_restore`).
//!
//! The 6.12 `kernel` crate has no `GFP_NOFS`. A file system that allocates while it holds a
//! lock its reclaim paths also take (eviction, `release_folio`) must not let that allocation
//! recurse into file-system reclaim; the scope API says so for a whole region, which is also
//! what the kernel recommends over per-call flags.
//!
//! C header: [`include/linux/sched/mm.h`](srctree/include/linux/sched/mm.h)

use super::ffi;
use core::marker::PhantomData;
use kernel::ffi::c_uint;

/// While this lives, the task's allocations do not enter file-system reclaim.
///
/// # Invariants
///
/// `flags` is what `memalloc_nofs_save` returned on this task; it is restored on drop. Scopes
/// are not `Send`, so the restore runs on the task that saved. Nesting is the caller's
/// discipline, not a type rule: two scopes dropped out of order, or one forgotten, leave the
/// task's `PF_MEMALLOC_NOFS` cleared early or set late. Neither is memory-unsafe (the flag only
/// changes which reclaim an allocation may enter); the first can deadlock, so callers tie a
/// scope to the lock guard it protects (emfs's `Locked`).
pub struct NoFsScope {
    flags: c_uint,
    _not_send: PhantomData<*mut ()>,
}

impl NoFsScope {
    /// Enters a scope.
    pub fn enter() -> Self {
        // SAFETY: Always callable from task context.
        let flags = unsafe { ffi::emfs_memalloc_nofs_save() };
        // INVARIANT: `flags` came from `memalloc_nofs_save` on this task.
        Self {
            flags,
            _not_send: PhantomData,
        }
    }
}

impl Drop for NoFsScope {
    fn drop(&mut self) {
        // SAFETY: By the type invariant this restores what the matching save returned.
        unsafe { ffi::emfs_memalloc_nofs_restore(self.flags) };
    }
}
