//! Unusable inputs to `cargo nosplit --binary` exit with status 2 and one line on stderr that
//! says why, and nothing on stdout.

mod elf_common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    let d = elf_common::workspace().join("target/nosplit-fixtures/inputs");
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// Runs the checker on `path`; returns its one stderr line after asserting status 2.
fn refused(path: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-nosplit"))
        .arg("--binary")
        .arg(path)
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{}: {err}", path.display());
    assert!(
        out.stdout.is_empty(),
        "no partial results: {:?}",
        out.stdout
    );
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
    err
}

/// A minimal ELF header: class, machine; the rest zero.
fn header(class: u8, machine: u16) -> Vec<u8> {
    let mut h = vec![0u8; 64];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = class;
    h[5] = 1; // little-endian
    h[6] = 1;
    h[16] = 2; // ET_EXEC
    h[18..20].copy_from_slice(&machine.to_le_bytes());
    h
}

#[test]
fn missing_file_and_directory() {
    let e = refused(Path::new("/nonexistent/app"));
    assert!(e.contains("cannot read"), "{e}");
    let e = refused(&elf_common::workspace());
    assert!(e.contains("is a directory"), "{e}");
}

#[test]
fn not_elf() {
    let p = scratch("text.txt");
    std::fs::write(&p, "fn main() {}\n").unwrap();
    assert!(refused(&p).contains("not an ELF file"));
    let p = scratch("empty");
    std::fs::write(&p, b"").unwrap();
    assert!(refused(&p).contains("not an ELF file"));
}

#[test]
fn wrong_class_or_machine() {
    let p = scratch("elf32");
    std::fs::write(&p, header(1, 3)).unwrap();
    assert!(refused(&p).contains("32-bit"));
    let p = scratch("aarch64");
    std::fs::write(&p, header(2, 183)).unwrap();
    let e = refused(&p);
    assert!(e.contains("unsupported architecture aarch64"), "{e}");
}

#[test]
fn stripped_truncated_corrupted() {
    let bin = elf_common::build_fixture("stackfix");
    let data = std::fs::read(&bin).unwrap();

    let stripped = scratch("stripped");
    let st = Command::new("objcopy")
        .arg("--strip-all")
        .arg(&bin)
        .arg(&stripped)
        .status();
    if st.is_ok_and(|s| s.success()) {
        let e = refused(&stripped);
        assert!(e.contains("stripped"), "{e}");
    } else {
        eprintln!("skipped the stripped case: objcopy not found");
    }

    // Cut in the middle of the code: sections extend past the end of the file.
    let truncated = scratch("truncated");
    std::fs::write(&truncated, &data[..data.len() / 3]).unwrap();
    let e = refused(&truncated);
    assert!(e.contains("malformed"), "{e}");

    // Only the header.
    let head = scratch("header-only");
    std::fs::write(&head, &data[..64]).unwrap();
    assert!(refused(&head).contains("malformed"));

    // Section header table pointing past the end of the file.
    let mut bad = data.clone();
    bad[0x28..0x30].copy_from_slice(&(data.len() as u64 * 4).to_le_bytes());
    let corrupted = scratch("corrupted");
    std::fs::write(&corrupted, &bad).unwrap();
    assert!(refused(&corrupted).contains("malformed"));
}

/// The library never panics on damaged copies of a real binary (bytes flipped all over).
#[test]
fn damaged_binaries_never_panic() {
    let bin = elf_common::build_fixture("stackfix");
    let data = std::fs::read(&bin).unwrap();
    let opts = cargo_nosplit::elf::Options::default();
    let mut x: u64 = 0x2545f4914f6cdd1d;
    for _ in 0..12 {
        let mut d = data.clone();
        for _ in 0..64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let i = (x as usize) % d.len();
            d[i] = (x >> 32) as u8;
        }
        let _ = cargo_nosplit::elf::analyze(&d, &opts);
    }
}

/// Inputs the fuzzer (`cargo-nosplit/fuzz`, target `elf_reader`) once crashed the reader with.
#[test]
fn fuzz_regressions() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("fuzz-"))
        {
            let data = std::fs::read(&path).unwrap();
            let _ = cargo_nosplit::elf::analyze(&data, &cargo_nosplit::elf::Options::default());
        }
    }
}
