// SPDX-License-Identifier: GPL-2.0

//! extmap-diff: differential testing of extmap against btrfs's own `extent_map.c`.
//!
//! Seeded random scripts of extent-map operations (`gen`) run on two interpreters in the same
//! kernel: btrfs's, added to its sanity-test code by the project's kernel patch
//! (`/sys/kernel/debug/btrfs_tests/extent_map_script`), and extmap's
//! (`/sys/kernel/debug/extmap/script`). Their answers are compared line by line; on the first
//! difference the script is shrunk and saved so that `extmap-diff replay FILE` plays it again.
//! See `Documentation/extmap-script.rst`.

mod diff;
mod gen;
mod paths;

use clap::{Parser, Subcommand};
use diff::{run_both, shrink, CmdFile, Side};
use paths::Paths;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const BTRFS_SCRIPT: &str = "/sys/kernel/debug/btrfs_tests/extent_map_script";
const EXTMAP_DIR: &str = "/sys/kernel/debug/extmap";

#[derive(Parser)]
#[command(
    version,
    about = "Differential testing of extmap against btrfs's extent_map.c"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Print the script of one seed.
    Gen {
        #[arg(long)]
        seed: u64,
        #[arg(long, default_value_t = 2000)]
        ops: usize,
    },
    /// Run seeds on both interpreters and compare; prints "ok NAME" / "not ok NAME" lines and
    /// "# " comments, and exits 1 if any check failed.
    Run {
        /// First seed.
        #[arg(long, default_value_t = 1)]
        first_seed: u64,
        /// Number of seeds.
        #[arg(long, default_value_t = 20)]
        seeds: u64,
        /// Operations per seed.
        #[arg(long, default_value_t = 2000)]
        ops: usize,
        /// One summary line for all seeds instead of one per seed.
        #[arg(long)]
        summary_only: bool,
        /// Succeed only if some seed differs (a mutant must be caught).
        #[arg(long)]
        expect_difference: bool,
        /// Where shrunk scripts are saved.
        #[arg(long, default_value = "/tmp")]
        save_dir: PathBuf,
        #[arg(long, default_value = BTRFS_SCRIPT)]
        btrfs: PathBuf,
        #[arg(long, default_value = EXTMAP_DIR)]
        extmap_dir: PathBuf,
    },
    /// Run one script file on one interpreter (`btrfs` or `extmap`) and print its answers.
    Exec {
        side: String,
        file: PathBuf,
        #[arg(long, default_value = BTRFS_SCRIPT)]
        btrfs: PathBuf,
        #[arg(long, default_value = EXTMAP_DIR)]
        extmap_dir: PathBuf,
    },
    /// Run one script file on both interpreters and print the first difference.
    Replay {
        file: PathBuf,
        #[arg(long, default_value = BTRFS_SCRIPT)]
        btrfs: PathBuf,
        #[arg(long, default_value = EXTMAP_DIR)]
        extmap_dir: PathBuf,
    },
}

/// extmap's counters that tell paths the answers cannot show.
const COUNTERS: &[&str] = &["merges", "merges_refused", "eexist_resolved", "splits"];

fn counter(dir: &Path, name: &str) -> u64 {
    std::fs::read_to_string(dir.join(name))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// The closing line of a script's answers must say that every map was released.
fn clean_end(answers: &str) -> bool {
    answers
        .lines()
        .last()
        .is_some_and(|l| l.starts_with("end ") && l.ends_with(" refs_ok=1"))
}

struct Run<'a> {
    btrfs: &'a dyn Side,
    extmap: &'a dyn Side,
    extmap_dir: &'a Path,
    save_dir: &'a Path,
    paths: Paths,
    failed: bool,
}

impl Run<'_> {
    fn verdict(&mut self, ok: bool, name: &str) {
        println!("{} {}", if ok { "ok" } else { "not ok" }, name);
        self.failed |= !ok;
    }

    /// Runs one seed; `Some(op line)` if the sides differ.
    fn seed(&mut self, seed: u64, ops: usize, quiet: bool) -> std::io::Result<Option<usize>> {
        let script = gen::script(seed, ops);
        let before: Vec<u64> = COUNTERS
            .iter()
            .map(|c| counter(self.extmap_dir, c))
            .collect();
        let alive = counter(self.extmap_dir, "maps_alive");
        let (d, answers) = run_both(self.btrfs, self.extmap, &script)?;
        for (c, b) in COUNTERS.iter().zip(before) {
            self.paths
                .add(c, counter(self.extmap_dir, c).saturating_sub(b));
        }
        self.paths.count(&script, &answers);
        let leak_free = clean_end(&answers) && counter(self.extmap_dir, "maps_alive") == alive;
        let name = format!("extmap_diff: seed {seed}: btrfs and extmap answer alike");
        let Some(d) = d else {
            if !leak_free {
                println!("# seed {seed}: the script did not end with every map released");
                self.verdict(false, &name);
            } else if !quiet {
                self.verdict(true, &name);
            }
            return Ok(None);
        };
        println!(
            "# seed {seed}: first difference at script line {}",
            d.op_line
        );
        println!("#   btrfs:  {}", d.btrfs);
        println!("#   extmap: {}", d.extmap);
        let small = shrink(self.btrfs, self.extmap, &script)?;
        let file = self.save_dir.join(format!("extmap-diff-seed{seed}.script"));
        let header = format!(
            "# extmap-diff: seed {seed}, shrunk from {} to {} operations\n# first difference (unshrunk) at line {}:\n#   btrfs:  {}\n#   extmap: {}\n",
            gen::count_ops(&script),
            gen::count_ops(&small),
            d.op_line,
            d.btrfs,
            d.extmap
        );
        std::fs::write(&file, header + &small)?;
        if let (Some(d), _) = run_both(self.btrfs, self.extmap, &small)? {
            println!(
                "# shrunk to {} operations; differs at line {}:",
                gen::count_ops(&small),
                d.op_line
            );
            println!("#   btrfs:  {}", d.btrfs);
            println!("#   extmap: {}", d.extmap);
        }
        for l in small.lines() {
            println!("#   | {l}");
        }
        println!(
            "# saved as {}; replay: extmap-diff replay {}",
            file.display(),
            file.display()
        );
        if !quiet {
            self.verdict(false, &name);
        }
        Ok(Some(d.op_line))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Gen { seed, ops } => {
            print!("{}", gen::script(seed, ops));
            Ok(true)
        }
        Cmd::Exec {
            side,
            file,
            btrfs,
            extmap_dir,
        } => {
            let path = match side.as_str() {
                "btrfs" => btrfs,
                "extmap" => extmap_dir.join("script"),
                _ => {
                    eprintln!("extmap-diff: the side is btrfs or extmap, not {side}");
                    return ExitCode::from(2);
                }
            };
            std::fs::read_to_string(&file)
                .and_then(|script| CmdFile(path).run(&script))
                .map(|answers| {
                    print!("{answers}");
                    true
                })
        }
        Cmd::Replay {
            file,
            btrfs,
            extmap_dir,
        } => replay(&file, &btrfs, &extmap_dir),
        Cmd::Run {
            first_seed,
            seeds,
            ops,
            summary_only,
            expect_difference,
            save_dir,
            btrfs,
            extmap_dir,
        } => {
            let (b, e) = (CmdFile(btrfs), CmdFile(extmap_dir.join("script")));
            let mut run = Run {
                btrfs: &b,
                extmap: &e,
                extmap_dir: &extmap_dir,
                save_dir: &save_dir,
                paths: Paths::default(),
                failed: false,
            };
            run_seeds(
                &mut run,
                first_seed,
                seeds,
                ops,
                summary_only,
                expect_difference,
            )
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("extmap-diff: {e}");
            ExitCode::from(2)
        }
    }
}

fn run_seeds(
    run: &mut Run<'_>,
    first: u64,
    seeds: u64,
    ops: usize,
    summary_only: bool,
    expect_difference: bool,
) -> std::io::Result<bool> {
    let mut caught = None;
    for seed in first..first + seeds {
        if let Some(line) = run.seed(seed, ops, summary_only || expect_difference)? {
            caught.get_or_insert((seed, line));
            if expect_difference {
                break;
            }
        }
    }
    let total = seeds * ops as u64;
    if expect_difference {
        let name = "extmap_diff: the mutant is caught";
        match caught {
            Some((seed, line)) => println!("# caught by seed {seed} at script line {line}"),
            None => println!("# {seeds} seeds x {ops} operations ran without a difference"),
        }
        run.failed = false;
        run.verdict(caught.is_some(), name);
        return Ok(caught.is_some());
    }
    if summary_only {
        let name =
            format!("extmap_diff: {seeds} seeds x {ops} operations: btrfs and extmap answer alike");
        run.verdict(caught.is_none() && !run.failed, &name);
    }
    let counts: Vec<String> = run
        .paths
        .0
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    println!("# {total} operations; paths reached: {}", counts.join(" "));
    let missing = run.paths.missing();
    if !missing.is_empty() {
        println!("# never reached: {}", missing.join(" "));
    }
    run.verdict(
        missing.is_empty(),
        "extmap_diff: every required path was reached",
    );
    Ok(!run.failed)
}

fn replay(file: &Path, btrfs: &Path, extmap_dir: &Path) -> std::io::Result<bool> {
    let script = std::fs::read_to_string(file)?;
    let (b, e) = (CmdFile(btrfs.into()), CmdFile(extmap_dir.join("script")));
    match run_both(&b, &e, &script)?.0 {
        None => {
            println!("identical answers ({} operations)", gen::count_ops(&script));
            Ok(true)
        }
        Some(d) => {
            println!("first difference at script line {}:", d.op_line);
            println!("  btrfs:  {}", d.btrfs);
            println!("  extmap: {}", d.extmap);
            Ok(false)
        }
    }
}
