/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prototypes of the C helpers in rust/helpers.c; the Rust declarations are in
 * rust/ffi.rs.
 */
#ifndef EMFS_RUST_HELPERS_H
#define EMFS_RUST_HELPERS_H

#include <linux/types.h>
#include <linux/spinlock_types.h>

struct list_head;
struct kunit;
struct lock_class_key;
struct folio;
struct inode;
struct page;
struct dir_context;
struct file;
struct super_block;
struct file_system_type;
struct address_space;
struct readahead_control;
struct bio;
struct kstatfs;
struct vm_fault;
struct module;
struct workqueue_struct;
struct work_struct;
enum migrate_mode;

#include <linux/blk_types.h>
#include <linux/workqueue_types.h>

void emfs_rwlock_init(rwlock_t *lock, const char *name,
		      struct lock_class_key *key);
void emfs_read_lock(rwlock_t *lock);
void emfs_read_unlock(rwlock_t *lock);
void emfs_write_lock(rwlock_t *lock);
void emfs_write_unlock(rwlock_t *lock);
int emfs_cond_resched_rwlock_write(rwlock_t *lock);
bool emfs_rwlock_should_yield(rwlock_t *lock);
bool emfs_write_trylock(rwlock_t *lock);
bool emfs_read_trylock(rwlock_t *lock);
void emfs_lockdep_assert_write_held(rwlock_t *lock);
void emfs_list_add_tail(struct list_head *entry, struct list_head *head);
void emfs_list_del_init(struct list_head *entry);
gfp_t emfs_gfp_nofs(void);
slab_flags_t emfs_slab_no_merge(void);
loff_t emfs_folio_pos(struct folio *folio);
size_t emfs_folio_size(struct folio *folio);
void emfs_folio_zero_range(struct folio *folio, size_t start, size_t len);
struct inode *emfs_folio_inode(struct folio *folio);
void emfs_mapping_set_release_always(struct address_space *mapping);
struct page *emfs_virt_to_page(const void *addr);
bool emfs_module_going(struct module *m);
struct inode *emfs_readahead_inode(struct readahead_control *rac);
struct folio *emfs_readahead_folio(struct readahead_control *rac);
void emfs_bio_set_read_end_io(struct bio *bio);
bool emfs_dir_emit(struct dir_context *ctx, const char *name, int len,
		   u64 ino, unsigned int type);
bool emfs_dir_emit_dots(struct file *file, struct dir_context *ctx);
struct inode *emfs_file_inode(struct file *file);
void emfs_sb_set_rdonly(struct super_block *sb);
bool emfs_sb_rdonly(struct super_block *sb);
void emfs_inode_lock(struct inode *inode);
void emfs_inode_unlock(struct inode *inode);
void emfs_inode_lock_shared(struct inode *inode);
void emfs_inode_unlock_shared(struct inode *inode);
loff_t emfs_vfs_setpos(struct file *file, loff_t pos);
void emfs_sb_start_pagefault(struct super_block *sb);
void emfs_sb_end_pagefault(struct super_block *sb);
struct dentry;
struct inode *emfs_d_inode(struct dentry *dentry);
void emfs_fs_type_register_keys(struct file_system_type *t);
void emfs_fs_type_unregister_keys(struct file_system_type *t);
void emfs_fill_statfs(struct kstatfs *buf, long type, long bsize, u64 blocks,
		      u64 bfree, u64 bavail, u64 files, u64 ffree, long namelen);
bool emfs_inode_is_new(struct inode *inode);
void emfs_kunit_fail(struct kunit *test, const char *file, int line,
		     const char *msg);
void emfs_kunit_log(struct kunit *test, const char *msg);

struct folio *emfs_write_begin_folio(struct address_space *mapping, loff_t pos,
				     int *err);
void emfs_folio_lock(struct folio *folio);
void emfs_folio_unlock(struct folio *folio);
void emfs_folio_put(struct folio *folio);
bool emfs_folio_test_uptodate(struct folio *folio);
void emfs_folio_mark_uptodate(struct folio *folio);
bool emfs_folio_test_dirty(struct folio *folio);
bool emfs_folio_test_writeback(struct folio *folio);
struct address_space *emfs_folio_mapping(struct folio *folio);
void emfs_folio_wait_stable(struct folio *folio);
bool emfs_folio_reserved(struct folio *folio);
void emfs_folio_set_reserved(struct folio *folio);
bool emfs_folio_clear_reserved(struct folio *folio);
void emfs_folio_start_writeback(struct folio *folio);
void emfs_i_size_write(struct inode *inode, loff_t size);
void emfs_mark_inode_dirty(struct inode *inode);
u32 emfs_current_fsuid(void);
u32 emfs_current_fsgid(void);
struct inode *emfs_vmf_inode(struct vm_fault *vmf);
struct folio *emfs_vmf_folio(struct vm_fault *vmf);
void emfs_file_accessed(struct file *file);
int emfs_filemap_write_and_wait_range(struct address_space *mapping,
				      loff_t start, loff_t end);
int emfs_migrate_folio(struct address_space *mapping, struct folio *dst,
		       struct folio *src, enum migrate_mode mode);
struct workqueue_struct *emfs_alloc_workqueue(const char *fs_name);
void emfs_init_work(struct work_struct *work, work_func_t fn);
bool emfs_queue_work(struct workqueue_struct *wq, struct work_struct *work);
void emfs_flush_workqueue(struct workqueue_struct *wq);
void emfs_bio_end_writeback(struct bio *bio);
int emfs_bio_status(struct bio *bio);
blk_opf_t emfs_write_opf(bool fua);
blk_opf_t emfs_data_write_opf(void);
unsigned int emfs_memalloc_nofs_save(void);
void emfs_memalloc_nofs_restore(unsigned int flags);

/* rust/cmdfile.c: debugfs files that run a handler on what was written. */
struct emfs_cmdfile;
typedef int (*emfs_cmdfile_fn)(struct emfs_cmdfile *f, const char *in,
			       size_t len);
int emfs_cmdfile_emit(struct emfs_cmdfile *f, const char *p, size_t n);
struct dentry *emfs_debugfs_create_cmdfile(const char *name,
					   struct dentry *parent,
					   emfs_cmdfile_fn fn);

/* rust/percpu.c; bindgen gives the number to rust/percpu.rs. */
#define EMFS_EVENTS 16
void emfs_event_add(unsigned int event, u64 n);
u64 emfs_event_sum(unsigned int event);
void emfs_debugfs_create_event(const char *name, struct dentry *parent,
			       unsigned int event);
/* rust/tree_id.c: a tree's number fits the 22 bits reftree.rs keeps for it. */
#define EMFS_TREE_ID_MAX ((1U << 22) - 1)
unsigned int emfs_tree_id_alloc(void);
void emfs_tree_id_free(unsigned int id);
/* rust/debugfs_atomic.c: debugfs files over values Rust accesses atomically. */
void emfs_debugfs_create_atomic_u64(const char *name, bool writable,
				    struct dentry *parent, u64 *value);
void emfs_debugfs_create_atomic_size(const char *name, struct dentry *parent,
				     size_t *value);

#endif /* EMFS_RUST_HELPERS_H */
