// SPDX-License-Identifier: GPL-2.0
/*
 * A small fsx: random writes, reads, truncates, fallocate (allocate, keep
 * size, punch hole), mmap reads and writes, copy_file_range, fsync/fdatasync,
 * cache drops and reopens on one file, each checked against a model of its
 * contents in memory, and the bytes past the end of the last page checked to
 * be zero through a mapping. Any difference is reported with the operation log and fails.
 *
 *   fsx_lite [-n OPS] [-s SEED] [-l MAXSIZE] [-o MODEL] FILE
 *
 * -o writes the model's final contents to MODEL, for a comparison with the
 * file after a remount.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 0x01
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE 0x02
#endif

static unsigned char *model;
static size_t model_size;
static size_t max_size = 1 << 20;
static int fd = -1;
static const char *path;
static unsigned long long rng;

#define LOG_LEN 32
static char oplog[LOG_LEN][96];
static unsigned long nops;

static unsigned long long next_rand(void)
{
	/* xorshift64*: reproducible from the seed on any libc */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}

static size_t rand_below(size_t n)
{
	return n ? next_rand() % n : 0;
}

static void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(oplog[nops % LOG_LEN], sizeof(oplog[0]), fmt, ap);
	va_end(ap);
	nops++;
}

static void fail(const char *fmt, ...)
{
	va_list ap;
	unsigned long i, first = nops > LOG_LEN ? nops - LOG_LEN : 0;

	printf("# fsx_lite: FAILED at op %lu: ", nops);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n# last operations:\n");
	for (i = first; i < nops; i++)
		printf("#   %lu: %s\n", i, oplog[i % LOG_LEN]);
	exit(1);
}

static void check_range(const unsigned char *got, size_t off, size_t len,
			const char *how)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char want = off + i < model_size ? model[off + i] : 0;

		if (got[i] != want)
			fail("%s: byte %zu is 0x%02x, expected 0x%02x", how,
			     off + i, got[i], want);
	}
}

static void do_open(void)
{
	fd = open(path, O_RDWR | O_CREAT, 0644);
	if (fd < 0)
		fail("open %s: %s", path, strerror(errno));
}

static void check_size(void)
{
	struct stat st;

	if (fstat(fd, &st))
		fail("fstat: %s", strerror(errno));
	if ((size_t)st.st_size != model_size)
		fail("size is %lld, expected %zu", (long long)st.st_size,
		     model_size);
}

static void op_read(size_t off, size_t len)
{
	unsigned char *buf = malloc(len + 1);
	ssize_t n;
	size_t want = off >= model_size ? 0 :
		      (model_size - off < len ? model_size - off : len);

	note("read %zu+%zu", off, len);
	n = pread(fd, buf, len, off);
	if (n < 0)
		fail("pread: %s", strerror(errno));
	if ((size_t)n != want)
		fail("pread %zu+%zu returned %zd, expected %zu", off, len, n,
		     want);
	check_range(buf, off, n, "read");
	free(buf);
}

static void op_write(size_t off, size_t len)
{
	unsigned char *buf = malloc(len);
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = next_rand() >> 56;
	note("write %zu+%zu", off, len);
	if (pwrite(fd, buf, len, off) != (ssize_t)len)
		fail("pwrite %zu+%zu: %s", off, len, strerror(errno));
	memcpy(model + off, buf, len);
	if (off + len > model_size)
		model_size = off + len;
	free(buf);
}

static void op_truncate(size_t size)
{
	note("truncate %zu (from %zu)", size, model_size);
	if (ftruncate(fd, size))
		fail("ftruncate %zu: %s", size, strerror(errno));
	if (size < model_size)
		memset(model + size, 0, model_size - size);
	model_size = size;
}

static void op_fallocate(int mode, size_t off, size_t len)
{
	note("fallocate mode %d %zu+%zu (size %zu)", mode, off, len,
	     model_size);
	if (fallocate(fd, mode, off, len))
		fail("fallocate mode %d %zu+%zu: %s", mode, off, len,
		     strerror(errno));
	if (mode & FALLOC_FL_PUNCH_HOLE) {
		size_t end = off + len < model_size ? off + len : model_size;

		if (off < end)
			memset(model + off, 0, end - off);
	} else if (!(mode & FALLOC_FL_KEEP_SIZE) && off + len > model_size) {
		model_size = off + len;
	}
}

static void op_mmap(size_t off, size_t len, int write)
{
	size_t pg = 4096, start = off / pg * pg, maplen;
	unsigned char *map;
	size_t i;

	if (off >= model_size)
		return;
	if (off + len > model_size)
		len = model_size - off;
	maplen = off + len - start;
	note("mmap %s %zu+%zu", write ? "write" : "read", off, len);
	map = mmap(NULL, maplen, PROT_READ | (write ? PROT_WRITE : 0),
		   MAP_SHARED, fd, start);
	if (map == MAP_FAILED)
		fail("mmap: %s", strerror(errno));
	if (write) {
		for (i = 0; i < len; i++) {
			unsigned char b = next_rand() >> 56;

			map[off - start + i] = b;
			model[off + i] = b;
		}
		if (rand_below(2) && msync(map, maplen, MS_SYNC))
			fail("msync: %s", strerror(errno));
	} else {
		check_range(map + (off - start), off, len, "mmap read");
	}
	munmap(map, maplen);
}

/* Bytes past the end of the file in its last page read as zeros, also mapped. */
static void check_eof_page(void)
{
	size_t pg = 4096, start = model_size / pg * pg, i;
	unsigned char *map;

	if (model_size % pg == 0)
		return;
	note("check eof page at %zu", model_size);
	map = mmap(NULL, pg, PROT_READ, MAP_SHARED, fd, start);
	if (map == MAP_FAILED)
		fail("mmap eof page: %s", strerror(errno));
	for (i = model_size - start; i < pg; i++)
		if (map[i])
			fail("byte %zu past the end (%zu) is 0x%02x", start + i,
			     model_size, map[i]);
	munmap(map, pg);
}

/* copy_file_range within the file (the VFS's splice fallback without a method). */
static void op_copy(size_t from, size_t to, size_t len)
{
	loff_t in = from, out = to;
	ssize_t n;

	if (from >= model_size)
		return;
	if (from + len > model_size)
		len = model_size - from;
	/* The ranges must not overlap. */
	if (from < to + len && to < from + len)
		return;
	note("copy %zu+%zu to %zu", from, len, to);
	while (len) {
		n = copy_file_range(fd, &in, fd, &out, len, 0);
		if (n <= 0)
			fail("copy_file_range: %s", n ? strerror(errno) : "short");
		memmove(model + out - n, model + in - n, n);
		if ((size_t)out > model_size)
			model_size = out;
		len -= n;
	}
}

/*
 * Writes garbage past the end of the file through a shared mapping of its last
 * page (which Linux allows and which is not file data), then extends the file
 * past that page by truncate or by a write: the garbage must read as zeros.
 */
static void op_eof_garbage(void)
{
	size_t pg = 4096, start = model_size / pg * pg, i, to;
	unsigned char *map;

	if (model_size % pg == 0 || start + 2 * pg > max_size)
		return;
	note("garbage past eof %zu through mmap", model_size);
	map = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, start);
	if (map == MAP_FAILED)
		fail("mmap eof page: %s", strerror(errno));
	for (i = model_size - start; i < pg; i++)
		map[i] = 0xa5;
	munmap(map, pg);
	to = start + pg + rand_below(pg);
	if (rand_below(2)) {
		op_truncate(to);
	} else {
		if (to >= max_size)
			to = max_size - 1;
		op_write(to, 1);
	}
}

static void verify_all(const char *when)
{
	note("verify all (%s)", when);
	check_size();
	if (model_size)
		op_read(0, model_size);
}

int main(int argc, char **argv)
{
	unsigned long ops = 2000, i;
	unsigned long long seed = 1;
	const char *keep = NULL;
	int c;

	while ((c = getopt(argc, argv, "n:s:l:o:")) != -1) {
		switch (c) {
		case 'n':
			ops = strtoul(optarg, NULL, 0);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'l':
			max_size = strtoul(optarg, NULL, 0);
			break;
		case 'o':
			keep = optarg;
			break;
		default:
			fprintf(stderr, "usage: %s [-n OPS] [-s SEED] [-l MAXSIZE] [-o MODEL] FILE\n",
				argv[0]);
			return 2;
		}
	}
	if (optind + 1 != argc || max_size < 8192)
		return 2;
	path = argv[optind];
	rng = seed * 0x9e3779b97f4a7c15ULL + 1;
	model = calloc(max_size, 1);
	unlink(path);
	do_open();

	for (i = 0; i < ops; i++) {
		size_t off = rand_below(max_size), len;
		unsigned long r = rand_below(100);

		/* Block-aligned now and then: whole-block paths. */
		if (rand_below(4) == 0)
			off &= ~4095UL;
		len = 1 + rand_below(rand_below(4) ? 16384 : 131072);
		if (off + len > max_size)
			len = max_size - off;
		if (!len)
			continue;
		if (r < 30)
			op_write(off, len);
		else if (r < 50)
			op_read(off, len);
		else if (r < 56)
			op_truncate(rand_below(max_size));
		else if (r < 60)
			op_fallocate(0, off, len);
		else if (r < 64)
			op_fallocate(FALLOC_FL_KEEP_SIZE, off, len);
		else if (r < 70)
			op_fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				     off, len);
		else if (r < 76)
			op_mmap(off, len, 1);
		else if (r < 80)
			op_mmap(off, len, 0);
		else if (r < 84) {
			note("fsync");
			if ((rand_below(2) ? fsync(fd) : fdatasync(fd)))
				fail("fsync: %s", strerror(errno));
		} else if (r < 88) {
			note("fadvise dontneed");
			fdatasync(fd);
			posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		} else if (r < 90) {
			note("reopen");
			close(fd);
			do_open();
			verify_all("reopen");
		} else if (r < 94) {
			op_copy(rand_below(max_size), rand_below(max_size - len), len);
		} else if (r < 96) {
			check_eof_page();
		} else if (r < 98) {
			op_eof_garbage();
		} else {
			check_size();
		}
	}
	verify_all("end");
	if (fsync(fd))
		fail("final fsync: %s", strerror(errno));
	close(fd);
	if (keep) {
		FILE *m = fopen(keep, "w");

		if (!m || fwrite(model, 1, model_size, m) != model_size ||
		    fclose(m))
			fail("writing %s", keep);
	}
	printf("# fsx_lite: %lu operations, seed %llu, final size %zu: ok\n",
	       ops, seed, model_size);
	return 0;
}
