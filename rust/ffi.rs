// SPDX-License-Identifier: GPL-2.0

//! Declarations of the C functions the module calls that the 6.12 `kernel` crate does not
//! declare: the helpers in `rust/helpers.c` and `rust/cmdfile.c`, which wrap static inlines
//! and macros (`read_lock`, `refcount_read`, `INIT_LIST_HEAD`, ...) for which bindgen emits no
//! callable symbol, and a few exported functions whose headers the 6.12 bindings lack
//! (`crc32c`, `debugfs_*`, `folio_end_read`, `folio_end_writeback`, `sort_r`).
//!
//! Kbuild generates them with the kernel's bindgen from `rust/bindings.h` (see `Kbuild`), so
//! they always match the C prototypes. Each function has the semantics of the kernel function
//! it wraps; see that function for its safety requirements.

#[allow(
    clippy::all,
    missing_docs,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    improper_ctypes,
    unreachable_pub,
    unsafe_op_in_unsafe_fn
)]
mod generated {
    // The generated code names kernel types unqualified, as the kernel's own helper bindings do.
    #[allow(unused_imports)]
    use kernel::bindings::*;
    include!("helpers_generated.rs");
}

pub use generated::*;
