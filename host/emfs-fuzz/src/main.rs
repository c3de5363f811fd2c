// SPDX-License-Identifier: GPL-2.0

//! `emfs-fuzz`: makes the fuzzed emfs images of `emfs_fuzz` (seeded, replayable).
//!
//!   emfs-fuzz image --seed S --index K --out FILE   image K of seed S (FILE may be a device)
//!   emfs-fuzz base --out FILE                       the image they all start from

use clap::{Parser, Subcommand};
use std::fs::OpenOptions;
use std::io::Write;
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
    /// Writes the base image.
    Base {
        /// Where to write it.
        #[arg(long)]
        out: String,
    },
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
        Cmd::Base { out } => match emfs_fuzz::base_image() {
            Ok(img) => write(&out, &img.bytes),
            Err(e) => {
                eprintln!("emfs-fuzz: {e}");
                exit(8);
            }
        },
    }
}
