// SPDX-License-Identifier: GPL-2.0

//! `emfs-fuzz run`: the guest's side of the fuzzing, many images in one process.
//!
//! For each image: write it to the device; mount it; if mounted, list and read every file
//! (bounded, four directories deep), and if read-write also write and fsync a file, truncate
//! one and unlink one, make a directory, a link and a symlink, rename and remove a directory;
//! unmount; check that no extent map stayed alive; run fsck (the library, in-process) on the
//! device. Under TCG a process costs milliseconds, and the shell version of this loop started
//! about fifteen per image; this one starts none.
//!
//! Allowed outcomes: refused with a kernel message from emfs (fsck 4 or 8), mounted read-only
//! (fsck 4 or 8), mounted read-write with fsck clean afterwards. A step that takes longer than
//! its limit ends the process (exit 3) with the image named: a hang.

use emfs_tools::fsck::{exit as code, fsck};
use nix::mount::{mount, umount, MsFlags};
use nix::sys::statvfs::{statvfs, FsFlags};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// What one image led to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The mount was refused (with a message).
    Refused,
    /// Mounted read-only: the kernel found metadata it does not trust.
    ReadOnly,
    /// Mounted read-write, and fsck found it clean afterwards.
    ReadWrite,
}

/// The kernel log from where it was opened on, read without blocking (`/dev/kmsg`).
pub struct Kmsg {
    file: File,
    /// Every line read, for the caller's scan for kernel reports.
    log: File,
}

impl Kmsg {
    /// Opens `/dev/kmsg` at its end; what is read is also appended to `log`.
    pub fn open(log: &Path) -> std::io::Result<Self> {
        let mut file = OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NONBLOCK)
            .open("/dev/kmsg")?;
        file.seek(SeekFrom::End(0))?;
        let log = OpenOptions::new().create(true).append(true).open(log)?;
        Ok(Self { file, log })
    }

    /// The messages logged since the last call (the text after each record's header).
    pub fn drain(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        let mut buf = vec![0u8; 8192];
        loop {
            match self.file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let rec = String::from_utf8_lossy(&buf[..n]);
                    let text = rec.split_once(';').map_or(&*rec, |(_, t)| t);
                    let text = text.lines().next().unwrap_or("").to_string();
                    let _ = writeln!(self.log, "{text}");
                    lines.push(text);
                }
                // Records overwritten before we read them: go on with the next ones.
                Err(e) if e.raw_os_error() == Some(nix::libc::EPIPE) => continue,
                Err(_) => break,
            }
        }
        lines
    }
}

/// Ends the process if a step outlives its limit: a hung mount, read or unmount.
#[derive(Clone)]
pub struct Watchdog(Arc<Mutex<Option<(Instant, String)>>>);

impl Watchdog {
    /// Starts the watchdog thread.
    pub fn start() -> Self {
        let w = Watchdog(Arc::new(Mutex::new(None)));
        let armed = w.0.clone();
        thread::spawn(move || loop {
            thread::sleep(Duration::from_millis(100));
            let guard = armed.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((deadline, what)) = &*guard {
                if Instant::now() > *deadline {
                    println!("HUNG: {what}");
                    let _ = std::io::stdout().flush();
                    std::process::exit(3);
                }
            }
        });
        w
    }

    /// `what` must finish within `secs`.
    pub fn arm(&self, secs: u64, what: String) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now() + Duration::from_secs(secs), what));
    }

    /// The step finished.
    pub fn disarm(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

fn maps_alive() -> Result<u64, String> {
    let s = fs::read_to_string("/sys/kernel/debug/extmap/maps_alive")
        .map_err(|e| format!("maps_alive: {e}"))?;
    s.trim().parse().map_err(|e| format!("maps_alive: {e}"))
}

/// Lists and reads every regular file (1 MiB at most each) and every symlink, walking
/// directories `depth` deep; errors are allowed (damaged metadata). Nothing else is opened: a
/// FIFO blocks, and a device node opens whatever device it names.
fn read_all(dir: &Path, depth: u32, buf: &mut [u8]) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        let t = meta.file_type();
        if t.is_dir() && depth > 0 {
            read_all(&path, depth - 1, buf);
        } else if t.is_symlink() {
            let _ = fs::read_link(&path);
        } else if t.is_file() {
            if let Ok(f) = File::open(&path) {
                let mut f = f.take(1 << 20);
                while let Ok(n) = f.read(buf) {
                    if n == 0 {
                        break;
                    }
                }
            }
        }
    }
}

/// Write and fsync a new file, truncate one, unlink one; make, link, rename and remove in the
/// tree. Errors are allowed (a full disk, damaged metadata found on the way).
fn modify(mnt: &Path) {
    let home = mnt.join("d");
    if let Ok(mut f) = File::create(home.join("new")) {
        let _ = f.write_all(&[0u8; 12288]).and_then(|()| f.sync_all());
    }
    if let Ok(f) = OpenOptions::new().write(true).open(home.join("many")) {
        let _ = f.set_len(4097);
    }
    let _ = fs::remove_file(home.join("small"));
    let _ = fs::create_dir(mnt.join("new-dir"));
    let _ = fs::hard_link(home.join("many"), mnt.join("new-dir/many-again"));
    let _ = std::os::unix::fs::symlink("../d/many", mnt.join("new-dir/link"));
    let _ = fs::rename(home.join("sub"), mnt.join("new-dir/sub"));
    let _ = fs::remove_dir(mnt.join("big"));
    let _ = fs::remove_file(
        mnt.join("big/000-nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"),
    );
    if let Ok(f) = File::open(mnt.join("new-dir")) {
        let _ = f.sync_all();
    }
}

/// Runs image `index` of `seed` through the kernel; `Err` says why its outcome is not allowed.
pub fn run_image(
    seed: u64,
    index: u64,
    dev: &Path,
    mnt: &Path,
    kmsg: &mut Kmsg,
    dog: &Watchdog,
) -> Result<Outcome, String> {
    let (img, _) = emfs_fuzz::image(seed, index)?;
    OpenOptions::new()
        .write(true)
        .open(dev)
        .and_then(|mut f| f.write_all(&img.bytes).and_then(|()| f.sync_all()))
        .map_err(|e| format!("writing the image: {e}"))?;
    let alive = maps_alive()?;
    kmsg.drain();
    let name = format!("image {seed}/{index}");

    dog.arm(20, format!("{name}: mount"));
    let mounted = mount(Some(dev), mnt, Some("emfs"), MsFlags::empty(), None::<&str>);
    dog.disarm();
    let outcome = match mounted {
        Err(_) => {
            if !kmsg.drain().iter().any(|l| l.contains("emfs")) {
                return Err("refused without a message".into());
            }
            Outcome::Refused
        }
        Ok(()) => {
            let ro = statvfs(mnt)
                .map(|s| s.flags().contains(FsFlags::ST_RDONLY))
                .unwrap_or(false);
            dog.arm(20, format!("{name}: list and read"));
            read_all(mnt, 4, &mut vec![0u8; 65536]);
            if !ro {
                dog.arm(20, format!("{name}: write, fsync, truncate, unlink"));
                modify(mnt);
            }
            dog.arm(30, format!("{name}: umount"));
            let r = umount(mnt);
            dog.disarm();
            r.map_err(|e| format!("umount: {e}"))?;
            if ro {
                Outcome::ReadOnly
            } else {
                Outcome::ReadWrite
            }
        }
    };
    let now = maps_alive()?;
    if now != alive {
        return Err(format!("extent maps left alive: {now}, were {alive}"));
    }
    let mut f = File::open(dev).map_err(|e| format!("fsck: {e}"))?;
    // A device fsck cannot read through is exit 8, as fsck.emfs reports it.
    let rc = fsck(&mut f).map_or(code::OPERATIONAL, |r| r.exit_code());
    kmsg.drain();
    match (outcome, rc) {
        (Outcome::ReadWrite, code::CLEAN)
        | (Outcome::ReadOnly | Outcome::Refused, code::ERRORS | code::OPERATIONAL) => Ok(outcome),
        _ => Err(format!("{outcome:?}, fsck exit {rc}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// The walk reads regular files four directories deep and opens nothing else: a FIFO
    /// (which would block the walk forever) and a symlink loop are passed by.
    #[test]
    fn read_all_opens_only_regular_files() {
        let top = std::env::temp_dir().join(format!("emfs-fuzz-walk-{}", std::process::id()));
        let _ = fs::remove_dir_all(&top);
        let deep = top.join("a/b/c/d/e");
        fs::create_dir_all(&deep).unwrap();
        fs::write(top.join("a/file"), b"data").unwrap();
        fs::write(deep.join("too-deep"), b"data").unwrap();
        nix::unistd::mkfifo(&top.join("a/fifo"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        std::os::unix::fs::symlink("loop", top.join("a/loop")).unwrap();
        let (tx, rx) = mpsc::channel();
        let walk = top.clone();
        thread::spawn(move || {
            read_all(&walk, 4, &mut [0u8; 4096]);
            let _ = tx.send(());
        });
        let done = rx.recv_timeout(Duration::from_secs(10));
        let _ = fs::remove_dir_all(&top);
        assert!(done.is_ok(), "the walk blocked (it opened the FIFO?)");
    }
}
