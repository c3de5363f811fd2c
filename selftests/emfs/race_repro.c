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
 *   race_repro [-n] FILE
 *
 * -n: no hook and no counters (another file system, e.g. btrfs): the same
 * operations in the same order, with the reader racing freely.
 *
 * Prints "key=value" lines for the calling test to check, and the file ends
 * up as A, B, C: a deterministic pattern the test can compare.
 */
#define _GNU_SOURCE
#include <errno.h>
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

static int no_hook;

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
	return memcmp(got, want, EXT) ? 1 : 0;
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
	else if (argc != 2)
		return 2;
	path = argv[argc - 1];

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("open");
	if (fsync(fd))
		die("fsync");
	write_back(fd, 0);
	write_back(fd, EXT);
	if (!no_hook)
		drops0 = read_u64(EXTMAP "drops");
	/* B's map is modified and newer than the last commit: release keeps it. */
	if (posix_fadvise(fd, EXT, EXT, POSIX_FADV_DONTNEED))
		die("fadvise");
	if (!no_hook)
		drops_kept = read_u64(EXTMAP "drops") - drops0;
	if (fstat(fd, &st))
		die("fstat");

	if (!no_hook) {
		parked0 = read_u64(DBG "parked");
		write_u64(DBG "park_offset", EXT + 4096);
		write_u64(DBG "park_ino", st.st_ino);
	}
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
	}
	if (fsync(fd))
		die("fsync");
	if (!no_hook) {
		refused1 = read_u64(EXTMAP "merges_refused");
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
	/* Logged and committed now: releasing the pages drops the maps. */
	if (!no_hook)
		drops1 = read_u64(EXTMAP "drops");
	if (posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED))
		die("fadvise");
	if (!no_hook)
		drops2 = read_u64(EXTMAP "drops");
	close(fd);

	printf("drops_on_release_before_fsync=%llu\n", drops_kept);
	printf("drops_on_release_after_fsync=%llu\n", drops2 - drops1);
	printf("parked=%llu\n", parked);
	printf("refused_during_fsync=%llu\n", refused1 - refused0);
	printf("reader_ok=%d\n", WIFEXITED(status) && WEXITSTATUS(status) == 0);
	printf("merges_after_release=%llu\n", merges2 - merges1);
	return 0;
}
