//! The guard without `std`: `tests/fixtures/guardnostd` depends on `nosplit` without its `std`
//! feature (so the runtime keeps one global chain, or asks a state hook) and prints what the
//! guard sees; built in debug, where the guard is on.

use std::path::Path;
use std::process::Command;

#[test]
fn global_chain_and_state_hook() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["run", "--quiet", "--manifest-path"])
        .arg(root.join("tests/fixtures/guardnostd/Cargo.toml"))
        .arg("--target-dir")
        .arg(root.join("target/nosplit-fixtures"))
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("run cargo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "fixture failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = "global 2\n\
                    global-after 0\n\
                    report guardnostd::small: nosplit stack overflow\n\
                    global-after-panic 0\n\
                    hooked 2\n\
                    hooked-other 0\n\
                    hooked-after 0\n";
    assert_eq!(stdout, expected);
}
