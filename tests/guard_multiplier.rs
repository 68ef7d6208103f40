//! The unoptimised-build multiplier and the default budget at run time: the default factor,
//! `set_unoptimized_multiplier`, `NOSPLIT_UNOPTIMIZED_MULTIPLIER` (in a child process: it is
//! read once), `set_default_budget`.

mod guard_oracle;

use std::hint::black_box;
use std::panic::catch_unwind;
use std::process::Command;

use guard_oracle::Oracle;
use nosplit::{guard, nosplit};

#[nosplit(budget = 2500)]
#[inline(never)]
fn mul_a(x: u64) -> u64 {
    let buf = black_box([x; 8]);
    mul_b(buf[1]) + buf[2]
}

#[inline(never)]
fn mul_b(x: u64) -> u64 {
    let buf = black_box([x; 256]);
    buf[3] + mul_c(x)
}

#[nosplit(budget = 60000)]
#[inline(never)]
fn mul_c(x: u64) -> u64 {
    black_box(x) + 1
}

#[nosplit]
#[inline(never)]
fn dflt(x: u64) -> u64 {
    let buf = black_box([x; 64]);
    buf[1] + mul_c(x)
}

fn guard_on() -> bool {
    let on = cfg!(debug_assertions);
    if !on {
        eprintln!("skipped: the multiplier applies to builds with debug assertions only");
    }
    on
}

fn report_of(f: impl FnOnce() -> u64 + std::panic::UnwindSafe) -> String {
    *catch_unwind(f)
        .expect_err("the guard did not fire")
        .downcast::<String>()
        .expect("a report")
}

/// Needed below mul_a's entry when mul_c's guard runs.
fn chain_need(o: &Oracle) -> u64 {
    o.frame("guard_multiplier::mul_a")
        + 8
        + o.frame("guard_multiplier::mul_b")
        + 8
        + o.frame("guard_multiplier::mul_c")
}

#[test]
fn multiplier_and_default_budget() {
    if !guard_on() || std::env::var_os("NOSPLIT_GUARD_CHILD").is_some() {
        return;
    }
    let need = chain_need(&Oracle::load());
    assert!(need > 2500 && need <= 10000, "fixture: {need}");

    // The default factor, 4, lets the debug frames through.
    assert_eq!(
        guard::unoptimized_multiplier(),
        nosplit_runtime_default_multiplier()
    );
    assert_eq!(mul_a(1), 1 + 1 + (1 + 1));

    // Factor 1: the literal budget, and the report says which factor applied.
    nosplit::set_unoptimized_multiplier(1);
    let report = report_of(|| mul_a(2));
    assert!(report.starts_with("guard_multiplier::mul_a: nosplit stack overflow\n\t2500\t"));
    assert!(report.ends_with("(budget × 1: unoptimised build; see docs/GUARD.md)"));
    assert!(
        report.contains(&format!("\t{}\tafter", 2500 - need as i64)),
        "{report}"
    );

    // Factor 2 scales the budget in the report's first line.
    nosplit::set_unoptimized_multiplier(2);
    let report = report_of(|| mul_a(3)).to_string();
    if need > 5000 {
        assert!(report.contains("\t5000\tassumed on entry"), "{report}");
    }
    nosplit::set_unoptimized_multiplier(4);

    // `#[nosplit]` without a number: the default budget, settable at run time.
    let d = dflt_need(&Oracle::load());
    nosplit::set_default_budget(((d - 1) / 4) as u32); // × 4: just too small
    let report = report_of(|| dflt(1));
    assert!(
        report.starts_with("guard_multiplier::dflt: nosplit stack overflow"),
        "{report}"
    );
    nosplit::set_default_budget(d.div_ceil(4) as u32); // × 4: just enough
    assert_eq!(dflt(1), 1 + 2);
}

fn dflt_need(o: &Oracle) -> u64 {
    o.frame("guard_multiplier::dflt") + 8 + o.frame("guard_multiplier::mul_c")
}

fn nosplit_runtime_default_multiplier() -> u32 {
    4 // config::UNOPTIMIZED_MULTIPLIER, as documented in docs/GUARD.md
}

/// Runs `env_child` in a child process with `NOSPLIT_UNOPTIMIZED_MULTIPLIER=value`.
fn child(value: &str, expect: u32) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "env_child", "--nocapture", "--test-threads=1"])
        .env("NOSPLIT_GUARD_CHILD", expect.to_string())
        .env("NOSPLIT_UNOPTIMIZED_MULTIPLIER", value)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child with {value:?}:\n{stdout}\n{stderr}"
    );
    if expect == 4 {
        assert!(
            stderr.contains("nosplit: ignoring NOSPLIT_UNOPTIMIZED_MULTIPLIER"),
            "{stderr}"
        );
    }
}

#[test]
fn multiplier_from_the_environment() {
    if !guard_on() || std::env::var_os("NOSPLIT_GUARD_CHILD").is_some() {
        return;
    }
    child("1", 1);
    child("3", 3);
    child("zero", 4);
}

#[test]
fn env_child() {
    let Some(expect) = std::env::var_os("NOSPLIT_GUARD_CHILD") else {
        return;
    };
    let expect: u32 = expect.to_str().unwrap().parse().unwrap();
    assert_eq!(guard::unoptimized_multiplier(), expect);
    let need = chain_need(&Oracle::load()) as u32;
    if need > 2500 * expect {
        report_of(|| mul_a(4));
    } else {
        assert_eq!(mul_a(4), 4 + 4 + (4 + 1));
    }
}
