// SPDX-License-Identifier: GPL-2.0
/*
 * Directory-tree workloads for emfs's format version 2, run the same way on emfs and on btrfs
 * by tree.sh:
 *
 *   tree_ops work DIR           a fixed workload: nested mkdir/rmdir, renames across
 *                               directories (NOREPLACE, EXCHANGE, WHITEOUT), hard links,
 *                               symlinks short and long, a FIFO and device nodes, chmod,
 *                               chown, utimensat, a 255-byte name, a directory of 4000
 *                               entries, a third removed
 *   tree_ops manifest DIR       one line per entry under DIR, sorted by path: type, mode,
 *                               owner; for non-directories the link count, size, device
 *                               number, symlink target and an FNV-1a hash of the contents;
 *                               times set before 2020 (the workload's utimensat). Directories'
 *                               link counts and sizes differ by design between emfs and btrfs
 *                               and are left out
 *   tree_ops fullmanifest DIR   the same with directories' link counts and sizes
 *   tree_ops dirs DIR           checks emfs's own rules: every directory has 2 links plus one
 *                               per subdirectory, and its size is the sum of its names'
 *                               lengths; prints those that do not
 *   tree_ops errors DIR         the bad-input table of Documentation/filesystems/emfs.rst:
 *                               one line per case, "name errno"
 *   tree_ops emlink DIR         links one file until link(2) fails; prints the count and errno
 *   tree_ops fill DIR           fills the file system: prints what full-disk operations gave
 *   tree_ops stress DIR SECONDS PROCS SEED
 *                               PROCS processes, each in its own subtree, random creates,
 *                               writes, truncates, fsyncs (files and directories), renames,
 *                               links, symlinks, mkdirs, rmdirs and unlinks; an errno outside
 *                               what the random choice allows is a failure (exit 1)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE (1 << 1)
#define RENAME_WHITEOUT (1 << 2)
#endif

static const char *dir;

static void die(const char *what)
{
	fprintf(stderr, "tree_ops: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* A path under DIR. */
static const char *at(const char *rel)
{
	static char buf[8][4352];
	static int n;
	char *p = buf[n++ % 8];

	snprintf(p, sizeof(buf[0]), "%s/%s", dir, rel);
	return p;
}

static void must(int r, const char *what)
{
	if (r < 0)
		die(what);
}

static void put(const char *rel, size_t size, unsigned int seed)
{
	int fd = open(at(rel), O_CREAT | O_WRONLY | O_TRUNC, 0644);
	char buf[4096];
	size_t done = 0;

	if (fd < 0)
		die(rel);
	while (done < size) {
		size_t n = size - done < sizeof(buf) ? size - done : sizeof(buf);

		for (size_t i = 0; i < n; i++)
			buf[i] = (char)(seed * 31 + (done + i) * 7 + (done + i) / 4096);
		if (write(fd, buf, n) != (ssize_t)n)
			die(rel);
		done += n;
	}
	must(close(fd), rel);
}

/* Whether file rel holds what put(rel, size, seed) wrote. */
static int same(const char *rel, size_t size, unsigned int seed)
{
	unsigned char buf[4096];
	size_t done = 0;
	ssize_t n;
	int fd = open(at(rel), O_RDONLY), ok = 1;

	if (fd < 0)
		return 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++, done++)
			ok &= buf[i] == (unsigned char)(seed * 31 + done * 7 + done / 4096);
	}
	close(fd);
	return ok && n == 0 && done == size;
}

static int rename2(const char *a, const char *b, unsigned int flags)
{
	return renameat2(AT_FDCWD, at(a), AT_FDCWD, at(b), flags);
}

static void many(const char *d, int count, int step)
{
	char name[64];

	for (int i = 0; i < count; i += step) {
		snprintf(name, sizeof(name), "%s/entry-%05d", d, i);
		if (step == 1) {
			int fd = open(at(name), O_CREAT | O_WRONLY | O_EXCL, 0600);

			if (fd < 0)
				die(name);
			close(fd);
		} else {
			must(unlink(at(name)), name);
		}
	}
}

static int work(void)
{
	char longtarget[301], longname[256], longpath[300];
	struct timespec t[2] = { { 1000000000, 123456789 }, { 1100000000, 987654321 } };

	memset(longtarget, 'y', sizeof(longtarget) - 1);
	longtarget[sizeof(longtarget) - 1] = 0;
	must(mkdir(at("a"), 0755), "mkdir a");
	must(mkdir(at("a/b"), 0750), "mkdir a/b");
	must(mkdir(at("a/b/c"), 0700), "mkdir a/b/c");
	must(mkdir(at("a/b/c/d"), 0755), "mkdir a/b/c/d");
	must(mkdir(at("x"), 0755), "mkdir x");
	must(mkdir(at("y"), 0755), "mkdir y");
	put("a/b/c/d/leaf", 5, 1);
	put("a/file", 70000, 2);
	put("x/small", 1, 3);
	put("y/other", 9000, 4);
	must(link(at("a/file"), at("x/hard1")), "link hard1");
	must(link(at("a/file"), at("y/hard2")), "link hard2");
	must(symlink("../a/file", at("x/short")), "symlink short");
	must(symlink(longtarget, at("y/long")), "symlink long");
	must(mkfifo(at("x/fifo"), 0640), "mkfifo");
	must(mknod(at("x/null"), S_IFCHR | 0666, makedev(1, 3)), "mknod");
	must(mknod(at("x/disk"), S_IFBLK | 0600, makedev(259, 70000)), "mknod blk");
	/* A directory moves across directories, with its subtree. */
	must(rename(at("a/b/c"), at("x/moved")), "rename dir");
	/* A file moves over another, which loses that name. */
	must(rename(at("x/hard1"), at("y/other")), "rename over");
	must(rename2("x/small", "y/small", RENAME_NOREPLACE), "noreplace");
	/* A directory and a file trade places. */
	must(rename2("x/moved/d", "y/small", RENAME_EXCHANGE), "exchange");
	/* The old name is left as a whiteout. */
	must(rename2("y/hard2", "a/whited", RENAME_WHITEOUT), "whiteout");
	must(unlink(at("x/moved/d")), "unlink");
	must(mkdir(at("a/b/empty"), 0755), "mkdir empty");
	must(rmdir(at("a/b/empty")), "rmdir");
	/* d went to y/small: its leaf and itself go. */
	must(unlink(at("y/small/leaf")), "unlink leaf");
	must(rmdir(at("y/small")), "rmdir small");
	must(chmod(at("a/file"), 04711), "chmod");
	must(chown(at("y/other"), 12, 34), "chown");
	must(lchown(at("x/short"), 56, 78), "lchown");
	must(utimensat(AT_FDCWD, at("a/file"), t, 0), "utimensat");
	must(utimensat(AT_FDCWD, at("x/short"), t, AT_SYMLINK_NOFOLLOW), "utimensat link");
	must(truncate(at("a/file"), 50000), "truncate");
	must(utimensat(AT_FDCWD, at("a/file"), t, 0), "utimensat again");
	/* The longest name, 255 bytes. */
	memset(longname, 'N', 255);
	longname[255] = 0;
	snprintf(longpath, sizeof(longpath), "x/%s", longname);
	put(longpath, 100, 7);
	must(mkdir(at("big"), 0755), "mkdir big");
	many("big", 4000, 1);
	many("big", 4000, 3);
	return 0;
}

static uint64_t fnv(const char *path)
{
	uint64_t h = 0xcbf29ce484222325ull;
	unsigned char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		die(path);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			h = (h ^ buf[i]) * 0x100000001b3ull;
	if (n < 0)
		die(path);
	close(fd);
	return h;
}

static char **paths;
static size_t npaths, cap;

static int collect(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	if (f->level == 0)
		return 0;
	if (npaths == cap) {
		cap = cap ? cap * 2 : 1024;
		paths = realloc(paths, cap * sizeof(*paths));
		if (!paths)
			die("realloc");
	}
	paths[npaths++] = strdup(path);
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int manifest(int dirs)
{
	size_t skip = strlen(dir) + 1;

	if (nftw(dir, collect, 32, FTW_PHYS) < 0)
		die("nftw");
	qsort(paths, npaths, sizeof(*paths), cmp);
	for (size_t i = 0; i < npaths; i++) {
		const char *p = paths[i];
		struct stat st;

		must(lstat(p, &st), p);
		printf("%s %o %u:%u", p + skip, st.st_mode, st.st_uid, st.st_gid);
		if (!S_ISDIR(st.st_mode) || dirs)
			printf(" links %lu size %lld", (unsigned long)st.st_nlink,
			       (long long)st.st_size);
		if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
			printf(" dev %u:%u", major(st.st_rdev), minor(st.st_rdev));
		if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t n = readlink(p, target, sizeof(target) - 1);

			if (n < 0)
				die(p);
			target[n] = 0;
			printf(" -> %s", target);
		}
		if (S_ISREG(st.st_mode))
			printf(" fnv %016llx", (unsigned long long)fnv(p));
		if (st.st_mtim.tv_sec < 1577836800)
			printf(" mtime %lld.%09ld", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
		printf("\n");
	}
	return 0;
}

static int bad_dirs;

static int check_dir(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	nlink_t subdirs = 0;
	off_t names = 0;
	struct dirent *e;
	DIR *d;

	(void)f;
	if (flag != FTW_D)
		return 0;
	d = opendir(path);
	if (!d)
		die(path);
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		names += strlen(e->d_name);
		subdirs += e->d_type == DT_DIR;
	}
	closedir(d);
	if (st->st_nlink != 2 + subdirs || st->st_size != names) {
		printf("%s: %lu links, %lu subdirectories; size %lld, names %lld bytes\n", path,
		       (unsigned long)st->st_nlink, (unsigned long)subdirs,
		       (long long)st->st_size, (long long)names);
		bad_dirs++;
	}
	return 0;
}

static const char *errname(int e)
{
	switch (e) {
	case 0: return "ok";
	case ENOENT: return "ENOENT";
	case EEXIST: return "EEXIST";
	case EPERM: return "EPERM";
	case EINVAL: return "EINVAL";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case ENOTEMPTY: return "ENOTEMPTY";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case EMLINK: return "EMLINK";
	case ENOSPC: return "ENOSPC";
	case EXDEV: return "EXDEV";
	default: return strerror(e);
	}
}

static void report(const char *name, int r)
{
	printf("%s %s\n", name, errname(r < 0 ? errno : 0));
}

static int errors(void)
{
	char longname[300], longpath[320], target[4200];
	int fd;

	memset(longname, 'n', 256);
	longname[256] = 0;
	snprintf(longpath, sizeof(longpath), "e/%s", longname);
	memset(target, 't', 4096);
	target[4096] = 0;
	must(mkdir(at("e"), 0755), "mkdir e");
	must(mkdir(at("e/full"), 0755), "mkdir e/full");
	must(mkdir(at("e/full/sub"), 0755), "mkdir e/full/sub");
	must(mkdir(at("e/empty"), 0755), "mkdir e/empty");
	put("e/file", 10, 9);
	put("e/full/inner", 10, 10);

	report("mkdir_name_256", mkdir(at(longpath), 0755));
	fd = open(at(longpath), O_CREAT | O_WRONLY, 0644);
	report("create_name_256", fd);
	if (fd >= 0)
		close(fd);
	report("lookup_name_256", access(at(longpath), F_OK));
	report("symlink_target_4096", symlink(target, at("e/sym")));
	report("mkdir_in_missing_dir", mkdir(at("e/missing/name"), 0755));
	report("create_through_file", open(at("e/file/name"), O_CREAT | O_WRONLY, 0644));
	report("link_dir", link(at("e/empty"), at("e/dirlink")));
	report("rmdir_not_empty", rmdir(at("e/full")));
	report("rmdir_file", rmdir(at("e/file")));
	report("rmdir_dot", rmdir(at("e/empty/.")));
	report("unlink_dir", unlink(at("e/empty")));
	report("mkdir_existing", mkdir(at("e/full"), 0755));
	report("rename_into_own_subtree", rename(at("e/full"), at("e/full/sub/inside")));
	report("rename_over_ancestor", rename(at("e/full/sub"), at("e")));
	report("rename_over_nonempty_dir", rename(at("e/empty"), at("e/full")));
	report("rename_dir_over_file", rename(at("e/empty"), at("e/file")));
	report("rename_file_over_dir", rename(at("e/file"), at("e/empty")));
	report("noreplace_existing", rename2("e/file", "e/full/inner", RENAME_NOREPLACE));
	report("exchange_missing", rename2("e/file", "e/nothing", RENAME_EXCHANGE));
	report("rename_missing", rename(at("e/nothing"), at("e/other")));
	report("rename_unknown_flag", rename2("e/file", "e/newname", 1 << 5));
	report("noreplace_and_exchange",
	       rename2("e/file", "e/full/inner", RENAME_NOREPLACE | RENAME_EXCHANGE));
	return 0;
}

static int emlink(void)
{
	char name[64];
	int n;

	must(mkdir(at("l"), 0755), "mkdir l");
	put("l/target", 1, 1);
	for (n = 1;; n++) {
		snprintf(name, sizeof(name), "l/%06d", n);
		if (link(at("l/target"), at(name)) < 0)
			break;
	}
	printf("links %d %s\n", n, errname(errno));
	for (int i = 1; i < n; i++) {
		snprintf(name, sizeof(name), "l/%06d", i);
		must(unlink(at(name)), name);
	}
	return 0;
}

static int fill(void)
{
	static char buf[1 << 16];
	char name[64];
	int fd, n, made = 0;
	ssize_t w;

	memset(buf, 0x5a, sizeof(buf));
	must(mkdir(at("f"), 0755), "mkdir f");
	must(mkdir(at("f/sub"), 0755), "mkdir f/sub");
	put("f/keep", 5000, 5);
	put("f/early", 1, 6);
	fd = open(at("f/big"), O_CREAT | O_WRONLY, 0644);
	if (fd < 0)
		die("f/big");
	while ((w = write(fd, buf, sizeof(buf))) > 0)
		;
	printf("write_full %s\n", errname(w < 0 ? errno : 0));
	/* What was written is kept: fsync has room for the commit. */
	report("fsync_full", fsync(fd));
	close(fd);
	/* Names go until the metadata reserve says no. */
	for (n = 0; n < 100000; n++) {
		snprintf(name, sizeof(name), "f/name-%06d", n);
		fd = open(at(name), O_CREAT | O_WRONLY | O_EXCL, 0644);
		if (fd < 0)
			break;
		close(fd);
		made++;
	}
	printf("create_full %s\n", errname(errno));
	printf("names_made %d\n", made);
	snprintf(name, sizeof(name), "f/name-%06d", n);
	report("refused_name_absent", access(at(name), F_OK) == 0 ? 0 : -1);
	report("mkdir_full", mkdir(at("f/newdir"), 0755));
	report("symlink_full", symlink("somewhere", at("f/newlink")));
	/* Moving and removing names stay possible. */
	report("rename_full", rename(at("f/keep"), at("f/sub/kept")));
	report("rename_back_full", rename(at("f/sub/kept"), at("f/keep")));
	report("rmdir_full", rmdir(at("f/sub")));
	report("unlink_full", unlink(at("f/early")));
	report("truncate_full", truncate(at("f/big"), 0));
	fd = open(dir, O_RDONLY);
	report("syncfs_full", syncfs(fd));
	close(fd);
	/* With the space back, names can be made again. */
	report("mkdir_after_free", mkdir(at("f/newdir"), 0755));
	/* The file moved on the full disk kept its bytes. */
	printf("keep_intact %s\n", same("f/keep", 5000, 5) ? "ok" : "changed");
	return 0;
}

/* The stress workload: one process's subtree. */
static unsigned long long rng;

static unsigned int rnd(unsigned int n)
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned int)(rng >> 33) % n;
}

static int stress_one(const char *root, int seconds, unsigned long long seed)
{
	time_t end = time(NULL) + seconds;
	static char buf[1 << 17];
	char a[4400], b[4400];
	unsigned long ops = 0, failed = 0;

	rng = seed;
	memset(buf, (int)seed, sizeof(buf));
	while (time(NULL) < end) {
		int op = rnd(12), fd, r = 0;
		/* Two names of the subtree: 3 directories deep at most, 8 names each level. */
		snprintf(a, sizeof(a), "%s/d%u/d%u/n%u", root, rnd(3), rnd(3), rnd(8));
		snprintf(b, sizeof(b), "%s/d%u/n%u", root, rnd(3), rnd(8));
		if (rnd(2))
			snprintf(a, sizeof(a), "%s/d%u/n%u", root, rnd(3), rnd(8));
		/* What a random name may rightly give. */
		int ok[9] = { ENOENT, EEXIST, ENOTDIR, EISDIR, ENOTEMPTY, EINVAL, ELOOP, 0, 0 };

		switch (op) {
		case 0:
			fd = open(a, O_CREAT | O_WRONLY | O_TRUNC, 0644);
			if (fd >= 0) {
				r = write(fd, buf, rnd(sizeof(buf))) < 0 ? -1 : 0;
				close(fd);
			} else {
				r = -1;
			}
			break;
		case 1:
			fd = open(a, O_WRONLY);
			if (fd >= 0) {
				r = pwrite(fd, buf, rnd(20000), rnd(300000)) < 0 ? -1 : 0;
				if (!r && rnd(2))
					r = fsync(fd);
				close(fd);
			} else {
				r = -1;
			}
			break;
		case 2:
			r = truncate(a, rnd(200000));
			break;
		case 3:
			fd = open(a, O_RDONLY | O_DIRECTORY);
			if (fd < 0)
				fd = open(a, O_RDONLY);
			if (fd >= 0) {
				r = fsync(fd);
				close(fd);
			} else {
				r = -1;
			}
			break;
		case 4:
		case 5:
			r = rename(a, b);
			break;
		case 6:
			r = unlink(a);
			break;
		case 7:
			r = mkdir(a, 0755);
			break;
		case 8:
			r = rmdir(b);
			break;
		case 9:
			r = link(a, b);
			ok[8] = EPERM; /* a directory */
			break;
		case 10:
			r = symlink(a, b);
			break;
		case 11:
			snprintf(a, sizeof(a), "%s/d%u", root, rnd(3));
			r = mkdir(a, 0755);
			break;
		}
		ops++;
		if (r < 0) {
			int e = errno, allowed = 0;

			for (int i = 0; i < 9; i++)
				allowed |= ok[i] == e && e;
			if (!allowed) {
				if (failed++ < 5)
					fprintf(stderr, "%s: op %d: %s\n", a, op, strerror(e));
			}
		}
	}
	printf("%s: %lu ops, %lu unexpected errors\n", root, ops, failed);
	return failed ? 1 : 0;
}

static int stress(int seconds, int procs, unsigned long long seed)
{
	int bad = 0;

	for (int i = 0; i < procs; i++) {
		char root[4352];

		snprintf(root, sizeof(root), "%s/s%d", dir, i);
		must(mkdir(root, 0755), root);
		fflush(stdout);
		if (fork() == 0)
			exit(stress_one(root, seconds, seed * 1000 + i));
	}
	for (int i = 0; i < procs; i++) {
		int status;

		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			bad++;
	}
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: tree_ops work|manifest|fullmanifest|dirs|errors|emlink|fill DIR\n"
				"       tree_ops stress DIR SECONDS PROCS SEED\n");
		return 2;
	}
	dir = argv[2];
	if (!strcmp(argv[1], "work"))
		return work();
	if (!strcmp(argv[1], "manifest"))
		return manifest(0);
	if (!strcmp(argv[1], "fullmanifest"))
		return manifest(1);
	if (!strcmp(argv[1], "dirs")) {
		if (nftw(dir, check_dir, 32, FTW_PHYS) < 0)
			die("nftw");
		return bad_dirs ? 1 : 0;
	}
	if (!strcmp(argv[1], "errors"))
		return errors();
	if (!strcmp(argv[1], "emlink"))
		return emlink();
	if (!strcmp(argv[1], "fill"))
		return fill();
	if (!strcmp(argv[1], "stress") && argc == 6)
		return stress(atoi(argv[3]), atoi(argv[4]), strtoull(argv[5], NULL, 0));
	fprintf(stderr, "tree_ops: unknown command %s\n", argv[1]);
	return 2;
}
