#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Builds the test VM's initramfs.
#
#   scripts/initramfs.sh KSRC OUT
#
# KSRC is a built kernel tree from scripts/kernel.sh (its modules installed
# next to it), OUT the build directory of the clone. The project's modules must
# have been built already. Writes OUT/initramfs.cpio.gz.

source "$(dirname "$0")/common.sh"

KSRC=$1
mkdir -p "$2"
OUT=$(cd "$2" && pwd)
SLOT=$(dirname "$KSRC")
ROOT=$OUT/initramfs
COLLECTIONS=(emfs btrfs_upstream)

rm -rf "$ROOT"
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,mnt,etc,lib,lib64}

# Copy a host binary and the shared libraries it needs, at the same paths.
copy_bin() {
	local bin=$1 dest=${2:-$1}
	install -D -m 0755 "$bin" "$ROOT$dest"
	ldd "$bin" 2>/dev/null | grep -o '/[^ ]*' | while read -r lib; do
		[ -e "$ROOT$lib" ] || install -D -m 0755 "$lib" "$ROOT$lib"
	done
}

# busybox for the shell and the basics.
install -m 0755 /bin/busybox "$ROOT/bin/busybox"
for applet in $(/bin/busybox --list-full); do
	[ -e "$ROOT/$applet" ] || ln -s /bin/busybox "$ROOT/$applet"
done

# coreutils' timeout: kselftest's runner needs its --foreground and exit code 124.
rm -f "$ROOT/usr/bin/timeout"
copy_bin "$(command -v timeout)" /usr/bin/timeout
# bash, for test scripts that want it.
copy_bin "$(command -v bash)" /bin/bash
# kmod's modprobe and friends (busybox's modprobe lacks options the runner uses).
copy_bin "$(command -v kmod)" /bin/kmod
for t in modprobe depmod insmod rmmod lsmod modinfo; do
	rm -f "$ROOT/sbin/$t"
	ln -s /bin/kmod "$ROOT/sbin/$t"
done
# btrfs-progs, for the comparisons with upstream btrfs.
copy_bin "$(command -v mkfs.btrfs)" /sbin/mkfs.btrfs
copy_bin "$(command -v btrfs)" /sbin/btrfs
# dmsetup, for the crash-replay test's dm-log-writes target.
copy_bin "$(command -v dmsetup)" /sbin/dmsetup

# The host tools, static so that they run in the VM.
(cd "$SRCTREE/host" && RUSTFLAGS="-C target-feature=+crt-static" cargo build --quiet --release \
	--locked --target x86_64-unknown-linux-gnu -p emfs-tools -p extmap-diff -p emfs-fuzz -p emfs-replay --target-dir "${HOST_STATIC_DIR:-$OUT/host-static}")
static=${HOST_STATIC_DIR:-$OUT/host-static}/x86_64-unknown-linux-gnu/release
for t in mkfs fsck; do
	install -m 0755 "$static/$t-emfs" "$ROOT/sbin/$t.emfs"
done
install -m 0755 "$static/extmap-diff" "$ROOT/sbin/extmap-diff"
install -m 0755 "$static/emfs-mutate" "$ROOT/sbin/emfs-mutate"
install -m 0755 "$static/emfs-fuzz" "$ROOT/sbin/emfs-fuzz"
install -m 0755 "$static/emfs-replay" "$ROOT/sbin/emfs-replay"

# Kernel modules: the kernel's own, plus the project's under extra/.
kver=$(cat "$KSRC/include/config/kernel.release")
mkdir -p "$ROOT/lib/modules"
cp -a "$SLOT/modroot/lib/modules/$kver" "$ROOT/lib/modules/"
rm -f "$ROOT/lib/modules/$kver/build" "$ROOT/lib/modules/$kver/source"
mkdir -p "$ROOT/lib/modules/$kver/extra"
for ko in "$SRCTREE"/emfs.ko "$SRCTREE"/samples/*.ko; do
	[ -f "$ko" ] || die "$ko is not built"
	llvm-strip --strip-debug -o "$ROOT/lib/modules/$kver/extra/$(basename "$ko")" "$ko"
done
depmod -b "$ROOT" "$kver"

# The kselftest collections, installed with the kernel's own kselftest build
# so that the runner, its helpers and the list are upstream's.
for c in "${COLLECTIONS[@]}"; do
	rm -rf "$KSRC/tools/testing/selftests/$c"
	cp -a "$SRCTREE/selftests/$c" "$KSRC/tools/testing/selftests/$c"
done
rm -rf "$OUT/ksft"
make -s -C "$KSRC/tools/testing/selftests" TARGETS="${COLLECTIONS[*]}" \
	INSTALL_PATH="$OUT/ksft" install >"$OUT/ksft-install.log" 2>&1 ||
	{ cat "$OUT/ksft-install.log" >&2; die "kselftest install failed"; }
cp -a "$OUT/ksft" "$ROOT/ksft"
install -m 0755 "$SRCTREE/selftests/demo.sh" "$ROOT/ksft/demo.sh"
install -m 0755 "$SRCTREE/selftests/bench.sh" "$ROOT/ksft/bench.sh"
install -m 0755 "$SRCTREE/selftests/crash_prepare.sh" "$ROOT/ksft/crash_prepare.sh"
install -m 0755 "$SRCTREE/selftests/crash_kill.sh" "$ROOT/ksft/crash_kill.sh"

install -m 0755 "$SRCTREE/scripts/guest-init.sh" "$ROOT/init"
echo "root:x:0:0:root:/root:/bin/sh" >"$ROOT/etc/passwd"

(cd "$ROOT" && find . | cpio -o -H newc --quiet | gzip -1) >"$OUT/initramfs.cpio.gz"
