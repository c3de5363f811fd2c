// SPDX-License-Identifier: GPL-2.0
/*
 * short_copy write DIR
 * short_copy verify DIR
 *
 * Writes whose copy from user space comes up short. Each case makes a file
 * of known bytes, makes it reach the disk and leave the page cache, then
 * writes to it from a buffer whose end runs into an unmapped page, so that
 * the copy into a folio the write covers whole stops partway: 1 byte into
 * the folio ("start"), half way ("middle"), 1 byte before its end ("end"),
 * from a write that starts inside a folio ("unaligned"), and over the end of
 * the file ("past-eof"). write(2) returns how many bytes it took, from 1 to
 * what the user could give (emfs: all of them), or fails with EFAULT having
 * taken none (btrfs faults the whole chunk in first and gives up on it); the
 * bytes it took are the new ones and every other byte of the file is the old
 * one: a file system that zeroes the rest of the folio (simple_write_end on a
 * disk file system) or leaves it uninitialised fails.
 *
 * "write" makes the files and checks them from the page cache, after fsync
 * and after the caches are dropped; "verify" checks them again (after a
 * remount). Prints a line per problem; exit 0 if none, 1 if any, 2 on a setup
 * error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE 4096

struct short_case {
	const char *name;
	off_t old_size;	/* the file before the write */
	off_t pos;	/* where the write starts */
	size_t len;	/* what it asks for */
	size_t mapped;	/* what of it the user's buffer has */
};

static const struct short_case cases[] = {
	{ "start", 4 * PAGE, PAGE, 2 * PAGE, PAGE + 1 },
	{ "middle", 4 * PAGE, PAGE, 2 * PAGE, PAGE + PAGE / 2 },
	{ "end", 4 * PAGE, PAGE, 2 * PAGE, 2 * PAGE - 1 },
	{ "unaligned", 4 * PAGE, PAGE + 1000, 2 * PAGE - 1000 + 96,
	  PAGE - 1000 + PAGE / 2 },
	{ "past-eof", 3 * PAGE, 2 * PAGE, 2 * PAGE, PAGE + PAGE / 2 },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static int problems;

static unsigned char old_byte(int c, off_t i)
{
	return (unsigned char)(i * 31 + c * 7 + 1);
}

static unsigned char new_byte(int c, size_t j)
{
	return (unsigned char)(j * 17 + 0x5b + c);
}

/* What byte i of case c's file must be after its write took `taken` bytes. */
static int expected(int c, off_t i, size_t taken)
{
	const struct short_case *k = &cases[c];

	if (i >= k->pos && i < k->pos + (off_t)taken)
		return new_byte(c, i - k->pos);
	if (i < k->old_size)
		return old_byte(c, i);
	return 0;
}

static void path_of(char *path, size_t n, const char *dir, int c)
{
	snprintf(path, n, "%s/short-%s", dir, cases[c].name);
}

static void drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);

	sync();
	if (fd < 0 || write(fd, "3", 1) != 1)
		perror("drop_caches");
	if (fd >= 0)
		close(fd);
}

/* Checks case c's file against what its write took; says what differs. */
static void check(int c, const char *dir, size_t taken, const char *when)
{
	const struct short_case *k = &cases[c];
	off_t want_size = k->old_size > k->pos + (off_t)taken ? k->old_size : k->pos + taken;
	static unsigned char buf[8 * PAGE];
	char path[256];
	struct stat st;
	off_t i, first_bad = -1, bad = 0;
	ssize_t r;
	int fd;

	path_of(path, sizeof(path), dir, c);
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st)) {
		printf("%s %s: cannot open: %s\n", k->name, when, strerror(errno));
		problems++;
		return;
	}
	if (st.st_size != want_size) {
		printf("%s %s: size %lld, want %lld\n", k->name, when,
		       (long long)st.st_size, (long long)want_size);
		problems++;
	}
	r = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	for (i = 0; i < r; i++) {
		if (buf[i] != expected(c, i, taken)) {
			if (first_bad < 0)
				first_bad = i;
			bad++;
		}
	}
	if (bad) {
		printf("%s %s: %lld bytes neither old nor written, first at %lld (0x%02x, want 0x%02x)\n",
		       k->name, when, (long long)bad, (long long)first_bad, buf[first_bad],
		       expected(c, first_bad, taken));
		problems++;
	}
}

/* Makes case c's file of old bytes, on the disk. */
static void make(int c, const char *dir)
{
	const struct short_case *k = &cases[c];
	static unsigned char old[8 * PAGE];
	char path[256];
	off_t i;
	int fd;

	path_of(path, sizeof(path), dir, c);
	for (i = 0; i < k->old_size; i++)
		old[i] = old_byte(c, i);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || pwrite(fd, old, k->old_size, 0) != k->old_size || fsync(fd)) {
		perror(path);
		exit(2);
	}
	close(fd);
}

/* Writes to case c's file; returns the bytes write(2) took. */
static size_t run(int c, const char *dir)
{
	const struct short_case *k = &cases[c];
	unsigned char *base, *buf;
	char path[256];
	size_t j;
	ssize_t r;
	int fd;

	path_of(path, sizeof(path), dir, c);

	/* Three pages, the last unmapped: the buffer's end runs into it. */
	base = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED || munmap(base + 2 * PAGE, PAGE)) {
		perror("mmap");
		exit(2);
	}
	buf = base + 2 * PAGE - k->mapped;
	for (j = 0; j < k->mapped; j++)
		buf[j] = new_byte(c, j);
	fd = open(path, O_RDWR);
	if (fd < 0) {
		perror(path);
		exit(2);
	}
	r = pwrite(fd, buf, k->len, k->pos);
	if (r < 0 && errno == EFAULT) {
		r = 0;
	} else if (r <= 0 || r > (ssize_t)k->mapped) {
		printf("%s: write of %zu bytes at %lld with %zu readable returned %zd (%s)\n",
		       k->name, k->len, (long long)k->pos, k->mapped, r,
		       r < 0 ? strerror(errno) : "more than readable, or nothing without EFAULT");
		problems++;
		if (r < 0)
			r = 0;
	}
	check(c, dir, r, "in the page cache");
	if (fsync(fd)) {
		printf("%s: fsync: %s\n", k->name, strerror(errno));
		problems++;
	}
	close(fd);
	check(c, dir, r, "after fsync");
	munmap(base, 2 * PAGE);
	return r;
}

int main(int argc, char **argv)
{
	char taken_path[256];
	size_t taken[NCASES];
	unsigned int c;
	FILE *f;

	if (argc != 3 || (strcmp(argv[1], "write") && strcmp(argv[1], "verify"))) {
		fprintf(stderr, "usage: %s write|verify DIR\n", argv[0]);
		return 2;
	}
	/* What each write took, for "verify" after the remount. */
	snprintf(taken_path, sizeof(taken_path), "/tmp/short_copy.%s",
		 strrchr(argv[2], '/') ? strrchr(argv[2], '/') + 1 : argv[2]);
	if (!strcmp(argv[1], "write")) {
		for (c = 0; c < NCASES; c++)
			make(c, argv[2]);
		/* The old bytes are on the disk only: the writes find no folio to reuse. */
		drop_caches();
		for (c = 0; c < NCASES; c++)
			taken[c] = run(c, argv[2]);
		drop_caches();
		for (c = 0; c < NCASES; c++)
			check(c, argv[2], taken[c], "after drop_caches");
		f = fopen(taken_path, "w");
		for (c = 0; f && c < NCASES; c++)
			fprintf(f, "%zu\n", taken[c]);
		if (!f || fclose(f)) {
			perror(taken_path);
			return 2;
		}
	} else {
		f = fopen(taken_path, "r");
		for (c = 0; f && c < NCASES; c++) {
			if (fscanf(f, "%zu", &taken[c]) != 1) {
				fprintf(stderr, "%s: short\n", taken_path);
				return 2;
			}
		}
		if (!f) {
			perror(taken_path);
			return 2;
		}
		fclose(f);
		for (c = 0; c < NCASES; c++)
			check(c, argv[2], taken[c], "after the remount");
	}
	for (c = 0; c < NCASES; c++)
		printf("%s: write at %lld of %zu bytes, %zu readable: took %zu%s\n", cases[c].name,
		       (long long)cases[c].pos, cases[c].len, cases[c].mapped, taken[c],
		       taken[c] ? "" : " (EFAULT)");
	return problems ? 1 : 0;
}
