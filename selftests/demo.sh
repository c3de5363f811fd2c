#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# What `make run` shows, one line per step: emfs.ko loading (KUnit runs the
# extmap and emfs_checksum suites as the module goes live), upstream btrfs's
# own sanity tests, an emfs made, written and synced, the 2020 race played
# through the file system as a timeline of what each side did with the extmap
# counters before and after, a remount and fsck. Ends with the kernel messages
# of emfs and extmap, if any, and exits 1 if any step failed.

# lib.sh's list of kernel problem reports (lib.sh itself expects to run from /ksft/emfs).
KERNEL_REPORTS=$(sed -n "s/^KERNEL_REPORTS='\(.*\)'$/\1/p" /ksft/emfs/lib.sh)

start=$(cut -d. -f1 /proc/uptime)
n=0
failed=0
pass() { n=$((n + 1)); printf '[%d] ok    %s\n' $n "$*"; }
fail() { n=$((n + 1)); failed=$((failed + 1)); printf '[%d] FAIL  %s\n' $n "$*"; }
counter() { cat "/sys/kernel/debug/$1" 2>/dev/null || echo '?'; }
# kunit_counts SUITE: "passed/cases" of a KUnit suite's results.
kunit_counts() {
	r=/sys/kernel/debug/kunit/$1/results
	[ -r "$r" ] || { echo "no results"; return 1; }
	p=$(grep -c '^    ok ' "$r")
	f=$(grep -c '^    not ok ' "$r")
	echo "$p/$((p + f))"
	[ "$f" = 0 ] && [ "$p" -gt 0 ]
}

echo "emfs demo: extmap, a Rust port of btrfs's extent-map cache, and the 2020 race"
echo "(the kernel's console is in build/run-console.log; make run V=1 shows it here)"
dmesg -c >/dev/null
# The kernel log of each step is kept here and scanned for problems at the end; the KUnit
# suites' and btrfs's self-test chatter is not shown.
: >/tmp/demo-kmsg-all
quiet_log() { dmesg -c >>/tmp/demo-kmsg-all; }

if modprobe emfs; then
	e=$(kunit_counts extmap) && c=$(kunit_counts emfs_checksum) &&
		pass "modprobe emfs: KUnit suites passed: extmap $e cases, emfs_checksum $c" ||
		fail "modprobe emfs: KUnit extmap $e, emfs_checksum $(kunit_counts emfs_checksum)"
else
	fail "modprobe emfs"
fi
quiet_log

if modprobe btrfs; then
	dmesg -c >/tmp/demo-btrfs.log
	cat /tmp/demo-btrfs.log >>/tmp/demo-kmsg-all
	/ksft/btrfs_upstream/verdicts.sh /tmp/demo-btrfs.log >/tmp/demo-btrfs.verdicts
	em=$(grep -c '^pass btrfs: extent_map' /tmp/demo-btrfs.verdicts)
	rm=$(grep -c '^pass btrfs: rmap' /tmp/demo-btrfs.verdicts)
	if [ "$em" = 8 ] && [ "$rm" = 2 ]; then
		pass "modprobe btrfs: upstream's sanity tests passed (extent_map cases 8/8, rmap 2/2)"
	else
		fail "modprobe btrfs: extent_map cases $em/8, rmap $rm/2 passed"
	fi
else
	fail "modprobe btrfs: its sanity tests failed"
fi
quiet_log

mkdir -p /tmp/demo /mnt/emfs
if mkfs.emfs /dev/vdb >/dev/null && mount -t emfs /dev/vdb /mnt/emfs; then
	pass "mkfs.emfs /dev/vdb; mount -t emfs /dev/vdb /mnt/emfs"
else
	fail "mkfs.emfs /dev/vdb; mount -t emfs /dev/vdb /mnt/emfs"
fi

ins0=$(counter extmap/inserts)
ok=1
for i in 1 2 3; do
	head -c $((i * 300000)) /dev/urandom >/tmp/demo/file$i
	cp /tmp/demo/file$i /mnt/emfs/file$i || ok=0
done
sync
if [ $ok = 1 ]; then
	pass "3 files written and synced: writeback inserted $(($(counter extmap/inserts) - ins0)) maps, pinned until their bios completed"
else
	fail "3 files written and synced"
fi

echo "    the 2020 race (race_repro -t): a reader holds B's map while fsync tries to merge it"
names="merges merges_refused last_refused_refs drops maps_alive"
for c in $names; do eval "before_$c=$(counter extmap/$c)"; done
parked0=$(counter emfs/parked)
/ksft/emfs/race_repro -t /mnt/emfs/race >/tmp/demo-race.out 2>&1
rc=$?
grep '^  ' /tmp/demo-race.out
printf '    %-18s %8s %8s\n' counter before after
for c in $names; do
	eval "printf '    %-18s %8s %8s\n' $c \$before_$c $(counter extmap/$c)"
done
printf '    %-18s %8s %8s\n' "parked (emfs)" "$parked0" "$(counter emfs/parked)"
kv() { sed -n "s/^$1=//p" /tmp/demo-race.out; }
if [ $rc = 0 ] && [ "$(kv parked)" = 1 ] && [ "$(kv refused_during_fsync)" -ge 1 ] &&
	[ "$(kv reader_ok)" = 1 ] && [ "$(kv merges_after_release)" -ge 1 ] &&
	[ "$(kv drops_on_release_before_fsync)" = 0 ]; then
	pass "the race: merge refused while the reader held B, its bytes right, B merged later"
else
	fail "the race: $(grep -v '^  ' /tmp/demo-race.out | tr '\n' ' ')"
fi

echo "    the same sequence on btrfs 6.12 (race_repro -t -b, through its test-only hooks)"
mkdir -p /mnt/btrfs
if mkfs.btrfs -q -f /dev/vda >/dev/null 2>&1 && mount -t btrfs /dev/vda /mnt/btrfs; then
	/ksft/emfs/race_repro -t -b /mnt/btrfs/race >/tmp/demo-btrfs-race.out 2>&1
	rc=$?
	umount /mnt/btrfs
else
	rc=1
fi
grep '^  ' /tmp/demo-btrfs-race.out
kv() { sed -n "s/^$1=//p" /tmp/demo-btrfs-race.out; }
if [ $rc = 0 ] && [ "$(kv parked)" = 1 ] && [ "$(kv refused_during_fsync)" -ge 1 ] &&
	[ "$(kv reader_ok)" = 1 ] && [ "$(kv merges_after_release)" -ge 1 ]; then
	pass "btrfs with the 2020 fix: merge refused while the reader held B (refs > 2), its bytes right"
else
	fail "btrfs with the 2020 fix: $(grep -v '^  ' /tmp/demo-btrfs-race.out | tr '\n' ' ')"
fi
modprobe -r btrfs
# The same on btrfs without the fix ran in a boot of its own before this one
# (scripts/vm.sh, harness=btrfsbug): the kernel stopped there.
bug=$(sed -n 's/.*harness_btrfs_bug=\([a-z]*\).*/\1/p' /proc/cmdline)
if [ "$bug" = bug ]; then
	pass "btrfs with the fix reverted (its own boot, before this one): kernel BUG at btrfs_do_readpage's BUG_ON(extent_map_end(em) <= cur)"
else
	fail "btrfs with the fix reverted (its own boot, before this one): ${bug:-not run}, not the BUG"
fi

echo 3 >/proc/sys/vm/drop_caches
if umount /mnt/emfs && fsck.emfs /dev/vdb >/tmp/demo-fsck.out 2>&1; then
	pass "drop_caches; umount; fsck.emfs /dev/vdb: clean"
else
	fail "drop_caches; umount; fsck.emfs /dev/vdb: $(tail -n 1 /tmp/demo-fsck.out)"
fi

miss0=$(counter extmap/inserts)
ok=1
mount -t emfs /dev/vdb /mnt/emfs || ok=0
for i in 1 2 3; do cmp -s /tmp/demo/file$i /mnt/emfs/file$i || ok=0; done
if [ $ok = 1 ]; then
	pass "remount: the 3 files read back identical ($(($(counter extmap/inserts) - miss0)) maps loaded from disk on misses)"
else
	fail "remount: the 3 files read back identical"
fi
umount /mnt/emfs
alive=$(counter extmap/maps_alive)
if modprobe -r emfs && [ "$alive" = 0 ]; then
	pass "umount; modprobe -r emfs: no map left alive"
else
	fail "umount; modprobe -r emfs: $alive maps alive"
fi

# The kernel's messages from emfs and extmap after the module's self-tests, and any report
# of a kernel problem during the whole demo.
dmesg -c | grep -E "emfs|extmap|$KERNEL_REPORTS" >/tmp/demo-kmsg
grep -E "$KERNEL_REPORTS" /tmp/demo-kmsg-all >>/tmp/demo-kmsg
if [ -s /tmp/demo-kmsg ]; then
	echo "kernel messages from emfs and extmap ($(wc -l </tmp/demo-kmsg) lines, first 5):"
	head -n 5 /tmp/demo-kmsg | sed 's/^/    /'
else
	echo "kernel messages from emfs and extmap: none"
fi
if grep -qE "$KERNEL_REPORTS" /tmp/demo-kmsg; then
	fail "the kernel reported a problem (above)"
fi

echo "demo: $((n - failed)) of $n steps passed in $(($(cut -d. -f1 /proc/uptime) - start)) s"
[ $failed = 0 ]
