//! With the guard off, `#[nosplit]` leaves the machine code alone: the fixture
//! `tests/fixtures/zerocost` has `zc_annotated` (annotated) and, in a crate of its own so
//! that LLVM cannot merge them, `zc_plain` (the same body, unannotated). In a release build
//! their bytes are identical; with the `guard` feature they differ (the test can fail).
//!
//! The fixture is built once per feature set into `<workspace>/target/nosplit-fixtures`.

mod support;

use std::path::{Path, PathBuf};

use object::{Object, ObjectSection, ObjectSymbol};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/zerocost")
}

/// Builds the fixture in release with `features` and returns a copy of the binary.
fn build(features: &[&str], copy_as: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = root.join("target/nosplit-fixtures");
    let mut cmd = support::fixture_cargo(None, &target);
    cmd.arg("build")
        .arg("--release")
        .arg("--manifest-path")
        .arg(fixture_dir().join("Cargo.toml"));
    if !features.is_empty() {
        cmd.arg("--features").arg(features.join(","));
    }
    let out = cmd.output().expect("run cargo");
    assert!(
        out.status.success(),
        "building the zerocost fixture failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let copy = target.join(copy_as);
    std::fs::copy(target.join("release/zerocost"), &copy).expect("copy fixture binary");
    copy
}

/// The bytes of the function symbol `name`, and its address.
fn function_bytes(data: &[u8], name: &str) -> (u64, Vec<u8>) {
    let file = object::File::parse(data).expect("parse fixture ELF");
    let sym = file
        .symbols()
        .find(|s| s.name() == Ok(name))
        .unwrap_or_else(|| panic!("no symbol {name} in the fixture"));
    assert!(sym.size() > 0, "{name} has no size");
    let section = file
        .section_by_index(sym.section_index().expect("defined symbol"))
        .expect("section");
    let start = (sym.address() - section.address()) as usize;
    let bytes = section.data().expect("section data")[start..start + sym.size() as usize].to_vec();
    (sym.address(), bytes)
}

fn registry_section_present(data: &[u8]) -> bool {
    let file = object::File::parse(data).expect("parse fixture ELF");
    let found = file
        .sections()
        .any(|s| s.name().is_ok_and(|n| n.contains("NOSPLIT_REGISTRY")));
    found
}

#[test]
fn annotated_code_is_byte_identical_with_the_guard_off() {
    // One test, so the two builds of the shared fixture run one after the other.
    let off = std::fs::read(build(&[], "zerocost-off")).unwrap();
    let (pa, plain) = function_bytes(&off, "zc_plain");
    let (aa, annotated) = function_bytes(&off, "zc_annotated");
    assert_ne!(
        pa, aa,
        "the two functions were merged into one symbol: nothing compared"
    );
    assert!(
        registry_section_present(&off),
        "the attribute registered nothing"
    );
    assert_eq!(
        plain,
        annotated,
        "guard off: zc_annotated ({} bytes at {aa:#x}) differs from zc_plain ({} bytes at {pa:#x})",
        annotated.len(),
        plain.len()
    );

    let on = std::fs::read(build(&["guard"], "zerocost-guard")).unwrap();
    let (_, plain_on) = function_bytes(&on, "zc_plain");
    let (_, annotated_on) = function_bytes(&on, "zc_annotated");
    assert_eq!(plain_on, plain, "zc_plain itself changed with the feature");
    assert_ne!(
        annotated_on, plain_on,
        "guard feature on: zc_annotated should carry the guard"
    );
    eprintln!(
        "zc_plain {} bytes; zc_annotated {} bytes with the guard off, {} with it on",
        plain.len(),
        annotated.len(),
        annotated_on.len()
    );
}
