#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Fuzzed images (emfs-fuzz: metadata fields mutated, checksums re-sealed): for each,
# mount; if mounted, list, read every file (bounded), and if read-write also write,
# fsync, truncate and unlink; unmount; fsck.emfs. Every step has a time limit.
# Allowed outcomes: refused with a kernel message (fsck exit 4 or 8), mounted
# read-only (fsck 4 or 8), mounted read-write and fsck clean afterwards. Never a
# kernel warning, a hang, or an extent map left alive after the unmount.
#
#   FUZZ_SEEDS (default "1 2 3") x FUZZ_IMAGES (default 100) images.

. "$(dirname "$0")/lib.sh"

dev=/dev/vdb
mnt=/mnt/emfs
seeds=${FUZZ_SEEDS:-1 2 3}
images=${FUZZ_IMAGES:-100}
nseeds=$(echo $seeds | wc -w)

ktap_print_header
ktap_set_plan $((nseeds + 2))
emfs_prepare $dev
# The loop runs in one process, emfs-fuzz run (host/emfs-fuzz/src/run.rs): per image
# it writes the image, mounts, lists and reads, writes/fsyncs/truncates/unlinks if
# read-write, unmounts, compares maps_alive, runs fsck in-process, and appends the
# kernel's messages to /tmp/fuzz-kmsg-all for the scan below. Each step has a time
# limit (a hang ends it with "HUNG:"); the whole seed has one too.
: >/tmp/fuzz-kmsg-all

refused=0 ro=0 rw=0
for seed in $seeds; do
	timeout $((images * 10 + 60)) emfs-fuzz run --seed "$seed" \
		--count "$images" --dev $dev --mnt $mnt --kmsg-log /tmp/fuzz-kmsg-all >/tmp/fuzz-run 2>&1
	rc=$?
	grep -v '^seed ' /tmp/fuzz-run | head -n 40 | sed 's/^/# /'
	# Its closing line: "seed S: refused R read-only O read-write W not-allowed B".
	summary=$(sed -n 's/^seed [0-9]*: refused \([0-9]*\) read-only \([0-9]*\) read-write \([0-9]*\) not-allowed \([0-9]*\)$/\1 \2 \3 \4/p' /tmp/fuzz-run)
	bad=unknown
	if [ -n "$summary" ]; then
		read -r r o w bad <<<"$summary"
		refused=$((refused + r)) ro=$((ro + o)) rw=$((rw + w))
		ktap_print_msg "seed $seed: $images images: $r refused, $o read-only, $w read-write, $bad not allowed"
	else
		ktap_print_msg "seed $seed: emfs-fuzz run ended early (exit $rc)"
		grep -q " $mnt " /proc/mounts && umount $mnt
	fi
	ktap_test_result "fuzz: seed $seed: every image's outcome allowed" [ "$rc/$bad" = 0/0 ]
done
ktap_print_msg "outcomes: $refused refused, $ro mounted read-only, $rw mounted read-write"
ktap_test_result "fuzz: every outcome class was reached" [ $((refused > 0 && ro + rw > 0)) = 1 ]
problems=$(grep -E "$KERNEL_REPORTS|$FS_ERRORS" /tmp/fuzz-kmsg-all)
[ -z "$problems" ] || echo "$problems" | head -n 20 | sed 's/^/# /'
ktap_test_result "fuzz: no kernel warnings" [ "${#problems}" = 0 ]
modprobe -r emfs
ktap_finished
