// SPDX-License-Identifier: GPL-2.0
/*
 * The 2020 btrfs extent-map race, played through the file system:
 *
 *  1. extent A = [0, 64K) is written back and its map unpinned;
 *  2. extent B = [64K, 128K), right after A on disk, likewise;
 *  3. B's pages are released (fadvise DONTNEED): B's map stays, it is
 *     modified and fsync needs it;
 *  4. a reader reads B: it looks up B's map, holds it and (through emfs's
 *     debugfs hook) stays parked there;
 *  5. fsync logs A and B and then clears their LOGGING flags, which tries to
 *     merge B into A: with the reader holding B, the merge must be refused;
 *  6. the reader is let go and must have read B's data;
 *  7. C = [128K, 192K), right after B on disk, is written and fsynced: now
 *     B may merge (with C);
 *  8. the file's pages are released: its maps, logged and committed, go.
 *
 *   race_repro [-n|-t] FILE
 *
 * -n: no hook and no counters (another file system, e.g. btrfs): the same
 * operations in the same order, with the reader racing freely.
 * -t: also print the sequence as a timeline of what each side did, with the
 * kernel's view of it (the reference count that refused the merge), for
 * `make run`.
 *
 * Prints "key=value" lines for the calling test to check, and the file ends
 * up as A, B, C: a deterministic pattern the test can compare.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXT (64 * 1024)
#define DBG "/sys/kernel/debug/emfs/"
#define EXTMAP "/sys/kernel/debug/extmap/"

static int no_hook, timeline;
static struct timespec t0;

/* One timeline line: milliseconds since the start, the side, what it did. */
static void tl(const char *side, const char *fmt, ...)
{
	struct timespec now;
	va_list ap;

	if (!timeline)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	printf("  %+6ld ms  %-6s  ", (now.tv_sec - t0.tv_sec) * 1000 +
	       (now.tv_nsec - t0.tv_nsec) / 1000000, side);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void die(const char *what)
{
	printf("# race_repro: %s: %s\n", what, strerror(errno));
	exit(1);
}

static unsigned char pattern(size_t off)
{
	return (off * 2654435761u) >> 13;
}

static void fill(unsigned char *buf, size_t off, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = pattern(off + i);
}

static unsigned long long read_u64(const char *path)
{
	unsigned long long v = 0;
	FILE *f = fopen(path, "r");

	if (!f || fscanf(f, "%llu", &v) != 1)
		die(path);
	fclose(f);
	return v;
}

static void write_u64(const char *path, unsigned long long v)
{
	FILE *f = fopen(path, "w");

	if (!f || fprintf(f, "%llu\n", v) < 0 || fclose(f))
		die(path);
}

/* Writes [off, off + EXT) and waits for its writeback, without fsync. */
static void write_back(int fd, size_t off)
{
	unsigned char buf[EXT];

	fill(buf, off, EXT);
	if (pwrite(fd, buf, EXT, off) != EXT)
		die("pwrite");
	if (sync_file_range(fd, off, EXT,
			    SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
			    SYNC_FILE_RANGE_WAIT_AFTER))
		die("sync_file_range");
}

/* The reader: reads B and checks it. Exit status 0 if the data is right. */
static int reader(const char *path)
{
	unsigned char got[EXT], want[EXT];
	int fd = open(path, O_RDONLY);

	if (fd < 0 || pread(fd, got, EXT, EXT) != EXT)
		return 2;
	fill(want, EXT, EXT);
	if (memcmp(got, want, EXT)) {
		tl("reader", "read B: WRONG BYTES; lets go of B's map");
		return 1;
	}
	tl("reader", "read B's 64 KiB: the right bytes; lets go of B's map");
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long long refused0 = 0, refused1 = 0, merges1 = 0, merges2 = 0;
	unsigned long long parked0 = 0, parked = 0, drops0 = 0, drops1 = 0, drops2 = 0;
	unsigned long long drops_kept = 0;
	const char *path;
	struct stat st;
	int fd, status, waited;
	pid_t pid;

	if (argc == 3 && !strcmp(argv[1], "-n"))
		no_hook = 1;
	else if (argc == 3 && !strcmp(argv[1], "-t"))
		timeline = 1;
	else if (argc != 2)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	path = argv[argc - 1];

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("open");
	if (fsync(fd))
		die("fsync");
	write_back(fd, 0);
	tl("writer", "A [0, 64K) written back; its map inserted pinned, then unpinned");
	write_back(fd, EXT);
	tl("writer", "B [64K, 128K) written back, right after A on disk");
	if (!no_hook)
		drops0 = read_u64(EXTMAP "drops");
	/* B's map is modified and newer than the last commit: release keeps it. */
	if (posix_fadvise(fd, EXT, EXT, POSIX_FADV_DONTNEED))
		die("fadvise");
	if (!no_hook)
		drops_kept = read_u64(EXTMAP "drops") - drops0;
	tl("writer", "B's pages released: B's map %s (modified, not yet logged)",
	   drops_kept ? "DROPPED" : "kept");
	if (fstat(fd, &st))
		die("fstat");

	if (!no_hook) {
		parked0 = read_u64(DBG "parked");
		write_u64(DBG "park_offset", EXT + 4096);
		write_u64(DBG "park_ino", st.st_ino);
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		_exit(reader(path));

	if (!no_hook) {
		/* The reader holds B's map once it has parked. */
		for (waited = 0; waited < 10000; waited++) {
			parked = read_u64(DBG "parked") - parked0;
			if (parked)
				break;
			usleep(1000);
		}
		refused0 = read_u64(EXTMAP "merges_refused");
		tl("reader", "reads B: %s", parked ? "parked in the read path, holding B's map" :
		   "NEVER PARKED");
	}
	if (fsync(fd))
		die("fsync");
	if (!no_hook) {
		refused1 = read_u64(EXTMAP "merges_refused");
		tl("writer", "fsync: A and B logged (LOGGING set), the commit written");
		if (refused1 > refused0)
			tl("writer", "clear_logging(B): merge with A refused, B's refcount %llu "
			   "(tree, fsync, reader)", read_u64(EXTMAP "last_refused_refs"));
		else
			tl("writer", "clear_logging(B): NO MERGE REFUSED");
		tl("writer", "lets the reader go");
		write_u64(DBG "release", read_u64(DBG "release") + 1);
	}
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");

	if (!no_hook)
		merges1 = read_u64(EXTMAP "merges");
	write_back(fd, 2 * EXT);
	if (fsync(fd))
		die("fsync");
	if (!no_hook)
		merges2 = read_u64(EXTMAP "merges");
	tl("writer", "C [128K, 192K) written, fsync: B merged with its neighbours (merges: %llu)",
	   merges2 - merges1);
	/* Logged and committed now: releasing the pages drops the maps. */
	if (!no_hook)
		drops1 = read_u64(EXTMAP "drops");
	if (posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED))
		die("fadvise");
	if (!no_hook)
		drops2 = read_u64(EXTMAP "drops");
	tl("writer", "all pages released: the logged, committed maps dropped (%llu)",
	   drops2 - drops1);
	close(fd);

	printf("drops_on_release_before_fsync=%llu\n", drops_kept);
	printf("drops_on_release_after_fsync=%llu\n", drops2 - drops1);
	printf("parked=%llu\n", parked);
	printf("refused_during_fsync=%llu\n", refused1 - refused0);
	printf("reader_ok=%d\n", WIFEXITED(status) && WEXITSTATUS(status) == 0);
	printf("merges_after_release=%llu\n", merges2 - merges1);
	return 0;
}
