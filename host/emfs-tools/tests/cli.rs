// SPDX-License-Identifier: GPL-2.0

//! The command lines of mkfs.emfs and fsck.emfs: `--help` and `--version`, long options, the
//! documented exit codes (fsck: 16 for a usage error; mkfs: 1), `fsck.emfs -n` never writing.

use std::process::{Command, Output};

fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin).args(args).output().expect("run")
}

const FSCK: &str = env!("CARGO_BIN_EXE_fsck-emfs");
const MKFS: &str = env!("CARGO_BIN_EXE_mkfs-emfs");

fn image(name: &str, bytes: u64) -> String {
    let path = std::env::temp_dir().join(format!("emfs-cli-{}-{name}", std::process::id()));
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(bytes).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn help_and_version() {
    for bin in [FSCK, MKFS] {
        let h = run(bin, &["--help"]);
        assert_eq!(h.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&h.stdout).contains("Usage: "));
        let v = run(bin, &["--version"]);
        assert_eq!(v.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&v.stdout).contains(".emfs "));
    }
}

#[test]
fn usage_errors() {
    assert_eq!(run(FSCK, &[]).status.code(), Some(16));
    assert_eq!(run(FSCK, &["--bogus", "x"]).status.code(), Some(16));
    assert_eq!(run(FSCK, &["a", "b"]).status.code(), Some(16));
    let err = run(FSCK, &["--bogus", "x"]);
    assert!(String::from_utf8_lossy(&err.stderr).contains("unexpected argument"));
    assert_eq!(run(MKFS, &[]).status.code(), Some(1));
    assert_eq!(run(MKFS, &["-e", "4", "x"]).status.code(), Some(1));
    assert_eq!(run(MKFS, &["-n", "many", "x"]).status.code(), Some(1));
}

#[test]
fn long_options_make_what_fsck_accepts_and_fsck_n_never_writes() {
    let img = image("long", 4 << 20);
    let made = run(
        MKFS,
        &["--blocks", "512", "--inode-table-blocks", "2", &img],
    );
    assert_eq!(made.status.code(), Some(0), "{made:?}");
    let before = std::fs::read(&img).unwrap();
    for args in [vec!["-n", &img], vec!["--no-changes", "-f", &img]] {
        let out = run(FSCK, &args);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("clean"));
    }
    // Damaged: fsck reports (exit 4) and still writes nothing.
    let mut bytes = before.clone();
    bytes[4096 * 2 + 10] ^= 1; // the inode table: the root's checksum breaks
    std::fs::write(&img, &bytes).unwrap();
    assert_eq!(run(FSCK, &["-n", &img]).status.code(), Some(4));
    assert_eq!(std::fs::read(&img).unwrap(), bytes);
    std::fs::remove_file(&img).unwrap();
}

#[test]
fn missing_device_is_an_operational_error() {
    assert_eq!(run(FSCK, &["/nonexistent/emfs"]).status.code(), Some(8));
    assert_eq!(run(MKFS, &["/nonexistent/emfs"]).status.code(), Some(1));
}

#[test]
fn format_2_copies_a_tree_that_fsck_finds_clean() {
    let src = std::env::temp_dir().join(format!("emfs-cli-{}-tree", std::process::id()));
    let _ = std::fs::remove_dir_all(&src);
    std::fs::create_dir_all(src.join("a/b/c")).unwrap();
    std::fs::write(src.join("a/b/c/f"), vec![7u8; 20000]).unwrap();
    std::os::unix::fs::symlink("a/b/c/f", src.join("s")).unwrap();
    let img = image("tree.img", 4 << 20);
    let made = run(
        MKFS,
        &["--format-version", "2", "-d", src.to_str().unwrap(), &img],
    );
    std::fs::remove_dir_all(&src).unwrap();
    assert_eq!(made.status.code(), Some(0), "{made:?}");
    let out = run(FSCK, &[&img]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(text.contains("clean: format 2"), "{text}");
    assert!(
        text.contains("1 files, 4 directories, 1 symlinks"),
        "{text}"
    );
    assert_eq!(
        run(MKFS, &["--format-version", "3", &img]).status.code(),
        Some(1)
    );
    assert_eq!(
        run(MKFS, &["--format-version", "2", "-d", "/", "-g", &img])
            .status
            .code(),
        Some(1)
    );
    // A version fsck does not know, in the only valid slot: no superblock to check from.
    let mut b = std::fs::read(&img).unwrap();
    b[8] = 9;
    let csum = crc32c::crc32c(&b[..4092]);
    b[4092..4096].copy_from_slice(&csum.to_le_bytes());
    std::fs::write(&img, &b).unwrap();
    let out = run(FSCK, &[&img]);
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("slot 0: format version 9 is not supported"),
        "{text}"
    );
    assert!(text.contains("no valid superblock"), "{text}");
    std::fs::remove_file(&img).unwrap();
}

/// A file system of format version 1 (`mkfs.emfs --format-version 1` writes its superblock)
/// is refused by fsck.emfs as by the mount: exit 8 and the mount's message; version 2, made
/// over it, is checked again. There is no tree of version 1 to make.
#[test]
fn format_1_is_refused() {
    let img = image("v1", 4 << 20);
    let made = run(MKFS, &["--format-version", "1", "-d", "/", &img]);
    assert_eq!(made.status.code(), Some(1), "{made:?}");
    let made = run(MKFS, &["--format-version", "1", &img]);
    assert_eq!(made.status.code(), Some(0), "{made:?}");
    let out = run(FSCK, &[&img]);
    assert_eq!(out.status.code(), Some(8), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains(emfs_tools::superblock::V1_REFUSED));
    assert_eq!(run(MKFS, &[&img]).status.code(), Some(0));
    assert_eq!(run(FSCK, &[&img]).status.code(), Some(0));
    std::fs::remove_file(&img).unwrap();
}
