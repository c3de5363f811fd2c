// SPDX-License-Identifier: GPL-2.0

//! `emfs-replay`: replays a dm-log-writes log of an emfs device and checks the file system at
//! every flush point, every FUA write and every mark (in the VM, `emfs:crash_replay.sh`).
//!
//!   emfs-replay check --log DEV --dev DEV --mnt DIR [--start-mark mkfs] [--region BYTES]
//!                     [--keep-at BYTES]
//!   emfs-replay list --log DEV
//!   emfs-replay verify --journal DEV --dev DEV --mnt DIR
//!
//! `check` zeroes the first `--region` bytes of `--dev`, then applies the log's entries to it
//! in order. From the start mark on, at each point: `fsck` (the library) must find no error
//! (orphans allowed: a crash may leave them); the device, set read-only, must mount; every
//! file whose latest mark says `fsync:NAME:LEN:HASH` must have exactly that content, and every
//! `exists:NAME` must be there. The first failing point's image is copied to `--keep-at` on
//! the same device (the host finds it in the scratch disk image). Prints one line per failure
//! and a closing line `replay: E entries, P points checked (F flush, U fua, M marks), X failed`;
//! exits 1 if any point failed.
//!
//! `verify` is the check after a real crash (a QEMU kill): the promises come from a journal
//! device the workload wrote each mark to, durably, one 512-byte sector each from sector 1 on.
//! fsck (orphans allowed), a read-write mount (which recovers: it frees orphans), the promised
//! files, an unmount, and fsck again, clean.

use clap::{Parser, Subcommand};
use emfs_replay::{fnv1a, parse_mark, Entry, Expect, Log, DISCARD, FLUSH, FUA, MARK};
use nix::mount::{mount, umount, MsFlags};
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{exit, Command};

#[derive(Parser)]
#[command(
    about = "Replays a dm-log-writes log of emfs and checks every flush point",
    version
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Replays the log onto the device and checks the file system at every point.
    Check {
        /// The log device (dm-log-writes' second device).
        #[arg(long)]
        log: PathBuf,
        /// The device to replay onto (the data device, whose region is zeroed first).
        #[arg(long)]
        dev: PathBuf,
        /// Where to mount it at each point.
        #[arg(long)]
        mnt: PathBuf,
        /// Check only from this mark on (before it the device holds no file system yet).
        #[arg(long, default_value = "mkfs")]
        start_mark: String,
        /// Bytes of the device the file system uses (zeroed before the replay).
        #[arg(long, default_value_t = 32 << 20)]
        region: u64,
        /// Where on the device the first failing point's image is kept.
        #[arg(long, default_value_t = 128 << 20)]
        keep_at: u64,
    },
    /// Checks a device a crash left against the promises in a journal device.
    Verify {
        /// The journal device (crash_workload's marks, a sector each from sector 1).
        #[arg(long)]
        journal: PathBuf,
        /// The crashed emfs device.
        #[arg(long)]
        dev: PathBuf,
        /// Where to mount it.
        #[arg(long)]
        mnt: PathBuf,
    },
    /// Prints the log's entries.
    List {
        /// The log device.
        #[arg(long)]
        log: PathBuf,
    },
}

fn flags(f: u64) -> String {
    let names = [
        (FLUSH, "flush"),
        (FUA, "fua"),
        (DISCARD, "discard"),
        (MARK, "mark"),
    ];
    let v: Vec<&str> = names
        .iter()
        .filter(|(b, _)| f & b != 0)
        .map(|(_, n)| *n)
        .collect();
    if v.is_empty() {
        "write".into()
    } else {
        v.join("+")
    }
}

/// `blockdev --setro/--setrw`: a read-only block device makes the mount read-only and keeps
/// anything from writing to the replayed state.
fn set_ro(dev: &Path, ro: bool) -> Result<(), String> {
    let arg = if ro { "--setro" } else { "--setrw" };
    match Command::new("blockdev").arg(arg).arg(dev).status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("blockdev {arg}: {s}")),
        Err(e) => Err(format!("blockdev {arg}: {e}")),
    }
}

fn check_files(mnt: &Path, expect: &BTreeMap<String, Expect>) -> Result<(), String> {
    for (name, e) in expect {
        let path = mnt.join(name);
        match e {
            Expect::Dirty => {}
            Expect::Exists => {
                fs::metadata(&path)
                    .map_err(|err| format!("{name}: {err} (its name was made durable)"))?;
            }
            Expect::Content { len, hash } => {
                let data = fs::read(&path).map_err(|err| format!("{name}: {err} (fsynced)"))?;
                if data.len() as u64 != *len || fnv1a(&data) != *hash {
                    return Err(format!(
                        "{name}: {} bytes, hash {:016x}; fsynced {len} bytes, hash {hash:016x}",
                        data.len(),
                        fnv1a(&data)
                    ));
                }
            }
        }
    }
    Ok(())
}

fn fsck_errors(dev: &Path) -> Result<(), String> {
    let mut f = File::open(dev).map_err(|e| format!("{}: {e}", dev.display()))?;
    let report = emfs_tools::fsck::fsck(&mut f).map_err(|e| format!("fsck: {e}"))?;
    if report.errors.is_empty() {
        return Ok(());
    }
    let first: Vec<&str> = report.errors.iter().take(3).map(String::as_str).collect();
    Err(format!(
        "fsck: {} errors: {}",
        report.errors.len(),
        first.join("; ")
    ))
}

/// `verify`: the promises of the journal against the device.
fn run_verify(journal: &Path, dev: &Path, mnt: &Path) -> Result<usize, String> {
    let j = File::open(journal).map_err(|e| format!("{}: {e}", journal.display()))?;
    let mut expect = BTreeMap::new();
    let mut sector = [0u8; 512];
    let mut n = 1;
    while j.read_exact_at(&mut sector, n * 512).is_ok() && sector[0] != 0 {
        let end = sector.iter().position(|&b| b == 0).unwrap_or(sector.len());
        if let Some((name, x)) = parse_mark(&String::from_utf8_lossy(&sector[..end])) {
            expect.insert(name, x);
        }
        n += 1;
    }
    fsck_errors(dev).map_err(|e| format!("after the crash: {e}"))?;
    mount(Some(dev), mnt, Some("emfs"), MsFlags::empty(), None::<&str>)
        .map_err(|e| format!("mount: {e}"))?;
    let r = check_files(mnt, &expect);
    umount(mnt).map_err(|e| format!("umount: {e}"))?;
    r?;
    fsck_errors(dev).map_err(|e| format!("after the recovery mount: {e}"))?;
    Ok(expect.values().filter(|x| **x != Expect::Dirty).count())
}

/// The checks of one point.
fn check_point(dev: &Path, mnt: &Path, expect: &BTreeMap<String, Expect>) -> Result<(), String> {
    let mut f = File::open(dev).map_err(|e| format!("{}: {e}", dev.display()))?;
    let report = emfs_tools::fsck::fsck(&mut f).map_err(|e| format!("fsck: {e}"))?;
    if !report.errors.is_empty() {
        let first: Vec<&str> = report.errors.iter().take(3).map(String::as_str).collect();
        return Err(format!(
            "fsck: {} errors: {}",
            report.errors.len(),
            first.join("; ")
        ));
    }
    set_ro(dev, true)?;
    let r = match mount(
        Some(dev),
        mnt,
        Some("emfs"),
        MsFlags::MS_RDONLY,
        None::<&str>,
    ) {
        Err(e) => Err(format!("mount: {e}")),
        Ok(()) => {
            let r = check_files(mnt, expect);
            match umount(mnt) {
                Ok(()) => r,
                Err(e) => Err(format!("umount: {e}")),
            }
        }
    };
    set_ro(dev, false)?;
    r
}

/// Copies the file system's region to `keep_at` on the same device.
fn keep(dev: &mut File, region: u64, keep_at: u64) -> std::io::Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    let mut off = 0;
    while off < region {
        let n = buf.len().min((region - off) as usize);
        dev.read_exact_at(&mut buf[..n], off)?;
        dev.write_all_at(&buf[..n], keep_at + off)?;
        off += n as u64;
    }
    dev.sync_all()
}

fn apply(dev: &File, e: &Entry, ss: u64) -> std::io::Result<()> {
    if e.flags & DISCARD != 0 {
        // A discarded range reads back as anything; zeros are one such thing.
        let zeros = vec![0u8; (e.nr_sectors * ss) as usize];
        dev.write_all_at(&zeros, e.sector * ss)
    } else if !e.data.is_empty() {
        dev.write_all_at(&e.data, e.sector * ss)
    } else {
        Ok(())
    }
}

fn run_check(
    log: &Path,
    devp: &Path,
    mnt: &Path,
    start_mark: &str,
    region: u64,
    keep_at: u64,
) -> Result<bool, String> {
    let logf = File::open(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let mut log = Log::open(logf).map_err(|e| format!("{}: {e}", log.display()))?;
    let mut dev = OpenOptions::new()
        .read(true)
        .write(true)
        .open(devp)
        .map_err(|e| format!("{}: {e}", devp.display()))?;
    let zeros = vec![0u8; 1 << 20];
    for off in (0..region).step_by(zeros.len()) {
        dev.write_all_at(&zeros, off)
            .map_err(|e| format!("zeroing: {e}"))?;
    }
    let mut expect = BTreeMap::new();
    let (mut started, mut kept) = (false, false);
    let (mut points, mut failed, mut by_kind) = (0u64, 0u64, [0u64; 3]);
    let mut entries = 0;
    while let Some(e) = log.next_entry().map_err(|err| format!("log: {err}"))? {
        entries += 1;
        apply(&dev, &e, log.sectorsize).map_err(|err| format!("entry {}: {err}", e.index))?;
        if e.flags & MARK != 0 {
            if e.mark == start_mark {
                started = true;
            }
            if let Some((name, x)) = parse_mark(&e.mark) {
                expect.insert(name, x);
            }
        }
        if !started || !e.is_point() {
            continue;
        }
        dev.sync_all().map_err(|err| format!("sync: {err}"))?;
        points += 1;
        for (k, bit) in [FLUSH, FUA, MARK].into_iter().enumerate() {
            by_kind[k] += u64::from(e.flags & bit != 0);
        }
        if let Err(why) = check_point(devp, mnt, &expect) {
            failed += 1;
            if failed <= 20 {
                println!(
                    "FAIL point {points} (entry {}, {}): {why}",
                    e.index,
                    flags(e.flags)
                );
            }
            if !kept {
                kept = true;
                match keep(&mut dev, region, keep_at) {
                    Ok(()) => println!(
                        "  its image is kept at byte {keep_at} of {} ({} bytes)",
                        devp.display(),
                        region
                    ),
                    Err(err) => println!("  could not keep its image: {err}"),
                }
            }
        }
    }
    println!(
        "replay: {entries} entries, {points} points checked ({} flush, {} fua, {} marks), {failed} failed",
        by_kind[0], by_kind[1], by_kind[2]
    );
    if !started {
        println!("replay: the start mark '{start_mark}' is not in the log");
        return Ok(false);
    }
    Ok(failed == 0)
}

fn main() {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Check {
            log,
            dev,
            mnt,
            start_mark,
            region,
            keep_at,
        } => match run_check(&log, &dev, &mnt, &start_mark, region, keep_at) {
            Ok(true) => exit(0),
            Ok(false) => exit(1),
            Err(e) => {
                eprintln!("emfs-replay: {e}");
                exit(8);
            }
        },
        Cmd::Verify { journal, dev, mnt } => match run_verify(&journal, &dev, &mnt) {
            Ok(n) => println!("verify: {n} promises kept"),
            Err(e) => {
                println!("verify: FAIL: {e}");
                exit(1);
            }
        },
        Cmd::List { log } => {
            let r = File::open(&log).and_then(Log::open).and_then(|mut l| {
                let mut out = std::io::stdout().lock();
                while let Some(e) = l.next_entry()? {
                    writeln!(
                        out,
                        "{} {} sector {} sectors {} {}",
                        e.index,
                        flags(e.flags),
                        e.sector,
                        e.nr_sectors,
                        e.mark
                    )?;
                }
                Ok(())
            });
            if let Err(e) = r {
                eprintln!("emfs-replay: {}: {e}", log.display());
                exit(8);
            }
        }
    }
}
