// SPDX-License-Identifier: GPL-2.0

//! KUnit suites registered from a Rust module.
//!
//! 6.12 has no `#[kunit_tests]` (it arrived in 6.15), so [`kunit_suite!`] builds the same
//! thing by hand: a `kunit_case` array, a `kunit_suite`, and a pointer to it in the
//! `.kunit_test_suites` section, which the module loader collects and KUnit runs once the
//! module is live. Results appear in the kernel log and in
//! `/sys/kernel/debug/kunit/<suite>/results` as KTAP.
//!
//! C header: [`include/kunit/test.h`](srctree/include/kunit/test.h)

use super::ffi;
use core::fmt;
use kernel::{bindings, prelude::*, str::CString};

/// A running KUnit test case.
///
/// # Invariants
///
/// `ptr` is the `struct kunit` KUnit passed to the running case; it stays valid until the case
/// returns, and a `Test` never outlives the case (it is only lent to the case's body).
pub struct Test {
    ptr: *mut bindings::kunit,
}

/// The body of a test case: `Err` aborts the case after a failed assertion.
pub type Case = fn(&mut Test) -> Result;

impl Test {
    /// Marks the case failed and logs where and why.
    pub fn fail(&mut self, file: &'static str, line: u32, args: fmt::Arguments<'_>) {
        let file = CString::try_from_fmt(format_args!("{}", file)).ok();
        let msg = CString::try_from_fmt(args).ok();
        let unknown = kernel::c_str!("(message lost: out of memory)");
        // SAFETY: By the type invariant `ptr` is the running test; the strings are
        // NUL-terminated and live across the call.
        unsafe {
            ffi::emfs_kunit_fail(
                self.ptr,
                file.as_deref().unwrap_or(unknown).as_char_ptr(),
                line as kernel::ffi::c_int,
                msg.as_deref().unwrap_or(unknown).as_char_ptr(),
            )
        };
    }

    /// Logs a diagnostic line into the case's KTAP output.
    pub fn log(&mut self, args: fmt::Arguments<'_>) {
        if let Ok(msg) = CString::try_from_fmt(args) {
            // SAFETY: By the type invariant `ptr` is the running test; `msg` is NUL-terminated.
            unsafe { ffi::emfs_kunit_log(self.ptr, msg.as_char_ptr()) };
        }
    }
}

/// Runs `case` on the test KUnit handed to a trampoline.
///
/// # Safety
///
/// `test` must be the `struct kunit` of the case being run, valid for the whole call.
pub unsafe fn run_case(test: *mut bindings::kunit, case: Case) {
    // INVARIANT: The caller guarantees `test` is the running case, and `t` dies with this call.
    let mut t = Test { ptr: test };
    if let Err(e) = case(&mut t) {
        t.fail(file!(), line!(), format_args!("case aborted: {:?}", e));
    }
}

/// Builds a `kunit_case` entry (used by [`kunit_suite!`]).
pub const fn case(
    name: &'static kernel::str::CStr,
    run: unsafe extern "C" fn(*mut bindings::kunit),
) -> bindings::kunit_case {
    bindings::kunit_case {
        run_case: Some(run),
        name: name.as_char_ptr(),
        ..case_end()
    }
}

/// The all-zero `kunit_case` that terminates a case array.
pub const fn case_end() -> bindings::kunit_case {
    // SAFETY: `kunit_case` is plain C data for which all-zero is valid: null pointers, `None`
    // function pointers and the first value of each enum.
    unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
}

/// Builds a `kunit_suite` named `name` over the NUL-terminated `cases` array.
pub const fn suite(name: &'static [u8], cases: *mut bindings::kunit_case) -> bindings::kunit_suite {
    // SAFETY: `kunit_suite` is plain C data for which all-zero is valid: empty `char` arrays,
    // null pointers, `None` function pointers, zero integers, `false`, and for the `attr`
    // enum its first value (`KUNIT_SPEED_UNSET`).
    let mut suite: bindings::kunit_suite =
        unsafe { core::mem::MaybeUninit::zeroed().assume_init() };
    let mut i = 0;
    // Leave room for the terminating NUL of the 256-byte name.
    while i < name.len() && i < suite.name.len() - 1 {
        suite.name[i] = name[i] as kernel::ffi::c_char;
        i += 1;
    }
    suite.test_cases = cases;
    suite
}

/// Registers a KUnit suite named `$name` whose cases are the listed functions of module
/// `$module`, each a [`Case`], named in the results after itself. `$suite` names the module
/// that holds the registration (one per suite).
///
/// Invoke it outside the modules that forbid `unsafe` code (the registration is a static in
/// the `.kunit_test_suites` section and an `extern "C"` trampoline per case); the cases
/// themselves stay safe Rust in their own module.
///
/// # Examples
///
/// ```ignore
/// kunit_suite!(extmap_suite, "extmap", crate::extmap::tests, [test_case_1, map_size]);
/// ```
#[macro_export]
macro_rules! kunit_suite {
    ($suite:ident, $name:literal, $module:path, [$($case:ident),+ $(,)?]) => {
        #[allow(non_snake_case)]
        mod $suite {
            use $module as cases;
            use ::kernel::bindings;
            use $crate::kernel_ext::kunit;

            $(
                extern "C" fn $case(test: *mut bindings::kunit) {
                    // SAFETY: KUnit calls `run_case` callbacks with the running test, valid
                    // until the callback returns.
                    unsafe { kunit::run_case(test, cases::$case) }
                }
            )+

            const N: usize = [$(stringify!($case)),+].len();

            static mut CASES: [bindings::kunit_case; N + 1] = [
                $(kunit::case(::kernel::c_str!(stringify!($case)), $case),)+
                kunit::case_end(),
            ];

            static mut SUITE: bindings::kunit_suite =
                kunit::suite($name.as_bytes(), ::core::ptr::addr_of_mut!(CASES).cast());

            // The module loader collects these pointers into `mod->kunit_suites`; KUnit owns
            // `SUITE` and `CASES` from then on and is their only writer.
            #[used]
            #[link_section = ".kunit_test_suites"]
            static mut ENTRY: *const bindings::kunit_suite = ::core::ptr::addr_of!(SUITE);
        }
    };
}
pub use kunit_suite;

/// Fails the running case and returns `Err(EINVAL)` from it unless `$cond` holds.
#[macro_export]
macro_rules! kunit_assert {
    ($t:expr, $cond:expr $(,)?) => {
        if !$cond {
            $t.fail(
                ::core::file!(),
                ::core::line!(),
                ::core::format_args!("assertion failed: {}", ::core::stringify!($cond)),
            );
            return Err(::kernel::error::code::EINVAL);
        }
    };
    ($t:expr, $cond:expr, $($arg:tt)+) => {
        if !$cond {
            $t.fail(::core::file!(), ::core::line!(), ::core::format_args!($($arg)+));
            return Err(::kernel::error::code::EINVAL);
        }
    };
}
pub use kunit_assert;

/// Fails the running case and returns `Err(EINVAL)` from it unless `$left == $right`.
#[macro_export]
macro_rules! kunit_assert_eq {
    ($t:expr, $left:expr, $right:expr $(,)?) => {{
        let (left, right) = (&$left, &$right);
        if left != right {
            $t.fail(
                ::core::file!(),
                ::core::line!(),
                ::core::format_args!(
                    "{} == {}: {:?} != {:?}",
                    ::core::stringify!($left),
                    ::core::stringify!($right),
                    left,
                    right
                ),
            );
            return Err(::kernel::error::code::EINVAL);
        }
    }};
}
pub use kunit_assert_eq;
