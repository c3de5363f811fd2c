// SPDX-License-Identifier: GPL-2.0

//! Kernel threads that run a Rust closure, for tests that need real concurrency.
//!
//! C header: [`include/linux/kthread.h`](srctree/include/linux/kthread.h)

use core::sync::atomic::{AtomicI32, Ordering};
use kernel::{bindings, c_str, error::from_err_ptr, prelude::*, str::CStr, sync::Arc};

/// The result slot: `RUNNING` until the closure returned, then its return value.
const RUNNING: i32 = i32::MIN;

struct Start<F> {
    f: F,
    result: Arc<AtomicI32>,
}

/// A kernel thread running a closure; [`KThread::join`] waits for it and returns its result.
///
/// # Invariants
///
/// Until `reaped`, `task` is a kthread created by `kthread_create_on_node` on which this object
/// holds a task reference (`get_task_struct`), and it has been woken up. `result` is the slot its
/// trampoline writes when the closure returns.
pub struct KThread {
    task: *mut bindings::task_struct,
    result: Arc<AtomicI32>,
    reaped: bool,
}

// SAFETY: The task pointer is only used to stop and release the thread, which any thread may.
unsafe impl Send for KThread {}

/// The thread function: runs the closure and publishes its result.
///
/// # Safety
///
/// `data` must be a `KBox<Start<F>>` leaked by [`KThread::spawn`], passed exactly once.
unsafe extern "C" fn trampoline<F: FnOnce() -> i32 + Send + 'static>(
    data: *mut core::ffi::c_void,
) -> kernel::ffi::c_int {
    // SAFETY: `data` is the `KBox<Start<F>>` that `spawn` leaked for this thread, handed over
    // exactly once.
    let start = unsafe { KBox::from_raw(data.cast::<Start<F>>()) };
    let Start { f, result } = KBox::into_inner(start);
    let ret = f();
    result.store(if ret == RUNNING { -1 } else { ret }, Ordering::Release);
    ret
}

impl KThread {
    /// Starts a kthread named `name` running `f`.
    pub fn spawn<F: FnOnce() -> i32 + Send + 'static>(name: &CStr, f: F) -> Result<Self> {
        let result = Arc::new(AtomicI32::new(RUNNING), GFP_KERNEL)?;
        let start = KBox::new(
            Start {
                f,
                result: result.clone(),
            },
            GFP_KERNEL,
        )?;
        let data = KBox::into_raw(start);
        // SAFETY: `trampoline::<F>` matches the thread function type and takes ownership of
        // `data`; the format is `"%s"` with one NUL-terminated string argument, so a `%` in
        // `name` is printed, not interpreted.
        let task = unsafe {
            bindings::kthread_create_on_node(
                Some(trampoline::<F>),
                data.cast(),
                bindings::NUMA_NO_NODE,
                c_str!("%s").as_char_ptr(),
                name.as_char_ptr(),
            )
        };
        let task = match from_err_ptr(task) {
            Ok(task) => task,
            Err(e) => {
                // SAFETY: The thread was not created, so `data` was not handed over.
                drop(unsafe { KBox::from_raw(data) });
                return Err(e);
            }
        };
        // SAFETY: `task` is a valid new kthread; the reference keeps its `task_struct` alive
        // until `join` releases it, even after the thread exits.
        unsafe {
            bindings::get_task_struct(task);
            bindings::wake_up_process(task);
        }
        // INVARIANT: Created, referenced, woken.
        Ok(Self {
            task,
            result,
            reaped: false,
        })
    }

    /// Waits for the closure to return and reaps the thread; returns the closure's value.
    pub fn join(mut self) -> i32 {
        self.reap()
    }

    fn reap(&mut self) -> i32 {
        // Wait for the trampoline itself rather than relying on `kthread_stop` alone: stopping a
        // thread that has not started yet would skip the closure and leak it.
        while self.result.load(Ordering::Acquire) == RUNNING {
            // SAFETY: `msleep` may be called from any sleepable context; joining is one.
            unsafe { bindings::msleep(1) };
        }
        let ret = self.result.load(Ordering::Acquire);
        if !self.reaped {
            // SAFETY: By the type invariant `task` is a kthread we hold a reference on; it has
            // returned from its function, so `kthread_stop` only reaps it. The reference is
            // dropped once: `reaped` is set right after.
            unsafe {
                bindings::kthread_stop(self.task);
                bindings::put_task_struct(self.task);
            }
            // INVARIANT: The task is no longer used.
            self.reaped = true;
        }
        ret
    }
}

impl Drop for KThread {
    fn drop(&mut self) {
        // Dropped without `join`: wait anyway, the closure may still be running.
        self.reap();
    }
}
