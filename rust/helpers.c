// SPDX-License-Identifier: GPL-2.0
/*
 * Static-inline kernel helpers that Rust code cannot call.
 *
 * The 6.12 kernel crate exports helpers only for what its own abstractions
 * use, and bindgen emits no symbol for a static inline. These thin wrappers
 * are linked into the same module as the Rust crate that calls them; the
 * Rust side declares them in rust/ffi.rs.
 */

#include <linux/kernel.h>
#include <linux/spinlock.h>
#include <linux/rwlock.h>
#include <linux/refcount.h>
#include <linux/list.h>
#include <linux/rbtree.h>
#include <linux/gfp.h>
#include <kunit/test.h>

#include "helpers.h"

/* rwlock_t: init takes a lockdep class so each tree type has its own. */
void emfs_rwlock_init(rwlock_t *lock, const char *name,
		      struct lock_class_key *key)
{
#ifdef CONFIG_DEBUG_SPINLOCK
	__rwlock_init(lock, name, key);
#else
	rwlock_init(lock);
#endif
}

void emfs_read_lock(rwlock_t *lock)
{
	read_lock(lock);
}

void emfs_read_unlock(rwlock_t *lock)
{
	read_unlock(lock);
}

void emfs_write_lock(rwlock_t *lock)
{
	write_lock(lock);
}

void emfs_write_unlock(rwlock_t *lock)
{
	write_unlock(lock);
}

void emfs_lockdep_assert_write_held(rwlock_t *lock)
{
	lockdep_assert_held_write(lock);
}

/* refcount_t: the kernel crate has inc and dec_and_test, not read or set. */
unsigned int emfs_refcount_read(const refcount_t *r)
{
	return refcount_read(r);
}

void emfs_refcount_set(refcount_t *r, int n)
{
	refcount_set(r, n);
}

void emfs_refcount_inc(refcount_t *r)
{
	refcount_inc(r);
}

bool emfs_refcount_dec_and_test(refcount_t *r)
{
	return refcount_dec_and_test(r);
}

/* list_head */
void emfs_init_list_head(struct list_head *list)
{
	INIT_LIST_HEAD(list);
}

void emfs_list_add_tail(struct list_head *entry, struct list_head *head)
{
	list_add_tail(entry, head);
}

void emfs_list_del_init(struct list_head *entry)
{
	list_del_init(entry);
}

bool emfs_list_empty(const struct list_head *head)
{
	return list_empty(head);
}

/* rb_node */
void emfs_rb_clear_node(struct rb_node *node)
{
	RB_CLEAR_NODE(node);
}

bool emfs_rb_empty_node(const struct rb_node *node)
{
	return RB_EMPTY_NODE(node);
}

/* GFP_NOFS is built with __force casts bindgen cannot evaluate. */
gfp_t emfs_gfp_nofs(void)
{
	return GFP_NOFS;
}

/* KUnit: failure marking and logging are macros over a static inline. */
void emfs_kunit_fail(struct kunit *test, const char *file, int line,
		     const char *msg)
{
	kunit_err(test, "%s:%d: %s\n", file, line, msg);
	kunit_set_failure(test);
}

void emfs_kunit_log(struct kunit *test, const char *msg)
{
	kunit_info(test, "%s\n", msg);
}
