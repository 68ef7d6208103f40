//! Symbol names: demangling (Rust legacy and v0, C++) with Rust hashes dropped, and the name
//! patterns the checker gives a meaning to (stack switches, panic machinery).

/// The display form of a symbol name: Rust names demangled without their hash
/// (`core::fmt::write`, `<alloc::vec::Vec<u8>>::push`), C++ names demangled, others as they
/// are.
pub fn display_name(raw: &str) -> String {
    // `foo@GLIBC_2.2.5` / `foo@@VERS`: versioned dynamic names display without the version.
    let base = raw.split('@').next().unwrap_or(raw);
    if let Ok(d) = rustc_demangle::try_demangle(base) {
        // `{:#}` drops the legacy hash and v0's crate disambiguators.
        return format!("{d:#}");
    }
    if base.starts_with("_Z") {
        if let Ok(sym) = cpp_demangle::Symbol::new(base) {
            if let Ok(s) = sym.demangle(&cpp_demangle::DemangleOptions::default()) {
                return s;
            }
        }
    }
    base.to_string()
}

/// A name reduced for matching registered paths against symbols: generic arguments removed
/// (`f::<u32>` → `f`, `W<T>::get` → `W::get`), the inherent-impl brackets of v0 names removed
/// (`<m::S>::f` → `m::S::f`). Trait impls keep their `<T as Trait>` form, with the generic
/// arguments inside removed.
pub fn canonical(name: &str) -> String {
    // Pass 1: drop generic argument lists, i.e. a `<` that follows an identifier character or
    // `::` up to its matching `>`.
    let bytes = name.as_bytes();
    let mut out = String::with_capacity(name.len());
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let after_ident = i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        let after_colons = out.ends_with("::");
        if c == b'<' && (after_ident || after_colons) {
            let mut level = 0usize;
            while i < bytes.len() {
                match bytes[i] {
                    b'<' => level += 1,
                    b'>' => {
                        level -= 1;
                        if level == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            i += 1;
            if after_colons {
                out.truncate(out.len() - 2);
            }
            continue;
        }
        out.push(c as char);
        i += 1;
    }
    // Pass 2: `<X>::rest` (inherent impl in v0) → `X::rest`.
    if let Some(rest) = out.strip_prefix('<') {
        if let Some(close) = matching_close(rest) {
            let inner = &rest[..close];
            if !inner.contains(" as ") {
                return format!("{inner}{}", &rest[close + 1..]);
            }
        }
    }
    out
}

/// Index of the `>` closing a `<` just before `s`.
fn matching_close(s: &str) -> Option<usize> {
    let mut level = 1usize;
    for (i, c) in s.char_indices() {
        match c {
            '<' => level += 1,
            '>' => {
                level -= 1;
                if level == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Stack switches (SPEC §2): the function moves execution to another stack; only its own frame
/// counts on the caller's stack. `nosplit_systemstack_switch` is the documented symbol of this
/// project's `systemstack!` switch.
pub fn is_stack_switch(display: &str) -> bool {
    if !(display.contains("stacker") || display.contains("psm") || display.contains("nosplit")) {
        return false;
    }
    let c = canonical(display);
    matches!(
        c.as_str(),
        "nosplit_systemstack_switch"
            | "stacker::grow"
            | "stacker::maybe_grow"
            | "stacker::_grow"
            | "psm::on_stack"
            | "psm::replace_stack"
            | "rust_psm_on_stack"
            | "rust_psm_replace_stack"
            // Entered only by the switch routine, on the far stack.
            | "nosplit_runtime::systemstack::switch::trampoline"
    )
}

/// The entry points of the panic machinery: a call to one of these starts a panic (or resumes
/// unwinding). Under the `stop` panic setting their frame is counted and their calls are not
/// followed.
pub fn is_panic_entry(display: &str) -> bool {
    const HINTS: [&str; 11] = [
        "resume",
        "nosplit_guard_slow",
        "panic",
        "_fail",
        "unwind",
        "Unwind",
        "overflow",
        "alloc",
        "oom",
        "unreachable",
        "handle_error",
    ];
    if !HINTS.iter().any(|h| display.contains(h)) {
        return false;
    }
    let c = canonical(display);
    let c = c.as_str();
    c.starts_with("core::panicking::")
        || c.starts_with("std::panicking::")
        || c.starts_with("std::rt::panic")
        || c.starts_with("core::slice::index::slice_")
            && (c.ends_with("_fail") || c.contains("_fail::"))
        || matches!(
            c,
            "rust_begin_unwind"
                // `systemstack!` resuming a panic of the slow path on the caller's stack.
                | "nosplit_runtime::systemstack::switch::resume"
                // The runtime guard's cold path in `guard`-feature builds: the violation
                // report and handler (a panic by default) and a one-time unwind-table lookup.
                | "nosplit_guard_slow"
                | "rust_panic"
                | "__rust_start_panic"
                | "_Unwind_Resume"
                | "core::option::unwrap_failed"
                | "core::option::expect_failed"
                | "core::result::unwrap_failed"
                | "core::str::slice_error_fail"
                | "core::str::slice_error_fail_rt"
                | "core::cell::panic_already_borrowed"
                | "core::cell::panic_already_mutably_borrowed"
                | "alloc::raw_vec::capacity_overflow"
                | "alloc::raw_vec::handle_error"
                | "alloc::alloc::handle_alloc_error"
                | "std::alloc::rust_oom"
                | "__rust_alloc_error_handler"
                | "__rg_oom"
                | "__rdl_oom"
                | "core::hint::unreachable_unchecked::precondition_check"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demangles_both_manglings_without_hash() {
        assert_eq!(
            display_name("_ZN8marktest1S6method17h0123456789abcdefE"),
            "marktest::S::method"
        );
        assert_eq!(display_name("memcpy@GLIBC_2.2.5"), "memcpy");
        assert_eq!(display_name("_ZN3foo3barEv"), "foo::bar()");
        assert_eq!(display_name("main"), "main");
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(canonical("fix::generic::<u32>"), "fix::generic");
        assert_eq!(canonical("<fix::W<u32>>::get"), "fix::W::get");
        assert_eq!(canonical("fix::W<T>::get"), "fix::W::get");
        assert_eq!(
            canonical("<fix::S as fix::Tr<u8>>::run"),
            "<fix::S as fix::Tr>::run"
        );
        assert_eq!(canonical("<fix::S>::m"), "fix::S::m");
    }

    #[test]
    fn recognises_switches_and_panics() {
        assert!(is_stack_switch("stacker::maybe_grow::<u8, f>"));
        assert!(is_stack_switch("nosplit_systemstack_switch"));
        assert!(!is_stack_switch("stacker::remaining_stack"));
        assert!(is_panic_entry("core::panicking::panic_fmt"));
        assert!(is_panic_entry(
            "nosplit_runtime::systemstack::switch::resume"
        ));
        assert!(is_panic_entry("nosplit_guard_slow"));
        assert!(!is_stack_switch(
            "nosplit_runtime::systemstack::switch::resume"
        ));
        assert!(!is_stack_switch(
            "nosplit_runtime::systemstack::switch::finish::<u8>"
        ));
        assert!(is_panic_entry(
            "core::slice::index::slice_end_index_len_fail"
        ));
        assert!(!is_panic_entry("core::fmt::write"));
    }
}
