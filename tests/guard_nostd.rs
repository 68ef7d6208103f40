//! The guard without `std`: `tests/fixtures/guardnostd` depends on `nosplit` without its `std`
//! feature (so the runtime keeps one global chain, or asks a state hook) and prints what the
//! guard sees; built in debug, where the guard is on.

mod support;

#[test]
fn global_chain_and_state_hook() {
    let out = support::fixture_cargo(None, &support::fixtures_target(""))
        .args(["run", "--quiet", "--manifest-path"])
        .arg(support::workspace().join("tests/fixtures/guardnostd/Cargo.toml"))
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
