/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What bindgen reads to make rust/helpers_generated.rs (see Kbuild): the
 * module's C helpers, and the few exported kernel functions that the 6.12
 * `kernel` crate's bindings lack or that the module calls directly where C
 * does (the rwlock_t entry points, rust/rwlock.rs). Only functions are generated; every type
 * comes from kernel::bindings, except the module's own (named emfs_*).
 */
#include <linux/crc32c.h>
#include <linux/debugfs.h>
#include <linux/pagemap.h>
#include <linux/sort.h>
#include <linux/spinlock.h>
#include "helpers.h"
