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
#include <linux/list.h>
#include <linux/gfp.h>
#include <linux/slab.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/highmem.h>
#include <linux/bio.h>
#include <linux/statfs.h>
#include <linux/workqueue.h>
#include <linux/writeback.h>
#include <linux/migrate.h>
#include <linux/cred.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/blkdev.h>
#include <linux/module.h>
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

/* cond_resched_rwlock_write() is a macro (with a might-sleep check). */
int emfs_cond_resched_rwlock_write(rwlock_t *lock)
{
	return cond_resched_rwlock_write(lock);
}

bool emfs_rwlock_should_yield(rwlock_t *lock)
{
	return need_resched() || rwlock_needbreak(lock);
}

bool emfs_write_trylock(rwlock_t *lock)
{
	return write_trylock(lock);
}

bool emfs_read_trylock(rwlock_t *lock)
{
	return read_trylock(lock);
}

void emfs_lockdep_assert_write_held(rwlock_t *lock)
{
	lockdep_assert_held_write(lock);
}

/* list_head, for CONFIG_DEBUG_LIST's checks (rust/links.rs inlines them otherwise). */
void emfs_list_add_tail(struct list_head *entry, struct list_head *head)
{
	list_add_tail(entry, head);
}

void emfs_list_del_init(struct list_head *entry)
{
	list_del_init(entry);
}

/* GFP_NOFS is built with __force casts bindgen cannot evaluate. */
gfp_t emfs_gfp_nofs(void)
{
	return GFP_NOFS;
}

/* So is SLAB_NO_MERGE. */
slab_flags_t emfs_slab_no_merge(void)
{
	return SLAB_NO_MERGE;
}

/* Folios and pages */
loff_t emfs_folio_pos(struct folio *folio)
{
	return folio_pos(folio);
}

size_t emfs_folio_size(struct folio *folio)
{
	return folio_size(folio);
}

void emfs_folio_zero_range(struct folio *folio, size_t start, size_t len)
{
	folio_zero_range(folio, start, len);
}

struct inode *emfs_folio_inode(struct folio *folio)
{
	return folio->mapping->host;
}

void emfs_mapping_set_release_always(struct address_space *mapping)
{
	mapping_set_release_always(mapping);
}

/* NULL unless addr is in the linear map (not vmalloc, module or stack memory). */
struct page *emfs_virt_to_page(const void *addr)
{
	return virt_addr_valid(addr) ? virt_to_page(addr) : NULL;
}

/* Readahead */
struct inode *emfs_readahead_inode(struct readahead_control *rac)
{
	return rac->mapping->host;
}

struct folio *emfs_readahead_folio(struct readahead_control *rac)
{
	return readahead_folio(rac);
}

/*
 * Completion of a readahead bio: every folio in it is read (or failed) at
 * once. The walk over the bio's folios is a macro, hence C.
 */
static void emfs_read_end_io(struct bio *bio)
{
	struct folio_iter fi;

	bio_for_each_folio_all(fi, bio)
		folio_end_read(fi.folio, bio->bi_status == BLK_STS_OK);
	bio_put(bio);
}

void emfs_bio_set_read_end_io(struct bio *bio)
{
	bio->bi_end_io = emfs_read_end_io;
}

/* VFS */
bool emfs_dir_emit(struct dir_context *ctx, const char *name, int len,
		   u64 ino, unsigned int type)
{
	return dir_emit(ctx, name, len, ino, type);
}

bool emfs_dir_emit_dots(struct file *file, struct dir_context *ctx)
{
	return dir_emit_dots(file, ctx);
}

struct inode *emfs_file_inode(struct file *file)
{
	return file_inode(file);
}

void emfs_sb_set_rdonly(struct super_block *sb)
{
	sb->s_flags |= SB_RDONLY;
}

bool emfs_sb_rdonly(struct super_block *sb)
{
	return sb_rdonly(sb);
}

void emfs_inode_lock(struct inode *inode)
{
	inode_lock(inode);
}

void emfs_inode_unlock(struct inode *inode)
{
	inode_unlock(inode);
}

void emfs_inode_lock_shared(struct inode *inode)
{
	inode_lock_shared(inode);
}

void emfs_inode_unlock_shared(struct inode *inode)
{
	inode_unlock_shared(inode);
}

loff_t emfs_vfs_setpos(struct file *file, loff_t pos)
{
	return vfs_setpos(file, pos, file_inode(file)->i_sb->s_maxbytes);
}

void emfs_sb_start_pagefault(struct super_block *sb)
{
	sb_start_pagefault(sb);
}

void emfs_sb_end_pagefault(struct super_block *sb)
{
	sb_end_pagefault(sb);
}

struct inode *emfs_d_inode(struct dentry *dentry)
{
	return d_inode(dentry);
}

/*
 * A file_system_type embeds lockdep keys, which lockdep accepts only in static
 * storage unless they are registered. Ours lives in the module's heap.
 */
static void emfs_fs_type_for_each_key(struct file_system_type *t,
				      void (*fn)(struct lock_class_key *key))
{
	int i;

	fn(&t->s_lock_key);
	fn(&t->s_umount_key);
	fn(&t->s_vfs_rename_key);
	/* Not ARRAY_SIZE: without lockdep the keys are empty structs. */
	for (i = 0; i < SB_FREEZE_LEVELS; i++)
		fn(&t->s_writers_key[i]);
	fn(&t->i_lock_key);
	fn(&t->i_mutex_key);
	fn(&t->invalidate_lock_key);
	fn(&t->i_mutex_dir_key);
}

static void emfs_register_key(struct lock_class_key *key)
{
	lockdep_register_key(key);
}

static void emfs_unregister_key(struct lock_class_key *key)
{
	lockdep_unregister_key(key);
}

void emfs_fs_type_register_keys(struct file_system_type *t)
{
	emfs_fs_type_for_each_key(t, emfs_register_key);
}

void emfs_fs_type_unregister_keys(struct file_system_type *t)
{
	emfs_fs_type_for_each_key(t, emfs_unregister_key);
}

/* Whether the module is being unloaded (its exit runs, or its init failed). */
bool emfs_module_going(struct module *m)
{
	return m && m->state == MODULE_STATE_GOING;
}

/* struct kstatfs is not in the 6.12 bindings. */
void emfs_fill_statfs(struct kstatfs *buf, long type, long bsize, u64 blocks,
		      u64 bfree, u64 bavail, u64 files, u64 ffree, long namelen)
{
	buf->f_type = type;
	buf->f_bsize = bsize;
	buf->f_frsize = bsize;
	buf->f_blocks = blocks;
	buf->f_bfree = bfree;
	buf->f_bavail = bavail;
	buf->f_files = files;
	buf->f_ffree = ffree;
	buf->f_namelen = namelen;
}

bool emfs_inode_is_new(struct inode *inode)
{
	return inode->i_state & I_NEW;
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

/* The write side: folios */
struct folio *emfs_write_begin_folio(struct address_space *mapping, loff_t pos,
				     int *err)
{
	struct folio *folio;

	folio = __filemap_get_folio(mapping, pos >> PAGE_SHIFT, FGP_WRITEBEGIN,
				    mapping_gfp_mask(mapping));
	if (IS_ERR(folio)) {
		*err = PTR_ERR(folio);
		return NULL;
	}
	return folio;
}

void emfs_folio_lock(struct folio *folio)
{
	folio_lock(folio);
}

void emfs_folio_unlock(struct folio *folio)
{
	folio_unlock(folio);
}

void emfs_folio_put(struct folio *folio)
{
	folio_put(folio);
}

bool emfs_folio_test_uptodate(struct folio *folio)
{
	return folio_test_uptodate(folio);
}

void emfs_folio_mark_uptodate(struct folio *folio)
{
	folio_mark_uptodate(folio);
}

bool emfs_folio_test_dirty(struct folio *folio)
{
	return folio_test_dirty(folio);
}

bool emfs_folio_test_writeback(struct folio *folio)
{
	return folio_test_writeback(folio);
}

struct address_space *emfs_folio_mapping(struct folio *folio)
{
	return folio->mapping;
}

void emfs_folio_wait_stable(struct folio *folio)
{
	folio_wait_stable(folio);
}

/*
 * A dirty folio that holds a block reservation carries a non-NULL private
 * pointer (the value means nothing; attaching takes a folio reference).
 */
bool emfs_folio_reserved(struct folio *folio)
{
	return folio_get_private(folio) != NULL;
}

void emfs_folio_set_reserved(struct folio *folio)
{
	folio_attach_private(folio, (void *)1UL);
}

bool emfs_folio_clear_reserved(struct folio *folio)
{
	return folio_detach_private(folio) != NULL;
}

void emfs_folio_start_writeback(struct folio *folio)
{
	folio_start_writeback(folio);
}

void emfs_i_size_write(struct inode *inode, loff_t size)
{
	i_size_write(inode, size);
}

void emfs_mark_inode_dirty(struct inode *inode)
{
	mark_inode_dirty(inode);
}

u32 emfs_current_fsuid(void)
{
	return from_kuid(&init_user_ns, current_fsuid());
}

u32 emfs_current_fsgid(void)
{
	return from_kgid(&init_user_ns, current_fsgid());
}

struct inode *emfs_vmf_inode(struct vm_fault *vmf)
{
	return file_inode(vmf->vma->vm_file);
}

struct folio *emfs_vmf_folio(struct vm_fault *vmf)
{
	return page_folio(vmf->page);
}

void emfs_file_accessed(struct file *file)
{
	file_accessed(file);
}

int emfs_filemap_write_and_wait_range(struct address_space *mapping,
				      loff_t start, loff_t end)
{
	return filemap_write_and_wait_range(mapping, start, end);
}

/*
 * Moves the reservation marker with the folio. Without CONFIG_MIGRATION
 * nothing migrates and this is never called.
 */
int emfs_migrate_folio(struct address_space *mapping, struct folio *dst,
		       struct folio *src, enum migrate_mode mode)
{
#ifdef CONFIG_MIGRATION
	return filemap_migrate_folio(mapping, dst, src, mode);
#else
	return -EAGAIN;
#endif
}

/* Write bios: completion ends the writeback of every folio, after the work */
struct workqueue_struct *emfs_alloc_workqueue(const char *fs_name)
{
	return alloc_workqueue("%s-endio", WQ_MEM_RECLAIM | WQ_UNBOUND, 0, fs_name);
}

void emfs_init_work(struct work_struct *work, work_func_t fn)
{
	INIT_WORK(work, fn);
}

bool emfs_queue_work(struct workqueue_struct *wq, struct work_struct *work)
{
	return queue_work(wq, work);
}

void emfs_flush_workqueue(struct workqueue_struct *wq)
{
	flush_workqueue(wq);
}

void emfs_bio_end_writeback(struct bio *bio)
{
	struct folio_iter fi;
	int err = blk_status_to_errno(bio->bi_status);

	bio_for_each_folio_all(fi, bio) {
		if (err)
			mapping_set_error(fi.folio->mapping, err);
		folio_end_writeback(fi.folio);
	}
}

int emfs_bio_status(struct bio *bio)
{
	return blk_status_to_errno(bio->bi_status);
}

blk_opf_t emfs_write_opf(bool fua)
{
	return REQ_OP_WRITE | REQ_SYNC | (fua ? REQ_PREFLUSH | REQ_FUA : 0);
}

blk_opf_t emfs_data_write_opf(void)
{
	return REQ_OP_WRITE;
}

/* Allocation scopes */
unsigned int emfs_memalloc_nofs_save(void)
{
	return memalloc_nofs_save();
}

void emfs_memalloc_nofs_restore(unsigned int flags)
{
	memalloc_nofs_restore(flags);
}
