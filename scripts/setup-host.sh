#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Installs what the build and the VM need on a Debian 12 host: Debian
# packages and a pinned bindgen-cli. Idempotent and quiet when nothing is
# missing.

source "$(dirname "$0")/common.sh"

PACKAGES=(
	rustc-web rust-web-src rustfmt-web rust-web-clippy cargo-web
	clang lld llvm libclang-dev
	make flex bison bc libelf-dev libssl-dev cpio kmod xz-utils python3 rsync libc6-dev patch
	qemu-system-x86 busybox-static btrfs-progs coreutils dmsetup
	"$KERNEL_PKG"
)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
		missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		die "missing Debian packages; run as root:
    apt-get update && apt-get install -y ${missing[*]}"
	fi
	log "installing Debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! "$BINDGEN" --version 2>/dev/null | grep -q " $BINDGEN_VERSION\$"; then
	log "installing bindgen-cli $BINDGEN_VERSION into $TOOLS_DIR"
	mkdir -p "$TOOLS_DIR"
	# Debian's cargo, so a host without rustup works too.
	CARGO=/usr/bin/cargo
	[ -x "$CARGO" ] || CARGO=cargo
	RUSTC=$RUSTC "$CARGO" install --quiet --locked --root "$TOOLS_DIR" \
		--version "$BINDGEN_VERSION" bindgen-cli
fi

"$RUSTC" --version | grep -q '^rustc 1\.' || die "$RUSTC is not a working rustc"
[ -d /usr/lib/rustlib/src/rust/library/core ] ||
	die "rust-web-src did not install /usr/lib/rustlib/src/rust/library"
