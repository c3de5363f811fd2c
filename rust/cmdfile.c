// SPDX-License-Identifier: GPL-2.0
/*
 * A debugfs "command file": what is written to one open file is the input,
 * the first read runs a handler on it and returns what the handler emitted.
 *
 *   exec 3<>/sys/kernel/debug/extmap/script; cat ops >&3; cat <&3
 *
 * Writes ignore the file position (they append); reads start at position 0 of
 * the output. Each open file has its own input and output, so two users do
 * not see each other's results. The handler is Rust code (rust/debugfs.rs);
 * it appends output through emfs_cmdfile_emit().
 */

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "helpers.h"

/* An input larger than this is refused with -EFBIG. */
#define CMDFILE_MAX_INPUT (16 << 20)

struct emfs_cmdfile {
	struct mutex lock;
	emfs_cmdfile_fn fn;
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_len, out_cap;
	int ret;
	bool ran;
};

static int grow(char **buf, size_t *cap, size_t need)
{
	size_t cap2 = max_t(size_t, *cap ? *cap : PAGE_SIZE, PAGE_SIZE);
	char *p;

	while (cap2 < need)
		cap2 *= 2;
	if (cap2 == *cap)
		return 0;
	p = kvrealloc(*buf, cap2, GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = cap2;
	return 0;
}

int emfs_cmdfile_emit(struct emfs_cmdfile *f, const char *p, size_t n)
{
	int ret = grow(&f->out, &f->out_cap, f->out_len + n);

	if (ret)
		return ret;
	memcpy(f->out + f->out_len, p, n);
	f->out_len += n;
	return 0;
}

static int cmdfile_open(struct inode *inode, struct file *file)
{
	struct emfs_cmdfile *f = kzalloc(sizeof(*f), GFP_KERNEL);

	if (!f)
		return -ENOMEM;
	mutex_init(&f->lock);
	f->fn = inode->i_private;
	file->private_data = f;
	return nonseekable_open(inode, file);
}

static ssize_t cmdfile_write(struct file *file, const char __user *ubuf,
			     size_t count, loff_t *ppos)
{
	struct emfs_cmdfile *f = file->private_data;
	ssize_t ret;

	mutex_lock(&f->lock);
	if (f->ran) {
		ret = -EBUSY;
	} else if (count > CMDFILE_MAX_INPUT - f->in_len) {
		ret = -EFBIG;
	} else if ((ret = grow(&f->in, &f->in_cap, f->in_len + count)) == 0) {
		if (copy_from_user(f->in + f->in_len, ubuf, count)) {
			ret = -EFAULT;
		} else {
			f->in_len += count;
			ret = count;
		}
	}
	mutex_unlock(&f->lock);
	return ret;
}

static ssize_t cmdfile_read(struct file *file, char __user *ubuf, size_t count,
			    loff_t *ppos)
{
	struct emfs_cmdfile *f = file->private_data;
	ssize_t ret;

	mutex_lock(&f->lock);
	if (!f->ran) {
		f->ran = true;
		f->ret = f->fn(f, f->in ? f->in : "", f->in_len);
		kvfree(f->in);
		f->in = NULL;
		f->in_len = f->in_cap = 0;
	}
	if (f->ret < 0 && !f->out_len)
		ret = f->ret;
	else
		ret = simple_read_from_buffer(ubuf, count, ppos, f->out,
					      f->out_len);
	mutex_unlock(&f->lock);
	return ret;
}

static int cmdfile_release(struct inode *inode, struct file *file)
{
	struct emfs_cmdfile *f = file->private_data;

	kvfree(f->in);
	kvfree(f->out);
	kfree(f);
	return 0;
}

static const struct file_operations cmdfile_fops = {
	.owner = THIS_MODULE,
	.open = cmdfile_open,
	.write = cmdfile_write,
	.read = cmdfile_read,
	.release = cmdfile_release,
};

struct dentry *emfs_debugfs_create_cmdfile(const char *name,
					   struct dentry *parent,
					   emfs_cmdfile_fn fn)
{
	return debugfs_create_file(name, 0600, parent, fn, &cmdfile_fops);
}
