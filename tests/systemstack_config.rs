//! Size configuration and overflow of the per-thread system stack. Each case runs in a
//! child process (the size is process-wide and fixed at first use; an overflow aborts).

use std::process::{Command, Output};

use nosplit::systemstack;

const CHILD: &str = "NOSPLIT_SYSTEMSTACK_CONFIG_CHILD";

/// Runs test `name` alone in a child process with `env` set; `None` in the child itself.
fn child(name: &str, env: &[(&str, &str)]) -> Option<Output> {
    if std::env::var(CHILD).as_deref() == Ok(name) {
        return None;
    }
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([name, "--exact", "--test-threads=1", "--nocapture"])
        .env(CHILD, name)
        .env_remove(systemstack::ENV_VAR);
    for (k, v) in env {
        cmd.env(k, v);
    }
    Some(cmd.output().unwrap())
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The size of the mapping that holds `addr`, from /proc/self/maps.
fn mapping_len(addr: usize) -> usize {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    for l in maps.lines() {
        let range = l.split_whitespace().next().unwrap();
        let (a, b) = range.split_once('-').unwrap();
        let (a, b) = (
            usize::from_str_radix(a, 16).unwrap(),
            usize::from_str_radix(b, 16).unwrap(),
        );
        if a <= addr && addr < b {
            return b - a;
        }
    }
    panic!("{addr:#x} is not mapped")
}

#[inline(never)]
fn sp() -> usize {
    let x = 0u8;
    std::hint::black_box(&x) as *const u8 as usize
}

/// Recurses forever, 1 KiB a frame (until the stack runs out).
#[inline(never)]
#[allow(unconditional_recursion)]
fn bottomless(n: u64) -> u64 {
    let mut buf = [0u8; 1024];
    std::hint::black_box(&mut buf);
    buf[0] = n as u8;
    bottomless(n + 1) + std::hint::black_box(&buf)[0] as u64
}

#[test]
fn default_size_is_one_mib() {
    let Some(out) = child("default_size_is_one_mib", &[]) else {
        assert_eq!(systemstack::size(), 1 << 20);
        let at = systemstack!(sp);
        // The usable part is readable-writable; the guard page is a separate mapping.
        assert_eq!(mapping_len(at), 1 << 20);
        let (lo, hi) = systemstack::current_bounds().unwrap();
        assert_eq!(hi - lo, 1 << 20);
        return;
    };
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn environment_variable_sets_the_size() {
    let Some(out) = child(
        "environment_variable_sets_the_size",
        &[(systemstack::ENV_VAR, "256K")],
    ) else {
        assert_eq!(systemstack::size(), 256 << 10);
        let at = systemstack!(sp);
        assert_eq!(mapping_len(at), 256 << 10);
        return;
    };
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn invalid_environment_variable_warns_and_uses_the_default() {
    let Some(out) = child(
        "invalid_environment_variable_warns_and_uses_the_default",
        &[(systemstack::ENV_VAR, "lots")],
    ) else {
        assert_eq!(systemstack!(systemstack::size), 1 << 20);
        return;
    };
    assert!(out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ignoring NOSPLIT_SYSTEM_STACK_SIZE=\"lots\""),
        "{}",
        text(&out)
    );
}

#[test]
fn set_size_before_first_use_then_refused() {
    let Some(out) = child(
        "set_size_before_first_use_then_refused",
        &[(systemstack::ENV_VAR, "4M")],
    ) else {
        // The API wins over the environment.
        assert_eq!(
            systemstack::set_size(1024),
            Err(systemstack::SizeError::TooSmall { requested: 1024 })
        );
        systemstack::set_size(128 << 10).unwrap();
        let at = systemstack!(sp);
        assert_eq!(mapping_len(at), 128 << 10);
        let e = systemstack::set_size(2 << 20).unwrap_err();
        assert_eq!(
            e,
            systemstack::SizeError::AlreadyAllocated { current: 128 << 10 }
        );
        assert!(e.to_string().contains("before any systemstack!"));
        // Other threads get the same size.
        let other = std::thread::spawn(|| mapping_len(systemstack!(sp)))
            .join()
            .unwrap();
        assert_eq!(other, 128 << 10);
        return;
    };
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn overflow_aborts_with_a_message_naming_the_system_stack() {
    let Some(out) = child(
        "overflow_aborts_with_a_message_naming_the_system_stack",
        &[(systemstack::ENV_VAR, "64K")],
    ) else {
        let v = systemstack!(|| bottomless(0));
        println!("unreachable: {v}");
        return;
    };
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nosplit system stack overflow")
            && err.contains("65536 bytes of its thread's system stack")
            && err.contains("NOSPLIT_SYSTEM_STACK_SIZE"),
        "{}",
        text(&out)
    );
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(out.status.signal(), Some(6), "SIGABRT: {}", text(&out));
    }
}

#[test]
fn overflow_of_the_thread_stack_is_still_reported_by_std() {
    // The handler chains to std's: a plain stack overflow outside the system stack keeps
    // its usual report.
    let Some(out) = child("overflow_of_the_thread_stack_is_still_reported_by_std", &[]) else {
        systemstack!(|| ());
        let v = std::thread::Builder::new()
            .stack_size(64 << 10)
            .spawn(|| bottomless(0))
            .unwrap()
            .join();
        println!("unreachable: {v:?}");
        return;
    };
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("has overflowed its stack"), "{}", text(&out));
    assert!(!err.contains("nosplit system stack"), "{}", text(&out));
}
