use super::*;

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("systole-fsio-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn names(d: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[cfg(unix)]
fn is_char_device(p: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(p)
        .map(|m| m.file_type().is_char_device())
        .unwrap_or(false)
}

#[test]
fn writes_and_replaces_a_regular_file_leaving_no_temporary() {
    let d = tmpdir("regular");
    let p = d.join("out.bin");
    write_atomic(&p, b"one").unwrap();
    write_atomic(&p, b"two!").unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), b"two!");
    assert_eq!(names(&d), ["out.bin"]);
    // A name near the 255-byte limit must not fail because of the temporary's suffix.
    let long = d.join("x".repeat(250));
    write_atomic(&long, b"long").unwrap();
    assert_eq!(std::fs::read(&long).unwrap(), b"long");
    let _ = std::fs::remove_dir_all(&d);
}

#[cfg(unix)]
#[test]
fn a_symlink_stays_a_link_and_its_target_is_written() {
    let d = tmpdir("symlink");
    std::fs::create_dir_all(d.join("real")).unwrap();
    let target = d.join("real/t.txt");
    std::fs::write(&target, b"old").unwrap();
    let link = d.join("link.txt");
    std::os::unix::fs::symlink("real/t.txt", &link).unwrap();
    write_atomic(&link, b"new").unwrap();
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read(&target).unwrap(), b"new");
    assert_eq!(names(&d.join("real")), ["t.txt"]);
    // A dangling link names the file to create.
    let dangling = d.join("dangling.txt");
    std::os::unix::fs::symlink("real/created.txt", &dangling).unwrap();
    write_atomic(&dangling, b"made").unwrap();
    assert!(std::fs::symlink_metadata(&dangling)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read(d.join("real/created.txt")).unwrap(), b"made");
    let _ = std::fs::remove_dir_all(&d);
}

#[cfg(unix)]
#[test]
fn devices_are_written_into_never_replaced() {
    let null = Path::new("/dev/null");
    if !is_char_device(null) {
        return;
    }
    write_atomic(null, b"discarded").unwrap();
    assert!(is_char_device(null), "/dev/null is no longer a device");
    let full = Path::new("/dev/full");
    if is_char_device(full) {
        let e = write_atomic(full, &[0u8; 4096]).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(28), "{e}"); // ENOSPC
        assert!(is_char_device(full), "/dev/full is no longer a device");
    }
    // A symlink to a device: written through, the link kept.
    let d = tmpdir("devlink");
    let link = d.join("sink");
    std::os::unix::fs::symlink(null, &link).unwrap();
    write_atomic(&link, b"x").unwrap();
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(is_char_device(null));
    assert_eq!(names(&d), ["sink"]);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_directory_is_not_an_output() {
    let d = tmpdir("dir-out");
    let e = write_atomic(&d, b"x").unwrap_err();
    assert!(e.to_string().contains("is a directory"), "{e}");
    let _ = std::fs::remove_dir_all(&d);
}

#[cfg(unix)]
#[test]
fn inputs_must_be_regular_files_within_the_limit() {
    let d = tmpdir("inputs");
    let p = d.join("in.bin");
    std::fs::write(&p, [7u8; 100]).unwrap();
    assert_eq!(read_limited(&p, 100, None).unwrap().len(), 100);
    let e = read_limited(&p, 99, Some("--max-file-bytes")).unwrap_err();
    let m = e.to_string();
    assert!(
        m.contains("100 bytes") && m.contains("at most 99 bytes") && m.contains("--max-file-bytes"),
        "{m}"
    );
    let e = read_limited(Path::new("/dev/zero"), 1 << 20, None).unwrap_err();
    assert!(
        e.to_string()
            .contains("is a character device, expected a regular file"),
        "{e}"
    );
    let e = read_limited(&d, 1 << 20, None).unwrap_err();
    assert!(e.to_string().contains("is a directory"), "{e}");
    // A FIFO is refused without blocking (opening it for reading would wait for a writer).
    let fifo = d.join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    if made {
        let e = read_limited(&fifo, 1 << 20, None).unwrap_err();
        assert!(e.to_string().contains("FIFO"), "{e}");
    }
    std::fs::write(d.join("bad.txt"), [b'a', 0xff]).unwrap();
    let e = read_input_string(&d.join("bad.txt")).unwrap_err();
    assert!(e.to_string().contains("not UTF-8"), "{e}");
    let _ = std::fs::remove_dir_all(&d);
}

#[cfg(unix)]
#[test]
fn same_file_sees_through_spellings_and_links() {
    let d = tmpdir("same");
    let a = d.join("a.npy");
    let b = d.join("b.npy");
    std::fs::write(&a, b"a").unwrap();
    std::fs::write(&b, b"a").unwrap();
    assert!(same_file(&a, &d.join(".").join("a.npy")));
    assert!(!same_file(&a, &b));
    std::fs::hard_link(&a, d.join("hard.npy")).unwrap();
    assert!(same_file(&a, &d.join("hard.npy")));
    std::os::unix::fs::symlink(&a, d.join("soft.npy")).unwrap();
    assert!(same_file(&d.join("soft.npy"), &a));
    assert!(!same_file(&a, &d.join("missing.npy")));
    let _ = std::fs::remove_dir_all(&d);
}
