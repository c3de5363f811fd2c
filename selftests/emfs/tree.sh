#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# emfs's directory tree (format version 2) next to btrfs in the same boot:
#  - a fixed workload (tree_ops work: nested mkdir/rmdir, renames across
#    directories with NOREPLACE, EXCHANGE and WHITEOUT, hard links, symlinks
#    short and long, a FIFO, device nodes, chmod/chown/utimensat, a directory
#    of 4000 entries with a third removed) on both, then both trees compared
#    entry by entry (tree_ops manifest), fsck clean, the same after a remount;
#  - the bad-input table of Documentation/filesystems/emfs.rst: each errno
#    the documented one and btrfs's, and nothing made by a refused operation;
#  - emfs's own rules where btrfs differs by design: directory link counts,
#    the 65000-link limit, a full disk (new names refused, renames and
#    removals still possible, nothing lost);
#  - several processes, each in its own subtree, random operations for a
#    bounded time, then fsck clean.

. "$(dirname "$0")/lib.sh"

emfs_dev=/dev/vdb
btrfs_dev=/dev/vda
here=$(dirname "$0")
ops=$here/tree_ops
seconds=${STRESS_SECONDS:-20}

ktap_print_header
ktap_set_plan 14

mkdir -p /mnt/emfs /mnt/btrfs
modprobe emfs || ktap_exit_fail_msg "modprobe emfs failed"
modprobe btrfs || ktap_exit_fail_msg "modprobe btrfs failed"
log_mark

fresh() {
	umount /mnt/emfs /mnt/btrfs 2>/dev/null
	mkfs.emfs "$@" $emfs_dev >/dev/null && mount -t emfs $emfs_dev /mnt/emfs &&
		mkfs.btrfs -q -f $btrfs_dev >/dev/null 2>&1 && mount -t btrfs $btrfs_dev /mnt/btrfs
}
remount_emfs() {
	umount /mnt/emfs && fsck_clean $emfs_dev && mount -t emfs $emfs_dev /mnt/emfs
}
# emfs's own rules for every directory (links, size), then a remount that must
# change nothing stat(2) shows, directories' links and sizes included.
dirs_kept() {
	"$ops" dirs /mnt/emfs | head -n 5 | sed 's/^/# /'
	"$ops" dirs /mnt/emfs >/dev/null || return 1
	"$ops" fullmanifest /mnt/emfs >/tmp/full-before || return 1
	remount_emfs || return 1
	"$ops" fullmanifest /mnt/emfs >/tmp/full-after || return 1
	diff /tmp/full-before /tmp/full-after | head -n 10 | sed 's/^/# /'
	cmp -s /tmp/full-before /tmp/full-after
}
# The two trees' manifests; differences as TAP comments.
same_trees() {
	"$ops" manifest /mnt/emfs >/tmp/tree-emfs || return 1
	"$ops" manifest /mnt/btrfs >/tmp/tree-btrfs || return 1
	ktap_print_msg "$(wc -l </tmp/tree-emfs) entries"
	diff /tmp/tree-btrfs /tmp/tree-emfs | head -n 20 | sed 's/^/# /'
	cmp -s /tmp/tree-btrfs /tmp/tree-emfs
}

fresh || ktap_exit_fail_msg "cannot make and mount both file systems"
both_work() { "$ops" work /mnt/emfs && "$ops" work /mnt/btrfs; }
ktap_test_result "tree: the workload runs on emfs and on btrfs" both_work
ktap_test_result "tree: emfs's tree is btrfs's (names, types, modes, owners, links, sizes, contents, targets)" \
	same_trees
ktap_test_result "tree: directories: 2 links and one per subdirectory, size the names' lengths; kept by a remount" \
	dirs_kept
ktap_test_result "tree: fsck clean, and the same tree after a remount" \
	eval 'remount_emfs && same_trees'

# Bad input: the documented errno, btrfs's, and nothing made.
expected_errors="mkdir_name_256 ENAMETOOLONG
create_name_256 ENAMETOOLONG
lookup_name_256 ENAMETOOLONG
symlink_target_4096 ENAMETOOLONG
mkdir_in_missing_dir ENOENT
create_through_file ENOTDIR
link_dir EPERM
rmdir_not_empty ENOTEMPTY
rmdir_file ENOTDIR
rmdir_dot EINVAL
unlink_dir EISDIR
mkdir_existing EEXIST
rename_into_own_subtree EINVAL
rename_over_ancestor ENOTEMPTY
rename_over_nonempty_dir ENOTEMPTY
rename_dir_over_file ENOTDIR
rename_file_over_dir EISDIR
noreplace_existing EEXIST
exchange_missing ENOENT
rename_missing ENOENT
rename_unknown_flag EINVAL
noreplace_and_exchange EINVAL"
fresh || ktap_exit_fail_msg "cannot make and mount both file systems"
"$ops" errors /mnt/emfs >/tmp/errors-emfs 2>&1
"$ops" errors /mnt/btrfs >/tmp/errors-btrfs 2>&1
documented() {
	echo "$expected_errors" | diff - /tmp/errors-emfs | sed 's/^/# /'
	echo "$expected_errors" | cmp -s - /tmp/errors-emfs
}
ktap_test_result "tree: bad input gets the documented errno" documented
as_btrfs() {
	diff /tmp/errors-btrfs /tmp/errors-emfs | sed 's/^/# /'
	cmp -s /tmp/errors-btrfs /tmp/errors-emfs
}
ktap_test_result "tree: bad input gets btrfs's errno" as_btrfs
ktap_test_result "tree: refused operations made and lost nothing (the trees equal, fsck clean)" \
	eval 'same_trees && remount_emfs && same_trees'

# The link limit: 65000 (btrfs's is 65535).
emlink() {
	out=$("$ops" emlink /mnt/emfs)
	ktap_print_msg "$out"
	[ "$out" = "links 65000 EMLINK" ]
}
ktap_test_result "tree: link(2) stops at 65000 links with EMLINK" emlink
ktap_test_result "tree: fsck clean after 65000 links made and removed" remount_emfs

# A full disk: a small emfs filled with data. Once written back, the data holds
# less room for its records than it was promised while dirty (two records a
# block), so a few names may be made before the refusal: their number is
# printed, not compared.
expected_fill="write_full ENOSPC
fsync_full ok
create_full ENOSPC
refused_name_absent ENOENT
mkdir_full ENOSPC
symlink_full ENOSPC
rename_full ok
rename_back_full ok
rmdir_full ok
unlink_full ok
truncate_full ok
syncfs_full ok
mkdir_after_free ok
keep_intact ok"
fresh -n 2048 || ktap_exit_fail_msg "cannot make and mount both file systems"
full_disk() {
	"$ops" fill /mnt/emfs >/tmp/fill.all 2>/tmp/fill.err
	sed 's/^/# /' /tmp/fill.err
	grep '^names_made' /tmp/fill.all | sed 's/^/# /'
	grep -v '^names_made' /tmp/fill.all >/tmp/fill
	echo "$expected_fill" | diff - /tmp/fill | sed 's/^/# /'
	echo "$expected_fill" | cmp -s - /tmp/fill
}
ktap_test_result "tree: a full disk refuses new names (ENOSPC), moves and removes them, loses nothing" \
	full_disk
ktap_test_result "tree: fsck clean after the full disk" remount_emfs

# Processes in their own subtrees.
fresh || ktap_exit_fail_msg "cannot make and mount both file systems"
stress() {
	"$ops" stress /mnt/emfs "$seconds" 4 7 | sed 's/^/# /'
	[ "${PIPESTATUS[0]}" = 0 ]
}
ktap_print_msg "4 processes, ${seconds}s"
ktap_test_result "tree: 4 processes in their own subtrees, no unexpected error" stress
ktap_test_result "tree: fsck clean after them; directories' links and sizes right, kept by a remount" \
	eval 'dirs_kept && umount /mnt/emfs && fsck_clean $emfs_dev'

umount /mnt/emfs /mnt/btrfs 2>/dev/null
ktap_test_no_problems "tree: no kernel warnings"
modprobe -r emfs
ktap_finished
