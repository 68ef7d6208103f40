//! The registry of `#[nosplit]` functions.
//!
//! Every annotated function contributes one [`Entry`] to the [`NOSPLIT_REGISTRY`] distributed
//! slice. The layout is `#[repr(C)]` and versioned because `cargo nosplit` reads the entries
//! straight out of the final ELF file (the `linkme_NOSPLIT_REGISTRY` section), resolving the
//! relocations that fill the pointer fields of a position-independent executable. The layout is
//! documented field by field in `docs/REGISTRY.md`; change [`ENTRY_VERSION`] with it.

use core::fmt;

/// `b"NSPL"` read as a little-endian `u32`: the first four bytes of every entry.
pub const ENTRY_MAGIC: u32 = u32::from_le_bytes(*b"NSPL");

/// Version of the [`Entry`] layout. The checker refuses entries of another version.
pub const ENTRY_VERSION: u32 = 1;

/// `budget` value meaning "the configured default budget" (`#[nosplit]` without a number).
pub const DEFAULT_BUDGET: u32 = 0;

/// A string as two machine words, pointer then length, with a layout fixed by `#[repr(C)]`
/// (unlike `&str`, whose layout the language does not promise).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct RawStr {
    ptr: *const u8,
    len: usize,
}

impl RawStr {
    /// Wraps a static string.
    pub const fn new(s: &'static str) -> Self {
        RawStr {
            ptr: s.as_ptr(),
            len: s.len(),
        }
    }

    /// The string this was built from.
    pub fn as_str(&self) -> &'static str {
        // SAFETY: built only by `new` from a `&'static str`.
        unsafe { core::str::from_utf8_unchecked(core::slice::from_raw_parts(self.ptr, self.len)) }
    }
}

/// One registered `#[nosplit]` function.
///
/// Built by the `#[nosplit]` attribute; users read it through [`registry`] and [`find`].
#[repr(C)]
pub struct Entry {
    /// Always [`ENTRY_MAGIC`]; lets the checker validate what it reads.
    pub magic: u32,
    /// Always [`ENTRY_VERSION`].
    pub version: u32,
    /// The declared budget in bytes, or [`DEFAULT_BUDGET`] (0) for "configured default".
    pub budget: u32,
    /// 1-based line of the function's name in its source file.
    pub line: u32,
    /// The function's address where Rust lets the macro take it (non-generic functions, and
    /// methods of an `impl` annotated with `#[nosplit]`), null otherwise. The checker then
    /// finds the code by the path.
    pub addr: *const (),
    /// Full path: `module::path::name`, `module::path::Type::name` for inherent methods,
    /// `<module::path::Type as Trait>::name` for trait methods.
    pub path: RawStr,
    /// Source file as `file!()` gives it.
    pub file: RawStr,
    /// Syntactic callees found in the body, one per line: paths as written (`foo`, `a::b`,
    /// `Type::f`) and method calls as `.name`. Macro calls are left out.
    pub callees: RawStr,
}

// SAFETY: every pointer in an entry points to immutable static data or code.
unsafe impl Sync for Entry {}

impl Entry {
    /// Builds an entry; used by the expansion of `#[nosplit]`.
    #[doc(hidden)]
    pub const fn new(
        budget: u32,
        addr: *const (),
        path: &'static str,
        file: &'static str,
        line: u32,
        callees: &'static str,
    ) -> Self {
        Entry {
            magic: ENTRY_MAGIC,
            version: ENTRY_VERSION,
            budget,
            line,
            addr,
            path: RawStr::new(path),
            file: RawStr::new(file),
            callees: RawStr::new(callees),
        }
    }

    /// The function's full path.
    pub fn path(&self) -> &'static str {
        self.path.as_str()
    }

    /// The function's name, the last segment of its path.
    pub fn name(&self) -> &'static str {
        let path = self.path();
        path.rsplit("::").next().unwrap_or(path)
    }

    /// The source file.
    pub fn file(&self) -> &'static str {
        self.file.as_str()
    }

    /// The source line.
    pub fn line(&self) -> u32 {
        self.line
    }

    /// The declared budget, `None` for the configured default.
    pub fn budget(&self) -> Option<u32> {
        (self.budget != DEFAULT_BUDGET).then_some(self.budget)
    }

    /// The function's address, when the macro could take it.
    pub fn address(&self) -> Option<*const ()> {
        (!self.addr.is_null()).then_some(self.addr)
    }

    /// The syntactic callees of the body (see [`Entry::callees`](#structfield.callees)).
    pub fn callees(&self) -> impl Iterator<Item = &'static str> {
        self.callees.as_str().lines().filter(|l| !l.is_empty())
    }
}

impl fmt::Display for Entry {
    /// `path (file:line) budget N` or `budget default`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}:{}) budget ", self.path(), self.file(), self.line)?;
        match self.budget() {
            Some(b) => write!(f, "{b}"),
            None => f.write_str("default"),
        }
    }
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("path", &self.path())
            .field("file", &self.file())
            .field("line", &self.line)
            .field("budget", &self.budget())
            .field("addr", &self.addr)
            .field("callees", &self.callees().collect::<alloc_free::Callees>())
            .finish()
    }
}

mod alloc_free {
    /// Debug-prints callees without allocating (the runtime is `no_std`).
    #[derive(Default)]
    pub struct Callees(usize, [&'static str; 16]);
    impl FromIterator<&'static str> for Callees {
        fn from_iter<I: IntoIterator<Item = &'static str>>(iter: I) -> Self {
            let mut c = Callees::default();
            for s in iter.into_iter().take(16) {
                c.1[c.0] = s;
                c.0 += 1;
            }
            c
        }
    }
    impl core::fmt::Debug for Callees {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.debug_list().entries(&self.1[..self.0]).finish()
        }
    }
}

/// Every registered entry, in link order.
#[linkme::distributed_slice]
pub static NOSPLIT_REGISTRY: [Entry];

/// All registered `#[nosplit]` functions of the program.
pub fn registry() -> &'static [Entry] {
    &NOSPLIT_REGISTRY
}

/// The entry whose full path is `path`, or failing that the only entry whose path ends with
/// `::path` (so `find("handler")` works when one function has that name).
pub fn find(path: &str) -> Option<&'static Entry> {
    let all = registry();
    if let Some(e) = all.iter().find(|e| e.path() == path) {
        return Some(e);
    }
    let mut suffix = all.iter().filter(|e| {
        e.path()
            .strip_suffix(path)
            .is_some_and(|head| head.ends_with("::"))
    });
    match (suffix.next(), suffix.next()) {
        (Some(e), None) => Some(e),
        _ => None,
    }
}
