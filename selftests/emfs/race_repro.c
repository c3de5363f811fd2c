// SPDX-License-Identifier: GPL-2.0
/*
 * The 2020 btrfs extent-map race, played through the file system:
 *
 *  1. extent A = [0, 64K) is written back, its map unpinned, and committed
 *     (syncfs): the 2020 report's extent A, persisted by an earlier
 *     transaction;
 *  2. extent B = [64K, 128K), right after A on disk, is written back and its
 *     map unpinned, still on the modified list;
 *  3. B's pages are released (fadvise DONTNEED): B's map stays, it is
 *     modified and fsync needs it;
 *  4. a reader reads B: it looks up B's map, holds it and (through the
 *     debugfs hook) stays parked there;
 *  5. fsync logs B and then clears its LOGGING flag, which tries to merge B
 *     into A: with the reader holding B, the merge must be refused;
 *  6. the reader is let go and must have read B's data;
 *  7. C = [128K, 192K), right after B on disk, is written and fsynced: now
 *     B may merge (with C);
 *  8. the file's pages are released: its maps, logged and committed, go.
 *
 *   race_repro [-t] [-n|-b|-B] FILE
 *
 * -t: also print the sequence as a timeline of what each side did, with the
 * kernel's view of it (the reference count that refused the merge), for
 * `make run`.
 * -n: no hook and no counters (another file system): the same operations in
 * the same order, with the reader racing freely.
 * -b: on btrfs, with its test-only hooks (patches/0003, debugfs btrfs_race/):
 * the reader parks in btrfs_do_readpage() holding B's map, fsync's merge is
 * refused by the 2020 fix's "refs > 2" test; the same checks as on emfs.
 * -B: on btrfs with that test skipped (the fix reverted): fsync merges A into
 * B under the reader, pauses between the store of B's new start and of its
 * new length, and the reader is let go. The kernel must then report the BUG
 * in btrfs_do_readpage() (with oops=panic the boot ends there); if it does
 * not within 10 s, prints "no_bug=1" and fails.
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
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXT (64 * 1024)
#define DBG "/sys/kernel/debug/emfs/"
#define EXTMAP "/sys/kernel/debug/extmap/"
#define BTRFS_RACE "/sys/kernel/debug/btrfs_race/"

/* Which file system's hooks the sequence drives. */
static enum { EMFS, NO_HOOK, BTRFS, BTRFS_REVERTED } mode = EMFS;
static int timeline;
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

static void write_str(const char *path, const char *v)
{
	FILE *f = fopen(path, "w");

	if (!f || fprintf(f, "%s\n", v) < 0 || fclose(f))
		die(path);
}

static void write_u64(const char *path, unsigned long long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", v);
	write_str(path, buf);
}

static int on_btrfs(void)
{
	return mode == BTRFS || mode == BTRFS_REVERTED;
}

/* The counters of the two implementations: merges, and merges refused. */
static unsigned long long merges(void)
{
	return read_u64(on_btrfs() ? BTRFS_RACE "merges" : EXTMAP "merges");
}

static unsigned long long refused(void)
{
	return read_u64(on_btrfs() ? BTRFS_RACE "refused" : EXTMAP "merges_refused");
}

/*
 * The disk byte behind file byte @off, once every write before it is on disk
 * and recorded (FIEMAP_FLAG_SYNC: btrfs waits for its ordered extents, so the
 * map is unpinned, as emfs's is after sync_file_range).
 */
static unsigned long long disk_byte(int fd, off_t off)
{
	struct {
		struct fiemap fm;
		struct fiemap_extent fe[1];
	} f;

	memset(&f, 0, sizeof(f));
	f.fm.fm_start = off;
	f.fm.fm_length = 1;
	f.fm.fm_flags = FIEMAP_FLAG_SYNC;
	f.fm.fm_extent_count = 1;
	if (ioctl(fd, FS_IOC_FIEMAP, &f.fm) || f.fm.fm_mapped_extents != 1)
		die("fiemap");
	return f.fe[0].fe_physical + (off - f.fe[0].fe_logical);
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

/*
 * -B: fsync in a child (its merge spins with the tree locked until released);
 * once the merge is paused between its stores, the reader is let go. Returns
 * only if the kernel did not stop.
 */
static int reverted(int fd, pid_t reader_pid)
{
	unsigned long long paused = 0;
	pid_t syncer;
	int waited;

	fflush(stdout);
	syncer = fork();
	if (syncer < 0)
		die("fork");
	if (syncer == 0)
		_exit(fsync(fd) ? 1 : 0);
	for (waited = 0; waited < 10000 && !paused; waited++) {
		paused = read_u64(BTRFS_RACE "merge_paused");
		usleep(1000);
	}
	printf("merge_paused=%llu\n", paused);
	tl("writer", "fsync: clear_em_logging(B) merges A into B, the reader holding B: %s",
	   paused ? "paused after B's start became A's, before B's length grew" :
	   "NEVER PAUSED");
	tl("writer", "lets the reader go: it computes B's end from the torn map");
	fflush(stdout);
	write_str(BTRFS_RACE "control", "release-reader");
	sleep(10);
	printf("no_bug=1\n");
	write_str(BTRFS_RACE "control", "disarm");
	waitpid(reader_pid, NULL, 0);
	waitpid(syncer, NULL, 0);
	return 1;
}

int main(int argc, char **argv)
{
	unsigned long long refused0 = 0, refused1 = 0, merges1 = 0, merges2 = 0;
	unsigned long long parked0 = 0, parked = 0, drops0 = 0, drops1 = 0, drops2 = 0;
	unsigned long long drops_kept = 0;
	const char *path;
	struct stat st;
	int fd, status, waited, opt;
	pid_t pid;

	while ((opt = getopt(argc, argv, "tnbB")) != -1) {
		switch (opt) {
		case 't':
			timeline = 1;
			break;
		case 'n':
			mode = NO_HOOK;
			break;
		case 'b':
			mode = BTRFS;
			break;
		case 'B':
			mode = BTRFS_REVERTED;
			break;
		default:
			return 2;
		}
	}
	if (optind != argc - 1)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	path = argv[optind];

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("open");
	/* A new file's first fsync logs it whole; the next ones log its changes. */
	if (fsync(fd))
		die("fsync");
	write_back(fd, 0);
	/* A is on disk by a transaction of its own, as in the 2020 report. */
	if (syncfs(fd))
		die("syncfs");
	tl("writer", "A [0, 64K) written back and committed; its map unpinned");
	write_back(fd, EXT);
	if (on_btrfs()) {
		/* The merge needs B right after A on disk. */
		printf("contiguous=%d\n", disk_byte(fd, EXT) == disk_byte(fd, 0) + EXT);
	}
	tl("writer", "B [64K, 128K) written back, right after A on disk");
	if (mode == EMFS)
		drops0 = read_u64(EXTMAP "drops");
	/* B's map is modified and newer than the last commit: release keeps it. */
	if (posix_fadvise(fd, EXT, EXT, POSIX_FADV_DONTNEED))
		die("fadvise");
	if (mode == EMFS)
		drops_kept = read_u64(EXTMAP "drops") - drops0;
	tl("writer", "B's pages released: B's map %s (modified, not yet logged)",
	   drops_kept ? "DROPPED" : "kept");
	if (fstat(fd, &st))
		die("fstat");

	if (mode == EMFS) {
		parked0 = read_u64(DBG "parked");
		write_u64(DBG "park_offset", EXT + 4096);
		write_u64(DBG "park_ino", st.st_ino);
	} else if (on_btrfs()) {
		write_u64(BTRFS_RACE "offset", EXT);
		write_u64(BTRFS_RACE "ino", st.st_ino);
		write_u64(BTRFS_RACE "fix", mode == BTRFS);
		write_str(BTRFS_RACE "control", "arm");
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		_exit(reader(path));

	if (mode != NO_HOOK) {
		/* The reader holds B's map once it has parked. */
		for (waited = 0; waited < 10000; waited++) {
			parked = on_btrfs() ? read_u64(BTRFS_RACE "reader_parked") :
					      read_u64(DBG "parked") - parked0;
			if (parked)
				break;
			usleep(1000);
		}
		refused0 = refused();
		tl("reader", "reads B: %s", parked ? "parked in the read path, holding B's map" :
		   "NEVER PARKED");
	}
	if (mode == BTRFS_REVERTED) {
		printf("parked=%llu\n", parked);
		return reverted(fd, pid);
	}
	if (fsync(fd))
		die("fsync");
	if (mode != NO_HOOK) {
		refused1 = refused();
		tl("writer", "fsync: B logged (LOGGING set; A, committed before, is not), "
		   "the commit written");
		if (refused1 > refused0 && mode == EMFS)
			tl("writer", "clear_logging(B): merge with A refused, B's refcount %llu "
			   "(tree, fsync, reader)", read_u64(EXTMAP "last_refused_refs"));
		else if (refused1 > refused0)
			tl("writer", "clear_em_logging(B): merge with A refused: refs > 2");
		else
			tl("writer", "clear_logging(B): NO MERGE REFUSED");
		tl("writer", "lets the reader go");
		if (mode == EMFS)
			write_u64(DBG "release", read_u64(DBG "release") + 1);
		else
			write_str(BTRFS_RACE "control", "release-reader");
	}
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");

	if (mode != NO_HOOK)
		merges1 = merges();
	write_back(fd, 2 * EXT);
	if (fsync(fd))
		die("fsync");
	if (mode != NO_HOOK)
		merges2 = merges();
	tl("writer", "C [128K, 192K) written, fsync: B merged with its neighbours (merges: %llu)",
	   merges2 - merges1);
	if (on_btrfs())
		write_str(BTRFS_RACE "control", "disarm");
	/* Logged and committed now: releasing the pages drops the maps. */
	if (mode == EMFS)
		drops1 = read_u64(EXTMAP "drops");
	if (posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED))
		die("fadvise");
	if (mode == EMFS)
		drops2 = read_u64(EXTMAP "drops");
	if (mode == EMFS)
		tl("writer", "all pages released: the logged, committed maps dropped (%llu)",
		   drops2 - drops1);
	close(fd);

	if (mode == EMFS) {
		printf("drops_on_release_before_fsync=%llu\n", drops_kept);
		printf("drops_on_release_after_fsync=%llu\n", drops2 - drops1);
	}
	printf("parked=%llu\n", parked);
	printf("refused_during_fsync=%llu\n", refused1 - refused0);
	printf("reader_ok=%d\n", WIFEXITED(status) && WEXITSTATUS(status) == 0);
	printf("merges_after_release=%llu\n", merges2 - merges1);
	return 0;
}
