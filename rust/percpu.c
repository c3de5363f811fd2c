// SPDX-License-Identifier: GPL-2.0
/*
 * Per-CPU event counters (rust/percpu.rs): counting an event is one
 * this_cpu_inc(), with no shared atomic read-modify-write; reading a counter
 * sums every CPU's part, as percpu_counter_sum() does.
 */

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/percpu.h>
#include "helpers.h"

/* Global for rust/percpu.rs, whose x86-64 increment addresses it directly. */
DEFINE_PER_CPU(u64, emfs_events[EMFS_EVENTS]);

void emfs_event_add(unsigned int event, u64 n)
{
	if (!WARN_ON_ONCE(event >= EMFS_EVENTS))
		this_cpu_add(emfs_events[event], n);
}

u64 emfs_event_sum(unsigned int event)
{
	u64 sum = 0;
	int cpu;

	if (WARN_ON_ONCE(event >= EMFS_EVENTS))
		return 0;
	for_each_possible_cpu(cpu)
		sum += per_cpu(emfs_events[event], cpu);
	return sum;
}

static int emfs_event_get(void *data, u64 *val)
{
	*val = emfs_event_sum((unsigned long)data);
	return 0;
}

DEFINE_DEBUGFS_ATTRIBUTE(emfs_event_fops, emfs_event_get, NULL, "%llu\n");

void emfs_debugfs_create_event(const char *name, struct dentry *parent,
			       unsigned int event)
{
	debugfs_create_file_unsafe(name, 0444, parent,
				   (void *)(unsigned long)event, &emfs_event_fops);
}
