//! The whole `--all` analysis of real binaries, side by side with `objdump -d` on the same
//! file (the goal: under a tenth of objdump's time).
//!
//! `cargo bench -p cargo-nosplit --bench binary` times, for the checker's own release binary
//! and for the toolchain's `cargo` (a larger Rust binary, when found), the median of five runs
//! of `cargo-nosplit --binary FILE --all --format json` (reading, decoding, walking every
//! function, the analysis and the report; output discarded) and of `objdump -d FILE`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time(mut cmd: Command, runs: usize) -> Option<Duration> {
    let mut v = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let st = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()?;
        if st.code().is_none_or(|c| c > 1) {
            return None;
        }
        v.push(t.elapsed());
    }
    Some(median(v))
}

fn compare(checker: &Path, file: &Path) {
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    let mut nosplit = Command::new(checker);
    nosplit
        .arg("--binary")
        .arg(file)
        .args(["--all", "--format", "json"]);
    let Some(ours) = time(nosplit, 5) else {
        println!("{}: the checker failed on it", file.display());
        return;
    };
    let mut objdump = Command::new("objdump");
    objdump.arg("-d").arg(file);
    match time(objdump, 5) {
        Some(theirs) => println!(
            "{} ({:.1} MB): cargo-nosplit --all {:.3} s, objdump -d {:.3} s, ratio {:.3}",
            file.display(),
            size as f64 / 1e6,
            ours.as_secs_f64(),
            theirs.as_secs_f64(),
            ours.as_secs_f64() / theirs.as_secs_f64()
        ),
        None => println!(
            "{}: cargo-nosplit --all {:.3} s (objdump not found)",
            file.display(),
            ours.as_secs_f64()
        ),
    }
}

fn toolchain_cargo() -> Option<PathBuf> {
    let out = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .ok()?;
    let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("bin/cargo");
    p.is_file().then_some(p)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too: keep that quick.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let checker = PathBuf::from(env!("CARGO_BIN_EXE_cargo-nosplit"));
    compare(&checker, &checker);
    match toolchain_cargo() {
        Some(c) => compare(&checker, &c),
        None => println!("skipped the larger binary: the toolchain's cargo was not found"),
    }
}
