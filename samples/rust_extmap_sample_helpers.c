// SPDX-License-Identifier: GPL-2.0
/* Each module links its own copy of the helpers: they are not exported. */
#include "../rust/helpers.c"
#include "../rust/cmdfile.c"
#include "../rust/debugfs_atomic.c"
#include "../rust/percpu.c"
