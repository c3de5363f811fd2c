// SPDX-License-Identifier: GPL-2.0

//! `emfs-fuzz`: makes the fuzzed emfs images of `emfs_fuzz` (seeded, replayable).
//!
//!   emfs-fuzz image --seed S --index K --out FILE   image K of seed S (FILE may be a device)
//!   emfs-fuzz base --out FILE                       the image they all start from (`base.rs`)
//!   emfs-fuzz holes --extents N --out FILE          the shrinker test's image (`holes.rs`)
//!   emfs-fuzz run --seed S --count N --dev DEV --mnt DIR --kmsg-log FILE
//!                                                   images 0..N of seed S through the kernel
//!                                                   (in the VM; see `run.rs`)

mod run;

use clap::{Parser, Subcommand};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::exit;

#[derive(Parser)]
#[command(about = "Structure-aware fuzzing of emfs images", version)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Writes image K of seed S, and prints its mutations.
    Image {
        /// The seed.
        #[arg(long)]
        seed: u64,
        /// The image's index in the seed's sequence.
        #[arg(long)]
        index: u64,
        /// Where to write it (a file or a block device; written from its start).
        #[arg(long)]
        out: String,
    },
    /// Writes the shrinker test's image: one file of N one-block data extents, each followed by
    /// a one-block hole.
    Holes {
        /// Data extents.
        #[arg(long)]
        extents: u64,
        /// Where to write it (a file or a block device).
        #[arg(long)]
        out: String,
    },
    /// Writes the base image.
    Base {
        /// Where to write it.
        #[arg(long)]
        out: String,
    },
    /// Runs images of a seed through the kernel: mount, use, unmount, fsck (in the VM).
    Run {
        /// The seed.
        #[arg(long)]
        seed: u64,
        /// How many images (indices 0 to N-1).
        #[arg(long)]
        count: u64,
        /// The scratch block device the images are written to.
        #[arg(long)]
        dev: PathBuf,
        /// Where to mount them.
        #[arg(long)]
        mnt: PathBuf,
        /// File the kernel's messages are appended to, for a scan for kernel reports.
        #[arg(long)]
        kmsg_log: PathBuf,
    },
}

/// `emfs-fuzz run`: one line per image whose outcome is not allowed (with its mutations), a
/// line per outcome class, exit 1 if any image failed.
fn run_seed(seed: u64, count: u64, dev: &Path, mnt: &Path, log: &Path) -> i32 {
    let mut kmsg = match run::Kmsg::open(log) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("emfs-fuzz: /dev/kmsg: {e}");
            return 8;
        }
    };
    let dog = run::Watchdog::start();
    let (mut refused, mut ro, mut rw, mut bad) = (0, 0, 0, 0);
    for index in 0..count {
        match run::run_image(seed, index, dev, mnt, &mut kmsg, &dog) {
            Ok(run::Outcome::Refused) => refused += 1,
            Ok(run::Outcome::ReadOnly) => ro += 1,
            Ok(run::Outcome::ReadWrite) => rw += 1,
            Err(why) => {
                bad += 1;
                println!("image {seed}/{index}: {why}");
                if let Ok((_, done)) = emfs_fuzz::image(seed, index) {
                    for d in done {
                        println!("  mutation: {d}");
                    }
                }
            }
        }
    }
    println!("seed {seed}: refused {refused} read-only {ro} read-write {rw} not-allowed {bad}");
    i32::from(bad != 0)
}

fn write(out: &str, bytes: &[u8]) {
    let r = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(out)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()));
    if let Err(e) = r {
        eprintln!("emfs-fuzz: {out}: {e}");
        exit(8);
    }
}

fn main() {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Image { seed, index, out } => match emfs_fuzz::image(seed, index) {
            Ok((img, done)) => {
                write(&out, &img.bytes);
                // A reader that stops early (`| grep -q`) is not an error.
                let mut stdout = std::io::stdout().lock();
                for d in done {
                    if writeln!(stdout, "image {seed}/{index}: {d}").is_err() {
                        break;
                    }
                }
            }
            Err(e) => {
                eprintln!("emfs-fuzz: {e}");
                exit(8);
            }
        },
        Cmd::Run {
            seed,
            count,
            dev,
            mnt,
            kmsg_log,
        } => exit(run_seed(seed, count, &dev, &mnt, &kmsg_log)),
        Cmd::Holes { extents, out } => {
            let r = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&out)
                .map_err(|e| e.to_string())
                .and_then(|mut f| {
                    emfs_fuzz::holes::holes_image(&mut f, extents)?;
                    f.sync_all().map_err(|e| e.to_string())
                });
            if let Err(e) = r {
                eprintln!("emfs-fuzz: {out}: {e}");
                exit(8);
            }
        }
        Cmd::Base { out } => match emfs_fuzz::base_image() {
            Ok(img) => write(&out, &img.bytes),
            Err(e) => {
                eprintln!("emfs-fuzz: {e}");
                exit(8);
            }
        },
    }
}
