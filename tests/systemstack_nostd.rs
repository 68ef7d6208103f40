//! The `no_std` variant: `tests/systemstack_nostd_fixture` builds nosplit without its `std`
//! feature and runs closures on a `SystemStack<16384>` static; this test checks, from the
//! addresses it prints, that the closures ran inside the static (the nested one deeper,
//! without switching back to the top), that the caller did not, and the values.

mod support;

use std::collections::HashMap;

#[test]
fn static_system_stack_without_std() {
    let out = support::fixture_cargo(None, &support::fixtures_target("systemstack-nostd"))
        .args(["run", "--quiet", "--manifest-path"])
        .arg(support::workspace().join("tests/systemstack_nostd_fixture/Cargo.toml"))
        .output()
        .expect("run cargo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "fixture failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: HashMap<&str, Vec<u64>> = stdout
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let k = it.next()?;
            Some((k, it.map(|n| n.parse().unwrap()).collect()))
        })
        .collect();
    let (lo, hi) = (lines["bounds"][0], lines["bounds"][1]);
    assert_eq!(hi - lo, 16384);
    let inside = |a: u64| lo <= a && a < hi;
    assert!(!inside(lines["caller"][0]), "{stdout}");
    let at = lines["closure"][0];
    let nested = lines["nested"][0];
    assert!(inside(at), "{stdout}");
    assert!(inside(nested) && nested < at, "{stdout}");
    // deep(8) sums (k as u8) for k in 1..=8; 20 * 2; the counter captured by reference.
    assert_eq!(lines["values"], [36, 40, 5], "{stdout}");
}
