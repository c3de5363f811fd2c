#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# What `make run` shows: the module loading and what it reports.
set -x
modprobe emfs
dmesg | grep -E 'emfs|extmap|KTAP|ok [0-9]' | tail -n 60
ls /sys/kernel/debug/kunit 2>/dev/null
modprobe -r emfs
