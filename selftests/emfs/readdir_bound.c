// SPDX-License-Identifier: GPL-2.0
/*
 * readdir_bound DIR PREFIX
 *
 * What a reading of a directory sees of the changes made while it reads, on
 * any file system (run on emfs and btrfs by btrfs_compare.sh):
 *  1. Ten names PREFIX0..PREFIX9 are made; the directory is opened and read
 *     up to the first of them; PREFIX-late is made; the reading goes on. Each
 *     of the ten must be returned exactly once. PREFIX-late is not returned
 *     (POSIX leaves it open; btrfs stops at the index it saw at opendir, and
 *     emfs at the position it saw at its first read), but after rewinddir
 *     it is.
 *  2. The directory is read again from its start, and each of the ten is
 *     renamed within it as it is read: the reading must end, each of the ten
 *     returned once (a file system that gave renamed entries new positions
 *     past the reading's end would read forever: btrfs 9b378f6ad48c).
 *
 * The reading is getdents64 one entry at a time (a buffer that holds one), so
 * that each step reaches the file system: readdir(3) would have fetched the
 * whole small directory before the first change.
 *
 * Prints one line of counts; exit 0 if all holds, 1 if not, 2 on a setup
 * error.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define N 10

static char dir[4096], prefix[256];

static int make(const char *name)
{
	char path[8192];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0644);
	if (fd < 0)
		return -1;
	return close(fd);
}

/* The next entry's name of the directory open at `fd`, or NULL at its end. */
static const char *next(int fd)
{
	static char buf[sizeof(struct dirent64) + 16];
	static long left, at;
	struct dirent64 *e;

	if (fd < 0) {
		/* Forget what is buffered: the position moved. */
		left = at = 0;
		return NULL;
	}
	if (at >= left) {
		/* A buffer for one entry of a short name at a time. */
		left = syscall(SYS_getdents64, fd, buf, 48);
		at = 0;
		if (left <= 0)
			return NULL;
	}
	e = (struct dirent64 *)(buf + at);
	at += e->d_reclen;
	return e->d_name;
}

/* Which of the ten `name` is (its index), N for PREFIX-late, -1 otherwise. */
static int which(const char *name, const char *suffix)
{
	size_t p = strlen(prefix), s = strlen(suffix);
	char *end;
	long i;

	if (strncmp(name, prefix, p))
		return -1;
	if (!strcmp(name + p, "-late"))
		return N;
	i = strtol(name + p, &end, 10);
	if (end == name + p || strcmp(end, suffix) || i < 0 || i >= N || s > 64)
		return -1;
	return (int)i;
}

int main(int argc, char **argv)
{
	int seen[N + 1] = { 0 }, late_after = 0, reads = 0, renamed[N] = { 0 };
	int dup = 0, missing = 0, i, ok, fd;
	char name[300], to[300], from[8192], dest[8192];
	const char *n;

	if (argc != 3 || strlen(argv[1]) >= sizeof(dir) ||
	    strlen(argv[2]) >= sizeof(prefix) - 16) {
		fprintf(stderr, "usage: %s DIR PREFIX\n", argv[0]);
		return 2;
	}
	strcpy(dir, argv[1]);
	strcpy(prefix, argv[2]);
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "%s%d", prefix, i);
		if (make(name)) {
			perror(name);
			return 2;
		}
	}

	/* 1: a name made during the reading, then a rewind. */
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		perror(dir);
		return 2;
	}
	while ((n = next(fd))) {
		i = which(n, "");
		if (i < 0)
			continue;
		seen[i]++;
		if (i < N)
			break;
	}
	snprintf(name, sizeof(name), "%s-late", prefix);
	if (make(name)) {
		perror(name);
		return 2;
	}
	while ((n = next(fd))) {
		i = which(n, "");
		if (i >= 0)
			seen[i]++;
	}
	lseek(fd, 0, SEEK_SET);
	next(-1);
	while ((n = next(fd)))
		late_after += which(n, "") == N;
	close(fd);
	for (i = 0; i < N; i++) {
		dup += seen[i] > 1;
		missing += seen[i] == 0;
	}

	/* 2: each of the ten renamed as it is read. */
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		perror(dir);
		return 2;
	}
	next(-1);
	while ((n = next(fd)) && reads < 100000) {
		reads++;
		i = which(n, "");
		if (i < 0 || i == N)
			continue;
		renamed[i]++;
		snprintf(to, sizeof(to), "%s%d-r", prefix, i);
		snprintf(from, sizeof(from), "%s/%s", dir, n);
		snprintf(dest, sizeof(dest), "%s/%s", dir, to);
		if (rename(from, dest)) {
			perror(from);
			return 2;
		}
	}
	close(fd);
	for (i = 0; i < N; i++) {
		dup += renamed[i] > 1;
		missing += renamed[i] == 0;
	}

	ok = !seen[N] && late_after == 1 && !dup && !missing && reads < 100000;
	printf("late_before_rewind=%d late_after_rewind=%d duplicates=%d missing=%d rename_reads_end=%d\n",
	       seen[N], late_after, dup, missing, reads < 100000);
	return ok ? 0 : 1;
}
