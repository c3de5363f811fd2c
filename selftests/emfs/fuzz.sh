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
# Each image reads and clears the kernel log (dmesg -c): scanning a log that grows
# by a few lines per image would cost more than the image. What it held is kept
# in /tmp/fuzz-kmsg-all for the final check.
dmesg -c >/dev/null
: >/tmp/fuzz-kmsg-all

refused=0 ro=0 rw=0
# One image; prints why it failed, if it did.
run_image() {
	emfs-fuzz image --seed "$1" --index "$2" --out $dev >/tmp/fuzz-desc || {
		echo "emfs-fuzz failed"
		return 1
	}
	alive=$(extmap_counter maps_alive)
	if timeout 20 mount -t emfs $dev $mnt 2>/dev/null; then
		if grep -q " $mnt emfs ro" /proc/mounts; then class=ro; else class=rw; fi
		dmesg | grep -m 2 "emfs" >/tmp/fuzz-kmsg
		# One shell per step under `timeout` (each process costs under TCG): list and read
		# every file (bounded); if read-write, write + fsync, truncate, unlink.
		timeout 20 sh -c "ls -la $mnt; for f in $mnt/*; do head -c 1048576 \"\$f\"; done" \
			>/dev/null 2>&1
		[ $? = 124 ] && { echo "listing or reading hung"; return 1; }
		if [ $class = rw ]; then
			timeout 20 sh -c "dd if=/dev/zero of=$mnt/new bs=4096 count=3 conv=fsync &&
				truncate -s 4097 $mnt/many; rm -f $mnt/small" >/dev/null 2>&1
			[ $? = 124 ] && { echo "write, fsync, truncate or unlink hung"; return 1; }
		fi
		timeout 30 umount $mnt || { echo "umount failed or hung"; return 1; }
	else
		class=refused
		dmesg | grep -q "emfs" || { echo "refused without a message"; return 1; }
	fi
	[ "$(extmap_counter maps_alive)" = "$alive" ] ||
		{ echo "extent maps left alive: $(extmap_counter maps_alive), were $alive"; return 1; }
	fsck.emfs $dev >/tmp/fuzz-fsck 2>&1
	rc=$?
	case $class/$rc in
	rw/0 | ro/4 | ro/8 | refused/4 | refused/8) ;;
	*)
		echo "$class, fsck exit $rc"
		sed 's/^/  fsck: /' /tmp/fuzz-fsck | head -n 5
		return 1
		;;
	esac
	dmesg -c >>/tmp/fuzz-kmsg-all
	echo $class >/tmp/fuzz-class
}

for seed in $seeds; do
	bad=0
	for index in $(seq 0 $((images - 1))); do
		rm -f /tmp/fuzz-class
		why=$(run_image "$seed" "$index")
		case $(cat /tmp/fuzz-class 2>/dev/null) in
		refused) refused=$((refused + 1)) ;;
		ro)
			ro=$((ro + 1))
			[ $ro -le 3 ] && sed 's/^/# read-only: /' /tmp/fuzz-kmsg
			;;
		rw) rw=$((rw + 1)) ;;
		esac
		if [ -n "$why" ]; then
			dmesg -c >>/tmp/fuzz-kmsg-all
			bad=$((bad + 1))
			echo "# image $seed/$index: $why" | head -n 8
			sed 's/^/#   /' /tmp/fuzz-desc
			grep -q " $mnt " /proc/mounts && umount $mnt
		fi
	done
	ktap_print_msg "seed $seed: $images images, $bad with an outcome not allowed"
	ktap_test_result "fuzz: seed $seed: every image's outcome allowed" [ $bad = 0 ]
done
ktap_print_msg "outcomes: $refused refused, $ro mounted read-only, $rw mounted read-write"
ktap_test_result "fuzz: every outcome class was reached" [ $((refused > 0 && ro + rw > 0)) = 1 ]
dmesg -c >>/tmp/fuzz-kmsg-all
problems=$(grep -E "$KERNEL_REPORTS|$FS_ERRORS" /tmp/fuzz-kmsg-all)
[ -z "$problems" ] || echo "$problems" | head -n 20 | sed 's/^/# /'
ktap_test_result "fuzz: no kernel warnings" [ "${#problems}" = 0 ]
modprobe -r emfs
ktap_finished
