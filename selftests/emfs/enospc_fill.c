// SPDX-License-Identifier: GPL-2.0
/*
 * enospc_fill fill DIR FILES SPAN STATE
 * enospc_fill verify DIR STATE [GONE]
 * enospc_fill append FILE BLOCKS
 *
 * "fill": FILES files in DIR, written by 4 KiB blocks scattered over their
 * first SPAN blocks (each block once, round robin over the files, in an order
 * that leaves holes between them) until the file system refuses: a write fails
 * with ENOSPC for every file in a row. Then every file is fsynced. The bytes
 * every write took are saved in STATE. Prints what was accepted and refused
 * and each fsync that failed.
 *
 * "verify": every file in STATE but the first GONE (removed) holds exactly what
 * its accepted writes gave it: size, data, and zeros in the holes.
 *
 * "append": writes FILE by 4 KiB blocks, up to BLOCKS of them, until ENOSPC;
 * then fsyncs it. Prints the blocks accepted.
 *
 * "punch": FILE holds BLOCKS blocks that "append" wrote; punches its odd blocks
 * one at a time (each hole splits the extent around it) until one is refused
 * with ENOSPC, then fsyncs it. Prints the holes punched.
 *
 * "punched": FILE holds what "append" wrote but zeros in the first HOLES odd
 * blocks.
 *
 * Exit 0 if every fsync returned 0 and (verify, punched) every byte was right; 1
 * otherwise; 2 on a setup error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLK 4096
#define MAX_FILES 256
#define MAX_SPAN 4096

/* The bytes each block's write took (0: not written). */
static unsigned short taken[MAX_FILES][MAX_SPAN];
static int nfiles, span;

static unsigned char data_byte(int f, int b, int j)
{
	return (unsigned char)((f * 131 + b * 29 + j * 7) ^ 0xa5) | 1;
}

static void fill_block(unsigned char *buf, int f, int b)
{
	int j;

	for (j = 0; j < BLK; j++)
		buf[j] = data_byte(f, b, j);
}

static void name_of(char *path, size_t n, const char *dir, int f)
{
	snprintf(path, n, "%s/f%03d", dir, f);
}

/* The i-th block of a file's order: an odd stride over a power-of-two span. */
static int block_at(int f, int i)
{
	return (int)(((long)i * 37 + f * 11) % span);
}

static int save(const char *state)
{
	FILE *s = fopen(state, "w");
	int f, b;

	if (!s)
		return -1;
	fprintf(s, "%d %d\n", nfiles, span);
	for (f = 0; f < nfiles; f++)
		for (b = 0; b < span; b++)
			if (taken[f][b])
				fprintf(s, "%d %d %d\n", f, b, taken[f][b]);
	return fclose(s);
}

static int load(const char *state)
{
	FILE *s = fopen(state, "r");
	int f, b, t;

	if (!s || fscanf(s, "%d %d", &nfiles, &span) != 2 || nfiles > MAX_FILES ||
	    span > MAX_SPAN)
		return -1;
	while (fscanf(s, "%d %d %d", &f, &b, &t) == 3) {
		if (f < 0 || f >= nfiles || b < 0 || b >= span || t <= 0 || t > BLK)
			return -1;
		taken[f][b] = t;
	}
	fclose(s);
	return 0;
}

static int fill(const char *dir, const char *state)
{
	static unsigned char buf[BLK];
	int fds[MAX_FILES], f, i, refused_in_row = 0, fsync_failed = 0;
	long accepted = 0, refused = 0, partial = 0;
	char path[512];
	ssize_t r;

	for (f = 0; f < nfiles; f++) {
		name_of(path, sizeof(path), dir, f);
		fds[f] = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fds[f] < 0) {
			perror(path);
			return 2;
		}
	}
	for (i = 0; i < span && refused_in_row < nfiles; i++) {
		for (f = 0; f < nfiles && refused_in_row < nfiles; f++) {
			int b = block_at(f, i);

			fill_block(buf, f, b);
			r = pwrite(fds[f], buf, BLK, (off_t)b * BLK);
			if (r < 0 && errno != ENOSPC) {
				printf("write of f%03d block %d: %s\n", f, b, strerror(errno));
				return 1;
			}
			if (r <= 0) {
				refused++;
				refused_in_row++;
				continue;
			}
			refused_in_row = 0;
			accepted++;
			partial += r < BLK;
			taken[f][b] = r;
		}
	}
	for (f = 0; f < nfiles; f++) {
		if (fsync(fds[f])) {
			printf("fsync of f%03d: %s\n", f, strerror(errno));
			fsync_failed++;
		}
		close(fds[f]);
	}
	printf("accepted %ld writes (%ld short), refused %ld, %s; %d fsyncs failed\n",
	       accepted, partial, refused,
	       refused_in_row >= nfiles ? "full" : "NOT FULL: the span is too small",
	       fsync_failed);
	if (save(state)) {
		perror(state);
		return 2;
	}
	return fsync_failed || refused_in_row < nfiles ? 1 : 0;
}

static int verify(const char *dir, int gone)
{
	static unsigned char buf[BLK];
	long bad_files = 0, bad_bytes = 0, blocks = 0;
	char path[512];
	int f, b, j;

	for (f = 0; f < nfiles; f++) {
		off_t size = 0;
		struct stat st;
		int fd;

		if (f < gone)
			continue;
		for (b = 0; b < span; b++)
			if (taken[f][b])
				size = (off_t)b * BLK + taken[f][b];
		name_of(path, sizeof(path), dir, f);
		fd = open(path, O_RDONLY);
		if (fd < 0 || fstat(fd, &st)) {
			printf("f%03d: %s\n", f, strerror(errno));
			bad_files++;
			continue;
		}
		if (st.st_size != size) {
			printf("f%03d: size %lld, want %lld\n", f, (long long)st.st_size,
			       (long long)size);
			bad_files++;
		}
		for (b = 0; (off_t)b * BLK < size; b++) {
			ssize_t want = size - (off_t)b * BLK < BLK ? size - (off_t)b * BLK : BLK;
			long bad = 0;

			if (pread(fd, buf, want, (off_t)b * BLK) != want) {
				printf("f%03d: block %d: short read\n", f, b);
				bad_files++;
				break;
			}
			for (j = 0; j < want; j++)
				bad += buf[j] != (j < taken[f][b] ? data_byte(f, b, j) : 0);
			if (bad) {
				if (bad_bytes == 0)
					printf("f%03d: block %d (%s): %ld bytes wrong\n", f, b,
					       taken[f][b] ? "written" : "a hole", bad);
				bad_bytes += bad;
			}
			blocks += taken[f][b] != 0;
		}
		close(fd);
	}
	printf("%ld written blocks checked; %ld files and %ld bytes wrong\n", blocks, bad_files,
	       bad_bytes);
	return bad_files || bad_bytes ? 1 : 0;
}

/* Fsyncs FD and prints N, what was done to it: the exit status of "append" and "punch". */
static int done(int fd, long n)
{
	if (fsync(fd)) {
		printf("fsync: %s\n", strerror(errno));
		return 1;
	}
	close(fd);
	printf("%ld\n", n);
	return 0;
}

static int append(const char *path, long max)
{
	static unsigned char buf[BLK];
	long n = 0;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0) {
		printf("%s: %s\n", path, strerror(errno));
		return 1;
	}
	memset(buf, 0x3c, sizeof(buf));
	while (n < max && pwrite(fd, buf, BLK, n * BLK) == BLK)
		n++;
	if (n < max && errno != ENOSPC)
		printf("write: %s\n", strerror(errno));
	return done(fd, n);
}

static int punch(const char *path, long blocks)
{
	long n = 0;
	int fd = open(path, O_RDWR);

	if (fd < 0) {
		printf("%s: %s\n", path, strerror(errno));
		return 2;
	}
	for (; 2 * n + 1 < blocks; n++)
		if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      (2 * n + 1) * (off_t)BLK, BLK))
			break;
	if (2 * n + 1 < blocks && errno != ENOSPC) {
		printf("punch %ld: %s\n", n, strerror(errno));
		return 1;
	}
	return done(fd, n);
}

static int punched(const char *path, long blocks, long holes)
{
	static unsigned char buf[BLK];
	long b, bad = 0;
	int fd = open(path, O_RDONLY), j;

	if (fd < 0) {
		printf("%s: %s\n", path, strerror(errno));
		return 1;
	}
	for (b = 0; b < blocks; b++) {
		int hole = b % 2 && b / 2 < holes;

		if (pread(fd, buf, BLK, b * (off_t)BLK) != BLK) {
			printf("block %ld: short read\n", b);
			return 1;
		}
		for (j = 0; j < BLK; j++)
			bad += buf[j] != (hole ? 0 : 0x3c);
	}
	close(fd);
	printf("%ld blocks checked, %ld holes; %ld bytes wrong\n", blocks, holes, bad);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "fill")) {
		nfiles = atoi(argv[3]);
		span = atoi(argv[4]);
		if (nfiles <= 0 || nfiles > MAX_FILES || span <= 0 || span > MAX_SPAN ||
		    (span & (span - 1))) {
			fprintf(stderr, "FILES 1..%d, SPAN a power of two up to %d\n", MAX_FILES,
				MAX_SPAN);
			return 2;
		}
		return fill(argv[2], argv[5]);
	}
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "verify")) {
		if (load(argv[3])) {
			fprintf(stderr, "%s: cannot load\n", argv[3]);
			return 2;
		}
		return verify(argv[2], argc == 5 ? atoi(argv[4]) : 0);
	}
	if (argc == 4 && !strcmp(argv[1], "append"))
		return append(argv[2], atol(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "punch"))
		return punch(argv[2], atol(argv[3]));
	if (argc == 5 && !strcmp(argv[1], "punched"))
		return punched(argv[2], atol(argv[3]), atol(argv[4]));
	fprintf(stderr, "usage: %s fill DIR FILES SPAN STATE | verify DIR STATE [GONE] |"
		" append FILE BLOCKS | punch FILE BLOCKS | punched FILE BLOCKS HOLES\n", argv[0]);
	return 2;
}
