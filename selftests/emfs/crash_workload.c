// SPDX-License-Identifier: GPL-2.0
/*
 * The crash-replay workload: random operations on a few files of an emfs
 * mounted on a dm-log-writes target, with a mark in the log after each one
 * that makes a promise (and before each change to a file with a promise):
 *
 *   fsync:NAME:LEN:HASH   fsync or fdatasync of NAME returned: its content
 *                         (LEN bytes, FNV-1a HASH in hex) is durable
 *   exists:NAME           a directory fsync returned: NAME is durable
 *   dirty:NAME            NAME is about to change: no promise until its next
 *                         mark
 *
 * (one word each: the kernel splits a target message at spaces)
 *
 * The files live in two subdirectories (NAME is d0/f2, say). Operations:
 * writes and overwrites, truncate (shrink and grow), fallocate (allocate, keep
 * size) and hole punches, rename (over an existing name too, across the two
 * directories), unlink, fsync, fdatasync, fsync of a subdirectory (its names
 * are durable), sync. emfs-replay checks the promises at every flush point of
 * the log.
 *
 *   crash_workload SEED OPS DIR DMNAME
 *   crash_workload SEED OPS DIR /dev/JOURNAL
 *
 * The second form (the QEMU-kill test) writes each mark durably to the
 * journal device instead, one 512-byte sector each from sector 1 on (pwrite
 * and fdatasync before the workload goes on), and OPS 0 runs until killed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NFILES 6
#define MAXLEN (192 * 1024)
#define NDIRS 2

enum promise { NONE, DIRTY, EXISTS, CONTENT };

static struct {
	unsigned char data[MAXLEN];
	size_t len;
	int exists;
	enum promise last;
} f[NFILES];

static uint64_t rng;
static const char *dir, *dm;
static int journal = -1;
static long journal_next = 1;

static uint64_t next(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static uint64_t below(uint64_t n)
{
	return next() % n;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void mark(const char *text)
{
	char cmd[256];

	if (journal >= 0) {
		char sector[512] = { 0 };

		/* Sectors 1 to 8191: the 4 MiB the kill test zeroes (the verdicts follow). */
		if (journal_next >= 8192) {
			printf("crash_workload: the journal is full\n");
			exit(0);
		}
		strncpy(sector, text, sizeof(sector) - 1);
		if (pwrite(journal, sector, sizeof(sector), journal_next * 512) != 512 ||
		    fdatasync(journal))
			die("journal");
		journal_next++;
		return;
	}

	/* Its only stderr without udev is a notice about semaphores; the status says it all. */
	snprintf(cmd, sizeof(cmd), "dmsetup --noudevsync message %s 0 mark %s 2>/dev/null",
		 dm, text);
	if (system(cmd))
		die("dmsetup message");
}

/* File i lives in subdirectory d(i % NDIRS): renames cross directories. */
static void path(int i, char *out)
{
	sprintf(out, "%s/d%d/f%d", dir, i % NDIRS, i);
}

/* Before a change to file i: its promise ends. */
static void dirty(int i)
{
	char m[64];

	if (f[i].last == DIRTY || f[i].last == NONE)
		return;
	sprintf(m, "dirty:d%d/f%d", i % NDIRS, i);
	mark(m);
	f[i].last = DIRTY;
}

static void promise_content(int i)
{
	char m[96];

	sprintf(m, "fsync:d%d/f%d:%zu:%016llx", i % NDIRS, i, f[i].len,
		(unsigned long long)fnv1a(f[i].data, f[i].len));
	mark(m);
	f[i].last = CONTENT;
}

static int open_file(int i, int flags)
{
	char p[256];
	int fd;

	path(i, p);
	fd = open(p, flags, 0644);
	if (fd < 0)
		die(p);
	return fd;
}

static void op_write(int i)
{
	size_t len = 1 + below(48 * 1024);
	size_t off = below(MAXLEN - len);
	unsigned char buf[48 * 1024];
	size_t k;
	int fd;

	dirty(i);
	for (k = 0; k < len; k++)
		buf[k] = next() >> 56;
	fd = open_file(i, O_RDWR | O_CREAT);
	if (pwrite(fd, buf, len, off) != (ssize_t)len)
		die("pwrite");
	close(fd);
	if (!f[i].exists)
		f[i].exists = 1;
	if (off > f[i].len)
		memset(f[i].data + f[i].len, 0, off - f[i].len);
	memcpy(f[i].data + off, buf, len);
	if (off + len > f[i].len)
		f[i].len = off + len;
}

static void op_truncate(int i)
{
	size_t len = below(MAXLEN);
	int fd;

	dirty(i);
	fd = open_file(i, O_RDWR);
	if (ftruncate(fd, len))
		die("ftruncate");
	close(fd);
	if (len > f[i].len)
		memset(f[i].data + f[i].len, 0, len - f[i].len);
	f[i].len = len;
}

static void op_fallocate(int i)
{
	size_t off = below(MAXLEN / 4096) * 4096;
	size_t len = (1 + below(8)) * 4096;
	int punch = below(2), fd;

	if (off + len > MAXLEN)
		len = MAXLEN - off;
	dirty(i);
	fd = open_file(i, O_RDWR);
	if (punch) {
		if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len))
			die("fallocate punch");
		if (off < f[i].len)
			memset(f[i].data + off, 0,
			       (off + len > f[i].len ? f[i].len : off + len) - off);
	} else {
		int keep = below(2);

		if (fallocate(fd, keep ? FALLOC_FL_KEEP_SIZE : 0, off, len))
			die("fallocate");
		if (!keep && off + len > f[i].len) {
			memset(f[i].data + f[i].len, 0, off + len - f[i].len);
			f[i].len = off + len;
		}
	}
	close(fd);
}

static void op_rename(int i, int j)
{
	char a[256], b[256];

	dirty(i);
	dirty(j);
	/* A file that never had a promise may still be promised "exists" later. */
	path(i, a);
	path(j, b);
	if (rename(a, b))
		die("rename");
	memcpy(f[j].data, f[i].data, f[i].len);
	f[j].len = f[i].len;
	f[j].exists = 1;
	f[j].last = f[j].last == NONE ? NONE : DIRTY;
	f[i].exists = 0;
	f[i].len = 0;
}

static void op_unlink(int i)
{
	char p[256];

	dirty(i);
	path(i, p);
	if (unlink(p))
		die("unlink");
	f[i].exists = 0;
	f[i].len = 0;
}

static void op_fsync(int i, int data_only)
{
	int fd = open_file(i, O_RDWR);

	if (data_only ? fdatasync(fd) : fsync(fd))
		die("fsync");
	close(fd);
	promise_content(i);
}

/* An fsync of subdirectory d: the names in it are durable. */
static void op_fsync_dir(int d)
{
	char m[32], p[256];
	int fd, i;

	sprintf(p, "%s/d%d", dir, d);
	fd = open(p, O_RDONLY | O_DIRECTORY);
	if (fd < 0 || fsync(fd))
		die("fsync of the directory");
	close(fd);
	for (i = d; i < NFILES; i += NDIRS) {
		if (!f[i].exists || f[i].last == CONTENT || f[i].last == EXISTS)
			continue;
		sprintf(m, "exists:d%d/f%d", d, i);
		mark(m);
		f[i].last = EXISTS;
	}
}

static void op_sync(void)
{
	int i;

	sync();
	for (i = 0; i < NFILES; i++)
		if (f[i].exists)
			promise_content(i);
}

int main(int argc, char **argv)
{
	int ops, n, i, j;

	if (argc != 5) {
		fprintf(stderr, "usage: crash_workload SEED OPS DIR DMNAME\n");
		return 2;
	}
	rng = strtoull(argv[1], NULL, 0) * 0x9e3779b97f4a7c15ULL | 1;
	ops = atoi(argv[2]);
	dir = argv[3];
	dm = argv[4];
	if (!strncmp(dm, "/dev/", 5)) {
		journal = open(dm, O_RDWR);
		if (journal < 0)
			die(dm);
	}
	/* The subdirectories, durable before the first promise (a file's fsync commits). */
	for (n = 0; n < NDIRS; n++) {
		char p[256];

		sprintf(p, "%s/d%d", dir, n);
		if (mkdir(p, 0755) && errno != EEXIST)
			die("mkdir");
	}
	for (n = 0; !ops || n < ops; n++) {
		i = below(NFILES);
		if (!f[i].exists) {
			op_write(i);
			continue;
		}
		switch (below(12)) {
		case 0:
		case 1:
		case 2:
			op_write(i);
			break;
		case 3:
			op_truncate(i);
			break;
		case 4:
			op_fallocate(i);
			break;
		case 5:
			j = below(NFILES);
			if (j != i)
				op_rename(i, j);
			break;
		case 6:
			op_unlink(i);
			break;
		case 7:
		case 8:
			op_fsync(i, 0);
			break;
		case 9:
			op_fsync(i, 1);
			break;
		case 10:
			op_fsync_dir(below(NDIRS));
			break;
		default:
			op_sync();
			break;
		}
	}
	printf("crash_workload: %d operations\n", ops);
	return 0;
}
