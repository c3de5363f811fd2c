// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs files over a counter or knob that Rust code accesses as an
 * AtomicU64 or AtomicUsize (rust/debugfs.rs). debugfs_create_u64() and
 * debugfs_create_size_t() read and write the value with plain C accesses,
 * which under the kernel memory model race with the Rust side's atomic ones;
 * these read it with READ_ONCE() and write it with WRITE_ONCE(), marked
 * single-copy-atomic accesses of the whole aligned word.
 */

#include <linux/debugfs.h>
#include <linux/fs.h>
#include "helpers.h"

static int emfs_u64_get(void *data, u64 *val)
{
	*val = READ_ONCE(*(u64 *)data);
	return 0;
}

static int emfs_u64_set(void *data, u64 val)
{
	WRITE_ONCE(*(u64 *)data, val);
	return 0;
}

static int emfs_size_get(void *data, u64 *val)
{
	*val = READ_ONCE(*(size_t *)data);
	return 0;
}

DEFINE_DEBUGFS_ATTRIBUTE(emfs_u64_rw_fops, emfs_u64_get, emfs_u64_set, "%llu\n");
DEFINE_DEBUGFS_ATTRIBUTE(emfs_u64_ro_fops, emfs_u64_get, NULL, "%llu\n");
DEFINE_DEBUGFS_ATTRIBUTE(emfs_size_ro_fops, emfs_size_get, NULL, "%llu\n");

void emfs_debugfs_create_atomic_u64(const char *name, bool writable,
				    struct dentry *parent, u64 *value)
{
	/* The attribute's own fops take debugfs_file_get(): the _unsafe variant. */
	debugfs_create_file_unsafe(name, writable ? 0600 : 0444, parent, value,
				   writable ? &emfs_u64_rw_fops : &emfs_u64_ro_fops);
}

void emfs_debugfs_create_atomic_size(const char *name, struct dentry *parent,
				     size_t *value)
{
	debugfs_create_file_unsafe(name, 0444, parent, value, &emfs_size_ro_fops);
}
