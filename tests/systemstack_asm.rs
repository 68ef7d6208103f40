//! The assembly switch routines, driven from C (`tests/systemstack_asm/driver.c`): the
//! x86_64 one natively, the AArch64 one with Debian's cross compiler under `qemu-aarch64`
//! (skipped with a message when those tools are absent). The driver checks the value
//! passed through, that the callee ran on the given stack (or on the current one for a
//! null top), that the caller's frame and callee-saved registers survive, and that the
//! unwinder walks from the other stack back through the switch (its CFI) into `main`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Builds the driver with `cc` and the routine `asm`, runs it (through `runner` if any) and
/// checks that it prints `ok`.
fn drive(cc: &str, asm: &str, runner: Option<&str>, out_name: &str) {
    let out_dir = root().join("target/nosplit-fixtures/systemstack-asm");
    std::fs::create_dir_all(&out_dir).unwrap();
    let exe = out_dir.join(out_name);
    let asm = root().join("nosplit-runtime/src/systemstack").join(asm);
    let driver = root().join("tests/systemstack_asm/driver.c");
    let st = Command::new(cc)
        .args(["-O2", "-g", "-static", "-o"])
        .arg(&exe)
        .arg(&driver)
        .arg(&asm)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{cc} failed:\n{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let out = match runner {
        Some(r) => Command::new(r).arg(&exe).output(),
        None => Command::new(Path::new(&exe)).output(),
    }
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.trim() == "ok",
        "{out_name}: {:?}\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn x86_64_switch_from_c() {
    if !have("cc") {
        println!("skipped: no C compiler (cc)");
        return;
    }
    drive("cc", "switch_x86_64.s", None, "driver-x86_64");
}

#[test]
fn aarch64_switch_under_qemu() {
    let (cc, qemu) = ("aarch64-linux-gnu-gcc", "qemu-aarch64");
    if !have(cc) || !have(qemu) {
        println!(
            "skipped: {cc} or {qemu} not found (apt-get install gcc-aarch64-linux-gnu \
             libc6-dev-arm64-cross qemu-user)"
        );
        return;
    }
    drive(cc, "switch_aarch64.s", Some(qemu), "driver-aarch64");
}
