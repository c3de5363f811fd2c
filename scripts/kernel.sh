#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Builds (or finds in the cache) the test kernel and prints its tree's path.
#
#   scripts/kernel.sh [default|debug|bench]
#
# default and debug are the test kernels (their checks in configs/debug.config,
# debug adds KASAN and fault injection); bench is built like a distribution
# kernel for make bench (configs/bench.config). The tree is Debian's
# linux-source-6.12, configured from tinyconfig plus the flavour's fragments in
# configs/, built with LLVM=1 and Debian's rustc. It is cached
# outside the clone under a key made of everything that affects the result:
# the kernel package version, the fragments, the patches, this script and the
# toolchain versions. A second run with the same key does nothing.
#
# The patches in patches/ (test-only code under CONFIG_BTRFS_FS_RUN_SANITY_TESTS,
# such as btrfs's extent-map script interpreter, and objtool's list of the
# noreturn functions of the rustc in use) are applied in name order after the
# source is extracted; one that does not apply stops the build.

source "$(dirname "$0")/common.sh"

FLAVOUR=${1:-default}
case "$FLAVOUR" in
default) FRAGMENTS=(base rust btrfs debug) ;;
debug) FRAGMENTS=(base rust btrfs debug kasan) ;;
bench) FRAGMENTS=(base rust btrfs bench) ;;
*) die "unknown kernel flavour '$FLAVOUR' (default, debug or bench)" ;;
esac

kernel_version=$(dpkg-query -W -f='${Version}' "$KERNEL_PKG" 2>/dev/null) ||
	die "$KERNEL_PKG is not installed (run scripts/setup-host.sh)"

fragment_files=()
for f in "${FRAGMENTS[@]}"; do fragment_files+=("$SRCTREE/configs/$f.config"); done
patch_files=("$SRCTREE"/patches/*.patch)
[ -e "${patch_files[0]}" ] || patch_files=()

key=$({
	echo "$KERNEL_PKG $kernel_version"
	cat "${fragment_files[@]}" "$0"
	for p in "${patch_files[@]}"; do echo "patch ${p##*/}"; cat "$p"; done
	"$RUSTC" --version
	"$BINDGEN" --version
	clang --version | head -n1
	ld.lld --version | head -n1
} | sha256sum | cut -c1-16)

SLOT=$CACHE_DIR/kernel/$FLAVOUR-$key
KSRC=$SLOT/linux
mkdir -p "$SLOT"

exec 9>"$SLOT/.lock"
flock 9

if [ -f "$SLOT/.built" ]; then
	echo "$KSRC"
	exit 0
fi

log "building the $FLAVOUR kernel ($KERNEL_PKG $kernel_version) in $SLOT; about 15 minutes on 2 cores"
rm -rf "$KSRC"
mkdir -p "$KSRC"
tarball=$(ls /usr/src/linux-source-6.12.tar.xz) || die "no /usr/src/linux-source-6.12.tar.xz"
tar -xJf "$tarball" -C "$KSRC" --strip-components=1
: >"$SLOT/patch.log"
for p in "${patch_files[@]}"; do
	patch -d "$KSRC" -p1 --forward --batch --quiet <"$p" >>"$SLOT/patch.log" 2>&1 ||
		die "patch ${p#"$SRCTREE"/} does not apply to $KERNEL_PKG $kernel_version (see $SLOT/patch.log)"
done

mapfile -t KMAKE < <(kmake_args)
BUILD_LOG=$SLOT/build.log
{
	echo "kernel: $KERNEL_PKG $kernel_version ($tarball)"
	echo "flavour: $FLAVOUR, fragments: ${FRAGMENTS[*]}, key: $key"
	echo "patches: ${patch_files[*]##*/}"
	"$RUSTC" --version
	"$BINDGEN" --version
	clang --version | head -n1
} >"$BUILD_LOG"
cat "$BUILD_LOG" >&2

cd "$KSRC"
make "${KMAKE[@]}" tinyconfig >>"$BUILD_LOG" 2>&1
./scripts/kconfig/merge_config.sh -m .config "${fragment_files[@]}" >>"$BUILD_LOG" 2>&1
make "${KMAKE[@]}" olddefconfig >>"$BUILD_LOG" 2>&1

# Kconfig silently drops what it cannot satisfy (RUST above all): check that
# every option the fragments ask for made it into .config.
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*)
		grep -qxF "$line" .config || { echo "config: wanted $line, got: $(grep "^${line%%=*}=" .config || echo unset)" >&2; bad=1; } ;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }; opt=${opt%% *}
		! grep -q "^$opt=" .config || { echo "config: wanted $opt unset" >&2; bad=1; } ;;
	esac
done < <(cat "${fragment_files[@]}")
[ $bad = 0 ] || die "the merged .config lost options (see above); log: $BUILD_LOG"
grep -q '^CONFIG_RUST=y' .config || die "CONFIG_RUST=y was dropped by Kconfig"

make "${KMAKE[@]}" -j"$JOBS" bzImage modules >>"$BUILD_LOG" 2>&1 ||
	{ tail -n 40 "$BUILD_LOG" >&2; die "kernel build failed; log: $BUILD_LOG"; }
rm -rf "$SLOT/modroot"
make "${KMAKE[@]}" INSTALL_MOD_PATH="$SLOT/modroot" INSTALL_MOD_STRIP=1 modules_install >>"$BUILD_LOG" 2>&1

touch "$SLOT/.built"
log "kernel ready: $KSRC/arch/x86/boot/bzImage"
echo "$KSRC"
