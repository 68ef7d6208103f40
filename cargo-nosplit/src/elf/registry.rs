//! The `#[nosplit]` registry as stored in the binary: the `linkme_NOSPLIT_REGISTRY` section,
//! an array of `nosplit_runtime::registry::Entry` (`#[repr(C)]`, layout version 1):
//!
//! | offset | field | |
//! |---|---|---|
//! | 0 | `magic: u32` | `b"NSPL"` |
//! | 4 | `version: u32` | 1 |
//! | 8 | `budget: u32` | 0 = configured default |
//! | 12 | `line: u32` | |
//! | 16 | `addr: *const ()` | null for generic functions |
//! | 24, 32 | `path: (ptr, len)` | |
//! | 40, 48 | `file: (ptr, len)` | |
//! | 56, 64 | `callees: (ptr, len)` | |
//!
//! Pointers are read after relocation (a PIE stores zeros filled by `R_X86_64_RELATIVE`).

use super::{ElfError, Image};

/// Name of the section that holds the entries.
pub const SECTION: &str = "linkme_NOSPLIT_REGISTRY";
/// Bytes per entry.
pub const ENTRY_SIZE: u64 = 72;
const MAGIC: u32 = u32::from_le_bytes(*b"NSPL");
const VERSION: u32 = 1;

/// One registered function as read from the binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registered {
    /// Declared budget; `None` = the configured default.
    pub budget: Option<u32>,
    /// Source line.
    pub line: u32,
    /// The function's address, when the macro could take it.
    pub addr: Option<u64>,
    /// Registered path (`module::name`, `module::Type::name`, `<module::Type as Trait>::name`).
    pub path: String,
    /// Source file.
    pub file: String,
    /// Syntactic callees, one per line.
    pub callees: String,
}

/// Reads every entry, with its address; no section means no registered function.
pub(crate) fn read(image: &Image<'_>) -> Result<(Vec<Registered>, Vec<u64>), ElfError> {
    let Some(sec) = image.section_by_name(SECTION) else {
        return Ok((Vec::new(), Vec::new()));
    };
    let bad = |what: String| ElfError::Malformed(format!("section {SECTION}: {what}"));
    if sec.size % ENTRY_SIZE != 0 {
        return Err(bad(format!(
            "size {} is not a multiple of the {ENTRY_SIZE}-byte entry; is nosplit-runtime of another version?",
            sec.size
        )));
    }
    let mut out = Vec::new();
    let mut addrs = Vec::new();
    for i in 0..sec.size / ENTRY_SIZE {
        let a = sec.addr.wrapping_add(i * ENTRY_SIZE);
        let head = image
            .read(a, 16)
            .ok_or_else(|| bad(format!("entry {i} lies outside the file")))?;
        let u32_at = |o: usize| u32::from_le_bytes(head[o..o + 4].try_into().unwrap_or([0; 4]));
        let (magic, version, budget, line) = (u32_at(0), u32_at(4), u32_at(8), u32_at(12));
        if magic == 0 && version == 0 {
            // Padding between entries that the linker may insert (alignment): skip.
            continue;
        }
        if magic != MAGIC {
            return Err(bad(format!("entry {i} has a bad magic number {magic:#x}")));
        }
        if version != VERSION {
            return Err(bad(format!(
                "entry {i} has layout version {version}, this checker reads version {VERSION}: use the cargo-nosplit matching your nosplit crate"
            )));
        }
        let ptr = |o: u64| {
            image.pointer(a.wrapping_add(o)).ok_or_else(|| {
                bad(format!(
                    "entry {i}: unreadable pointer at {:#x}",
                    a.wrapping_add(o)
                ))
            })
        };
        let string = |o: u64| -> Result<String, ElfError> {
            let p = ptr(o)?;
            let len = ptr(o + 8)?;
            if len == 0 {
                return Ok(String::new());
            }
            if len > 1 << 20 {
                return Err(bad(format!("entry {i}: string of {len} bytes")));
            }
            let bytes = image
                .read(p, len as usize)
                .ok_or_else(|| bad(format!("entry {i}: string at {p:#x} outside the file")))?;
            Ok(String::from_utf8_lossy(bytes).into_owned())
        };
        let addr = ptr(16)?;
        addrs.push(a);
        out.push(Registered {
            budget: (budget != 0).then_some(budget),
            line,
            addr: (addr != 0).then_some(addr),
            path: string(24)?,
            file: string(40)?,
            callees: string(56)?,
        });
    }
    Ok((out, addrs))
}
