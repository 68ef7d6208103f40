//! The x86_64 ELF front end: reads a binary and builds its [`CallGraph`].
//!
//! - functions come from `.symtab` (or `.dynsym` when that is all there is), demangled;
//! - each function's machine code is walked by [`x86_64`] for its frame and call sites;
//! - call targets are resolved to functions: direct calls, calls through the GOT (`call
//!   [rip+slot]`, the slot's dynamic relocation or link-time value naming the target), PLT
//!   stubs, tail jumps; what stays unknown is an indirect call;
//! - roots come from the `#[nosplit]` registry in the binary ([`registry`]);
//! - stack switches and panic entries are recognised by name ([`symbols`]);
//! - `.eh_frame` is read for a cross-check of the frames ([`eh_frame`]).
//!
//! ```no_run
//! let out = cargo_nosplit::elf::load(
//!     std::path::Path::new("target/release/app"),
//!     &cargo_nosplit::elf::Options::default(),
//! )?;
//! println!("{} functions, {} roots", out.graph.functions.len(), out.graph.roots.len());
//! # Ok::<(), cargo_nosplit::elf::ElfError>(())
//! ```

pub mod eh_frame;
pub mod registry;
pub mod symbols;
pub mod x86_64;

use std::fmt;
use std::path::Path;

use object::elf;
use object::read::elf::{ElfFile64, FileHeader, ProgramHeader, Rela, SectionHeader, Sym};
use object::{Endianness, Object, ObjectSection, ObjectSymbol, SectionFlags, SymbolKind};

use crate::graph::{CallGraph, Edge, EdgeTarget, FuncId, Function, FunctionKind, Location, Root};
pub use registry::Registered;

// Fast hashing throughout: the keys are addresses and names from the file, looked up a few
// times per instruction-level site in a whole-binary run.
type HashMap<K, V> = std::collections::HashMap<K, V, x86_64::Fx>;
type HashSet<K> = std::collections::HashSet<K, x86_64::Fx>;

/// Why a file cannot be checked. Every variant displays as one line.
#[derive(Debug)]
pub enum ElfError {
    /// The file could not be read.
    Io(String, std::io::Error),
    /// The path is a directory.
    Directory(String),
    /// Not an ELF file.
    NotElf,
    /// A 32-bit ELF file.
    Elf32,
    /// An ELF file for another machine (`e_machine` and its name).
    Machine(u16, &'static str),
    /// No function symbols: a stripped binary.
    NoSymbols,
    /// A malformed or truncated file.
    Malformed(String),
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The path is the caller's to show (`PATH: reason`).
            ElfError::Io(_, e) => write!(f, "cannot read: {e}"),
            ElfError::Directory(_) => f.write_str("is a directory, not an ELF binary"),
            ElfError::NotElf => f.write_str("not an ELF file (no \\x7fELF magic)"),
            ElfError::Elf32 => f.write_str("32-bit ELF file: only x86_64 (ELF64) binaries are supported"),
            ElfError::Machine(m, name) => write!(
                f,
                "unsupported architecture {name} (e_machine {m}): only x86_64 binaries are supported"
            ),
            ElfError::NoSymbols => f.write_str(
                "no function symbols (stripped binary?): build without `strip` (profile option strip = false)",
            ),
            ElfError::Malformed(why) => write!(f, "malformed ELF file: {why}"),
        }
    }
}

impl std::error::Error for ElfError {}

/// Built-in bounds (bytes of stack, worst) of libc functions reached through the PLT or GOT,
/// used for an external of that name unless the configuration assumes otherwise. Verified on
/// this project's machines (Debian 12, glibc 2.36, x86_64) by `tests/elf_libc.rs`, which walks
/// every implementation the IFUNC resolver can choose: all are leaves that touch no stack.
/// `memcpy`, `memmove` and `strcmp` are left out: some of their implementations (SSSE3) jump
/// through computed addresses that the checker cannot bound. Other C libraries may differ.
pub const LIBC_BOUNDS: &[(&str, u64)] = &[
    ("memset", 0),
    ("memcmp", 0),
    ("bcmp", 0),
    ("strlen", 0),
    ("strnlen", 0),
    ("strchr", 0),
    ("memchr", 0),
];

/// Whether paths into the panic machinery count toward a root.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PanicMode {
    /// Sound: a panic path is followed like any other (it usually ends unbounded, through the
    /// panic hook's indirect call).
    #[default]
    Follow,
    /// A panic path ends at the first function of the panic machinery: its frame is counted,
    /// its calls are not followed.
    Stop,
}

/// How roots get their budgets and how panics are accounted.
#[derive(Clone, Debug)]
pub struct Options {
    /// Budget of `#[nosplit]` without a number.
    pub default_budget: u64,
    /// Budgets are multiplied by this (the unoptimized-build multiplier, or 1).
    pub budget_multiplier: u64,
    /// Panic accounting.
    pub panic: PanicMode,
    /// Read `.eh_frame` and compare its CFA offsets with the frames found (verbose mode).
    pub cross_check: bool,
    /// Worst of external functions by name (default: [`LIBC_BOUNDS`]): such an external is a
    /// leaf of that frame instead of an unresolved function. Leave out the names the user's
    /// configuration bounds, so that theirs apply.
    pub external_bounds: Vec<(String, u64)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            default_budget: 4096,
            budget_multiplier: 1,
            panic: PanicMode::Follow,
            cross_check: false,
            external_bounds: LIBC_BOUNDS
                .iter()
                .map(|&(n, b)| (n.to_string(), b))
                .collect(),
        }
    }
}

/// Statistics of one load.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Functions with code analysed.
    pub functions: usize,
    /// Instructions decoded.
    pub instructions: usize,
    /// Jump tables recognised.
    pub jump_tables: usize,
}

/// The result of reading a binary.
#[derive(Clone, Debug)]
pub struct ElfGraph {
    /// The call graph with roots (budgets already defaulted and multiplied).
    pub graph: CallGraph,
    /// The registry entries as read.
    pub registered: Vec<Registered>,
    /// Functions recognised as entries to the panic machinery.
    pub panic_entries: Vec<FuncId>,
    /// The panic setting used.
    pub panic_mode: PanicMode,
    /// Remarks for a verbose mode: `.eh_frame` disagreements, unbalanced returns, why a
    /// function's SP is dynamic.
    pub diagnostics: Vec<String>,
    /// Figures about the work done.
    pub stats: Stats,
}

/// Reads the ELF file at `path`.
pub fn load(path: &Path, opts: &Options) -> Result<ElfGraph, ElfError> {
    let shown = path.display().to_string();
    if path.is_dir() {
        return Err(ElfError::Directory(shown));
    }
    let data = std::fs::read(path).map_err(|e| ElfError::Io(shown, e))?;
    analyze(&data, opts)
}

/// Reads an ELF image held in memory. Never panics on malformed input.
pub fn analyze(data: &[u8], opts: &Options) -> Result<ElfGraph, ElfError> {
    check_header(data)?;
    let file =
        ElfFile64::<Endianness>::parse(data).map_err(|e| ElfError::Malformed(e.to_string()))?;
    let image = Image::new(&file, data)?;
    Builder::new(&file, image, opts)?.run()
}

fn check_header(data: &[u8]) -> Result<(), ElfError> {
    if data.len() < 4 || &data[..4] != b"\x7fELF" {
        return Err(ElfError::NotElf);
    }
    if data.len() < 20 {
        return Err(ElfError::Malformed("truncated ELF header".into()));
    }
    match data[4] {
        1 => return Err(ElfError::Elf32),
        2 => {}
        c => return Err(ElfError::Malformed(format!("unknown ELF class {c}"))),
    }
    let little = data[5] == 1;
    let machine = if little {
        u16::from_le_bytes([data[18], data[19]])
    } else {
        u16::from_be_bytes([data[18], data[19]])
    };
    if machine != elf::EM_X86_64 {
        let name = match machine {
            elf::EM_AARCH64 => "aarch64",
            elf::EM_386 => "i386",
            elf::EM_ARM => "arm",
            elf::EM_RISCV => "riscv",
            elf::EM_PPC64 => "powerpc64",
            elf::EM_S390 => "s390x",
            elf::EM_MIPS => "mips",
            elf::EM_LOONGARCH => "loongarch",
            _ => "other",
        };
        return Err(ElfError::Machine(machine, name));
    }
    Ok(())
}

/// A loaded section.
#[derive(Clone, Debug)]
pub(crate) struct Sec {
    pub name: String,
    pub addr: u64,
    pub size: u64,
    /// File offset of the contents (`None` for `.bss`-like sections).
    pub offset: Option<u64>,
    pub exec: bool,
    pub write: bool,
}

/// What a dynamic relocation puts at an address.
#[derive(Clone, Debug)]
enum Reloc {
    /// A known address (`R_X86_64_RELATIVE`, or a symbol defined in the file).
    Value(u64),
    /// An undefined symbol, resolved by the dynamic linker.
    Symbol(String),
    /// `R_X86_64_IRELATIVE`: whatever the resolver at this address returns.
    Ifunc(u64),
}

/// The file's memory image: sections by address and the dynamic relocations.
pub(crate) struct Image<'a> {
    data: &'a [u8],
    secs: Vec<Sec>,
    relocs: HashMap<u64, Reloc>,
    relro: Vec<(u64, u64)>,
}

impl<'a> Image<'a> {
    fn new(file: &ElfFile64<'a, Endianness>, data: &'a [u8]) -> Result<Self, ElfError> {
        let endian = file.endian();
        let mut secs = Vec::new();
        for s in file.sections() {
            let SectionFlags::Elf { sh_flags } = s.flags() else {
                continue;
            };
            if sh_flags & u64::from(elf::SHF_ALLOC) == 0 || s.size() == 0 {
                continue;
            }
            let name = s.name().unwrap_or("").to_string();
            let offset = match s.file_range() {
                Some((off, size)) => {
                    if off.checked_add(size).is_none_or(|e| e > data.len() as u64) {
                        return Err(ElfError::Malformed(format!(
                            "section {name} extends past the end of the file (truncated?)"
                        )));
                    }
                    Some(off)
                }
                None => None,
            };
            secs.push(Sec {
                name,
                addr: s.address(),
                size: s.size(),
                offset,
                exec: sh_flags & u64::from(elf::SHF_EXECINSTR) != 0,
                write: sh_flags & u64::from(elf::SHF_WRITE) != 0,
            });
        }
        secs.sort_by_key(|s| s.addr);
        let mut relro = Vec::new();
        if let Ok(phdrs) = file.elf_header().program_headers(endian, data) {
            for p in phdrs {
                if p.p_type(endian) == elf::PT_GNU_RELRO {
                    let a = p.p_vaddr(endian);
                    relro.push((a, a.saturating_add(p.p_memsz(endian))));
                }
            }
        }
        let mut relocs = HashMap::default();
        let sections = file.elf_section_table();
        for sh in sections.iter() {
            if sh.sh_type(endian) != elf::SHT_RELA
                || sh.sh_flags(endian) & u64::from(elf::SHF_ALLOC) == 0
            {
                continue;
            }
            let Ok(relas) = sh.data_as_array::<elf::Rela64<Endianness>, _>(endian, data) else {
                return Err(ElfError::Malformed("unreadable relocation section".into()));
            };
            let link = sh.sh_link(endian);
            let symtab = if link != 0 {
                sections
                    .symbol_table_by_index(endian, data, object::SectionIndex(link as usize))
                    .ok()
            } else {
                None
            };
            for r in relas {
                let at = r.r_offset(endian);
                let addend = r.r_addend(endian);
                let sym = r.r_sym(endian, false);
                let value = match r.r_type(endian, false) {
                    elf::R_X86_64_RELATIVE => Reloc::Value(addend as u64),
                    elf::R_X86_64_IRELATIVE => Reloc::Ifunc(addend as u64),
                    elf::R_X86_64_64 if sym == 0 => Reloc::Value(addend as u64),
                    t @ (elf::R_X86_64_64 | elf::R_X86_64_GLOB_DAT | elf::R_X86_64_JUMP_SLOT) => {
                        let Some(st) = symtab.as_ref() else { continue };
                        let Ok(s) = st.symbol(object::SymbolIndex(sym as usize)) else {
                            continue;
                        };
                        let name = st.symbol_name(endian, s).unwrap_or(b"");
                        let name = String::from_utf8_lossy(name).into_owned();
                        let add = if t == elf::R_X86_64_64 { addend } else { 0 };
                        if s.st_shndx(endian) != elf::SHN_UNDEF && s.st_value(endian) != 0 {
                            if s.st_type() == elf::STT_GNU_IFUNC {
                                Reloc::Ifunc(s.st_value(endian))
                            } else {
                                Reloc::Value(s.st_value(endian).wrapping_add(add as u64))
                            }
                        } else {
                            Reloc::Symbol(name)
                        }
                    }
                    _ => continue,
                };
                relocs.insert(at, value);
            }
        }
        Ok(Image {
            data,
            secs,
            relocs,
            relro,
        })
    }

    pub(crate) fn section_at(&self, addr: u64) -> Option<&Sec> {
        let i = self.secs.partition_point(|s| s.addr <= addr);
        let s = self.secs.get(i.checked_sub(1)?)?;
        (addr < s.addr.saturating_add(s.size)).then_some(s)
    }

    pub(crate) fn section_by_name(&self, name: &str) -> Option<&Sec> {
        self.secs.iter().find(|s| s.name == name)
    }

    /// Bytes of a section from `addr` to its end.
    fn rest_of_section(&self, addr: u64) -> Option<&'a [u8]> {
        let s = self.section_at(addr)?;
        let off = s.offset? + (addr - s.addr);
        let end = s.offset? + s.size;
        self.data.get(off as usize..end as usize)
    }

    /// `len` bytes at `addr` (within one section).
    pub(crate) fn read(&self, addr: u64, len: usize) -> Option<&'a [u8]> {
        self.rest_of_section(addr)?.get(..len)
    }

    /// The pointer at `addr` after relocation.
    pub(crate) fn pointer(&self, addr: u64) -> Option<u64> {
        match self.relocs.get(&addr) {
            Some(Reloc::Value(v)) => Some(*v),
            Some(_) => None,
            None => {
                let b = self.read(addr, 8)?;
                Some(u64::from_le_bytes(b.try_into().ok()?))
            }
        }
    }

    /// Whether the contents at `addr` are fixed once the program runs (read-only, RELRO or the
    /// GOT): only then does a pointer there name a fixed call target.
    fn is_constant(&self, addr: u64) -> bool {
        match self.section_at(addr) {
            Some(s) => {
                !s.write
                    || s.name == ".got"
                    || s.name == ".got.plt"
                    || self.relro.iter().any(|&(a, e)| addr >= a && addr < e)
            }
            None => false,
        }
    }
}

impl x86_64::Memory for Image<'_> {
    fn read(&self, addr: u64, len: usize) -> Option<&[u8]> {
        Image::read(self, addr, len)
    }
    fn pointer(&self, addr: u64) -> Option<u64> {
        Image::pointer(self, addr)
    }
}

/// A function found in the file (or made up for a call target without a symbol).
struct Func {
    addr: u64,
    end: u64,
    name: String,
    /// Display names of every symbol at this address.
    aliases: Vec<String>,
    ifunc: bool,
    facts: Option<x86_64::Facts>,
}

/// Where a control transfer leads.
#[derive(Clone, Debug)]
enum Target {
    Func(usize),
    External(String),
    Unknown,
}

struct Builder<'a, 'f> {
    file: &'f ElfFile64<'a, Endianness>,
    image: Image<'a>,
    opts: &'f Options,
    funcs: Vec<Func>,
    by_addr: HashMap<u64, usize>,
    /// Function indices sorted by address, for "which function contains this address".
    sorted: Vec<usize>,
    /// Functions `0..named` come from symbols; the name of each is its address's preferred
    /// symbol.
    named: usize,
    /// `path::of::f` for each `path::of::f::__NOSPLIT_ENTRY` data symbol, by address: the
    /// compiler's own path of a registered function.
    entry_symbols: HashMap<u64, String>,
    diagnostics: Vec<String>,
}

impl<'a, 'f> Builder<'a, 'f> {
    fn new(
        file: &'f ElfFile64<'a, Endianness>,
        image: Image<'a>,
        opts: &'f Options,
    ) -> Result<Self, ElfError> {
        let mut b = Builder {
            file,
            image,
            opts,
            funcs: Vec::new(),
            by_addr: HashMap::default(),
            sorted: Vec::new(),
            named: 0,
            entry_symbols: HashMap::default(),
            diagnostics: Vec::new(),
        };
        b.collect_symbols();
        if b.funcs.is_empty() {
            return Err(ElfError::NoSymbols);
        }
        Ok(b)
    }

    fn collect_symbols(&mut self) {
        // (addr, size, raw name, global, ifunc, from symtab)
        let mut raw: Vec<(u64, u64, &str, bool, bool, bool)> = Vec::new();
        for (from_symtab, syms) in [
            (true, self.file.symbols()),
            (false, self.file.dynamic_symbols()),
        ] {
            for s in syms {
                if s.kind() == SymbolKind::Data {
                    if let Ok(name) = s.name() {
                        if name.contains("__NOSPLIT_ENTRY") {
                            let d = symbols::display_name(name);
                            if let Some(path) = d.strip_suffix("::__NOSPLIT_ENTRY") {
                                self.entry_symbols.insert(s.address(), path.to_string());
                            }
                        }
                    }
                    continue;
                }
                if s.kind() != SymbolKind::Text || s.is_undefined() || s.address() == 0 {
                    continue;
                }
                let Some(idx) = s.section_index() else {
                    continue;
                };
                let Ok(sec) = self.file.section_by_index(idx) else {
                    continue;
                };
                let SectionFlags::Elf { sh_flags } = sec.flags() else {
                    continue;
                };
                if sh_flags & u64::from(elf::SHF_EXECINSTR) == 0 {
                    continue;
                }
                let Ok(name) = s.name() else { continue };
                if name.is_empty() {
                    continue;
                }
                let ifunc = s.elf_symbol().st_type() == elf::STT_GNU_IFUNC;
                raw.push((
                    s.address(),
                    s.size(),
                    name,
                    s.is_global(),
                    ifunc,
                    from_symtab,
                ));
            }
        }
        // Preferred name first: symtab over dynsym, global over local.
        raw.sort_by(|a, b| a.0.cmp(&b.0).then(b.5.cmp(&a.5)).then(b.3.cmp(&a.3)));
        // Demangling is most of this step: on all cores.
        let names: Vec<&str> = raw.iter().map(|r| r.2).collect();
        let displays = parallel_map(&names, |n| symbols::display_name(n));
        self.funcs.reserve(raw.len());
        self.by_addr.reserve(raw.len());
        for ((addr, size, _name, _global, ifunc, _), display) in raw.into_iter().zip(displays) {
            if let Some(&i) = self.by_addr.get(&addr) {
                let f = &mut self.funcs[i];
                if !f.aliases.contains(&display) {
                    f.aliases.push(display);
                }
                f.end = f.end.max(addr.saturating_add(size));
                f.ifunc |= ifunc;
                continue;
            }
            let i = self.funcs.len();
            self.funcs.push(Func {
                addr,
                end: addr.saturating_add(size),
                name: display.clone(),
                aliases: vec![display],
                ifunc,
                facts: None,
            });
            self.by_addr.insert(addr, i);
        }
        self.named = self.funcs.len();
        if self.funcs.is_empty() {
            // Stripped: refused by the caller, whatever `.eh_frame` would give.
            return;
        }
        // Code that `.eh_frame` describes but no symbol names (local functions of a library
        // with only `.dynsym`, assembly without symbols): functions of their own.
        for (addr, len) in eh_frame::fde_ranges(self.file) {
            if self.by_addr.contains_key(&addr)
                || self.image.section_at(addr).is_none_or(|s| !s.exec)
            {
                continue;
            }
            let i = self.funcs.len();
            let name = format!("sub_{addr:x}");
            self.funcs.push(Func {
                addr,
                end: addr.saturating_add(len),
                name: name.clone(),
                aliases: vec![name],
                ifunc: false,
                facts: None,
            });
            self.by_addr.insert(addr, i);
        }
        // Symbols without a size extend to the next function or the end of their section.
        let mut order: Vec<usize> = (0..self.funcs.len()).collect();
        order.sort_by_key(|&i| self.funcs[i].addr);
        for k in 0..order.len() {
            let i = order[k];
            let sec_end = self
                .image
                .section_at(self.funcs[i].addr)
                .map(|s| s.addr.saturating_add(s.size))
                .unwrap_or(self.funcs[i].addr);
            let next = order
                .get(k + 1)
                .map(|&j| self.funcs[j].addr)
                .unwrap_or(u64::MAX);
            let f = &mut self.funcs[i];
            if f.end <= f.addr {
                f.end = next.min(sec_end);
            }
            f.end = f.end.min(sec_end);
        }
        self.sorted = order;
    }

    /// The function containing `addr`, by symbol extents.
    fn containing(&self, addr: u64) -> Option<usize> {
        let k = self.sorted.partition_point(|&i| self.funcs[i].addr <= addr);
        let i = *self.sorted.get(k.checked_sub(1)?)?;
        (addr < self.funcs[i].end).then_some(i)
    }

    /// Resolves a code address: a function, a PLT-like stub to an external, or a new function.
    fn resolve_code(&mut self, target: u64, hops: u32) -> Target {
        if let Some(&i) = self.by_addr.get(&target) {
            if self.funcs[i].ifunc {
                // The symbol's code is the resolver, not the function called.
                return Target::External(self.funcs[i].name.clone());
            }
            return Target::Func(i);
        }
        let Some(sec) = self.image.section_at(target) else {
            return Target::Unknown;
        };
        if !sec.exec {
            return Target::Unknown;
        }
        // A stub: [endbr64;] [bnd] jmp [rip+slot].
        if hops < 3 {
            if let Some(bytes) = self.image.rest_of_section(target) {
                let bytes = &bytes[..bytes.len().min(32)];
                let mut d =
                    iced_x86::Decoder::with_ip(64, bytes, target, iced_x86::DecoderOptions::NONE);
                for _ in 0..3 {
                    if !d.can_decode() {
                        break;
                    }
                    let ins = d.decode();
                    match ins.mnemonic() {
                        iced_x86::Mnemonic::Endbr64 | iced_x86::Mnemonic::Nop => continue,
                        iced_x86::Mnemonic::Jmp if ins.is_ip_rel_memory_operand() => {
                            return self.resolve_slot(ins.ip_rel_memory_address(), hops + 1);
                        }
                        _ => break,
                    }
                }
            }
        }
        if sec.name.starts_with(".plt") || sec.name == ".iplt" {
            return Target::Unknown;
        }
        // Code without a symbol of its own: a new function, up to the end of the enclosing
        // symbol or section.
        let (end, name) = match self.containing(target) {
            Some(c) => (
                self.funcs[c].end,
                format!("{}+{:#x}", self.funcs[c].name, target - self.funcs[c].addr),
            ),
            None => {
                let next = self
                    .sorted
                    .partition_point(|&i| self.funcs[i].addr <= target);
                let next = self
                    .sorted
                    .get(next)
                    .map(|&i| self.funcs[i].addr)
                    .unwrap_or(u64::MAX);
                (
                    (sec.addr.saturating_add(sec.size)).min(next),
                    format!("sub_{target:x}"),
                )
            }
        };
        let i = self.funcs.len();
        self.funcs.push(Func {
            addr: target,
            end,
            name: name.clone(),
            aliases: vec![name],
            ifunc: false,
            facts: None,
        });
        self.by_addr.insert(target, i);
        Target::Func(i)
    }

    fn resolve_slot(&mut self, slot: u64, hops: u32) -> Target {
        match self.image.relocs.get(&slot).cloned() {
            Some(Reloc::Value(v)) => self.resolve_code(v, hops),
            Some(Reloc::Symbol(name)) => Target::External(symbols::display_name(&name)),
            Some(Reloc::Ifunc(resolver)) => Target::External(
                self.by_addr
                    .get(&resolver)
                    .filter(|&&i| i < self.named)
                    .map(|&i| self.funcs[i].name.clone())
                    .unwrap_or_else(|| format!("ifunc@{resolver:#x}")),
            ),
            None => {
                if !self.image.is_constant(slot) {
                    return Target::Unknown;
                }
                match self.image.pointer(slot) {
                    Some(v) if v != 0 => self.resolve_code(v, hops),
                    _ => Target::Unknown,
                }
            }
        }
    }

    /// Walks function `i` and resolves its sites.
    fn walk(
        &mut self,
        i: usize,
        probestack: &[u64],
        noreturn: Option<(&HashSet<u64>, &HashSet<u64>)>,
        refs: &[u64],
    ) -> (x86_64::Facts, Vec<(x86_64::Site, Target)>) {
        let facts = self.facts_of(i, probestack, noreturn, refs);
        let targets = self.resolve_sites(&facts);
        (facts, targets)
    }

    /// Walks function `i` (no resolution: callable from several threads).
    fn facts_of(
        &self,
        i: usize,
        probestack: &[u64],
        noreturn: Option<(&HashSet<u64>, &HashSet<u64>)>,
        refs: &[u64],
    ) -> x86_64::Facts {
        let (addr, end) = (self.funcs[i].addr, self.funcs[i].end);
        let code = self
            .image
            .rest_of_section(addr)
            .map(|b| &b[..b.len().min((end - addr) as usize)])
            .unwrap_or(&[]);
        x86_64::analyze(
            code,
            addr,
            &self.image,
            x86_64::WalkOptions {
                probestack,
                noreturn_targets: noreturn.map(|n| n.0),
                noreturn_slots: noreturn.map(|n| n.1),
                refs,
            },
        )
    }

    /// Resolves the targets of a walk's sites.
    fn resolve_sites(&mut self, facts: &x86_64::Facts) -> Vec<(x86_64::Site, Target)> {
        let mut targets = Vec::with_capacity(facts.sites.len());
        for s in &facts.sites {
            let t = match s.kind {
                x86_64::SiteKind::Call(t) | x86_64::SiteKind::Tail(t) => self.resolve_code(t, 0),
                x86_64::SiteKind::CallSlot(a) | x86_64::SiteKind::TailSlot(a) => {
                    self.resolve_slot(a, 0)
                }
                x86_64::SiteKind::Indirect | x86_64::SiteKind::IndirectTail => Target::Unknown,
            };
            targets.push((*s, t));
        }
        targets
    }

    /// Functions that never return, guessed from the linear pass: entry addresses, and the
    /// GOT slots that lead to them (or to external functions that never return).
    fn guess_noreturn(&mut self, index: &x86_64::CodeIndex) -> (HashSet<u64>, HashSet<u64>) {
        let n = self.funcs.len();
        let mut may = vec![false; n];
        let mut tails: Vec<Vec<usize>> = vec![Vec::new(); n];
        for i in 0..n {
            let (a, e) = (self.funcs[i].addr, self.funcs[i].end);
            let r = index.rets.partition_point(|&x| x < a);
            if index.rets.get(r).is_some_and(|&x| x < e) {
                may[i] = true;
                continue;
            }
            let k = index.exits.partition_point(|x| x.0 < a);
            for &(_, exit) in index.exits[k..].iter().take_while(|x| x.0 < e) {
                let t = match exit {
                    x86_64::Exit::Jump(t) if t >= a && t < e => continue,
                    x86_64::Exit::Jump(t) => match self.by_addr.get(&t) {
                        Some(&j) => Target::Func(j),
                        None => Target::Unknown,
                    },
                    x86_64::Exit::JumpSlot(s) => self.resolve_slot(s, 0),
                    x86_64::Exit::IndirectJump => Target::Unknown,
                    x86_64::Exit::CallSlot(_) => continue,
                };
                match t {
                    Target::Func(j) if j < n => tails[i].push(j),
                    Target::External(name) if is_noreturn_external(&name) => {}
                    _ => may[i] = true,
                }
            }
        }
        loop {
            let mut changed = false;
            for i in 0..n {
                if !may[i] && tails[i].iter().any(|&j| may[j]) {
                    may[i] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let targets: HashSet<u64> = (0..n)
            .filter(|&i| !may[i])
            .map(|i| self.funcs[i].addr)
            .collect();
        let mut slots = HashSet::default();
        let mut seen = HashSet::default();
        for &(_, exit) in &index.exits {
            let x86_64::Exit::CallSlot(s) = exit else {
                continue;
            };
            if !seen.insert(s) {
                continue;
            }
            match self.resolve_slot(s, 0) {
                Target::Func(j) if targets.contains(&self.funcs[j].addr) => {
                    slots.insert(s);
                }
                Target::External(name) if is_noreturn_external(&name) => {
                    slots.insert(s);
                }
                _ => {}
            }
        }
        (targets, slots)
    }

    /// Which functions may return, from the walks: a `ret` reached, a dynamic SP, or a tail
    /// jump to a function that may return.
    fn may_return(&self, resolved: &[Vec<(x86_64::Site, Target)>]) -> Vec<bool> {
        let mut may: Vec<bool> = self
            .funcs
            .iter()
            .map(|f| {
                f.facts
                    .as_ref()
                    .is_some_and(|x| x.returns || x.dynamic_sp.is_some())
            })
            .collect();
        loop {
            let mut changed = false;
            for (i, sites) in resolved.iter().enumerate() {
                if may[i] {
                    continue;
                }
                let r = sites.iter().any(|(s, t)| {
                    matches!(
                        s.kind,
                        x86_64::SiteKind::Tail(_)
                            | x86_64::SiteKind::TailSlot(_)
                            | x86_64::SiteKind::IndirectTail
                    ) && match t {
                        Target::Func(j) => may[*j],
                        Target::External(name) => !is_noreturn_external(name),
                        Target::Unknown => true,
                    }
                });
                if r {
                    may[i] = true;
                    changed = true;
                }
            }
            if !changed {
                return may;
            }
        }
    }

    fn run(mut self) -> Result<ElfGraph, ElfError> {
        let probestack: Vec<u64> = self
            .funcs
            .iter()
            .filter(|f| {
                f.aliases
                    .iter()
                    .any(|a| a == "__rust_probestack" || a == "__probestack")
            })
            .map(|f| f.addr)
            .collect();
        let mut stats = Stats::default();
        // A linear pass over the code: referenced addresses (jump-table ends) and a first
        // guess of the functions that never return (no `ret` in their bytes, tail jumps only to
        // such functions), so that calls to them end their caller's path in a single walk.
        // Pieces of the code cut at function entries, scanned on all cores.
        let mut pieces: Vec<(u64, &[u8])> = Vec::new();
        for sec in self.image.secs.iter().filter(|s| s.exec) {
            let Some(code) = self.image.rest_of_section(sec.addr) else {
                continue;
            };
            let mut cuts: Vec<u64> = self
                .sorted
                .iter()
                .map(|&i| self.funcs[i].addr)
                .filter(|&a| a > sec.addr && a < sec.addr + code.len() as u64)
                .collect();
            let step = cuts.len() / 64 + 1;
            cuts = cuts.into_iter().step_by(step).collect();
            let mut from = sec.addr;
            for c in cuts
                .into_iter()
                .chain(std::iter::once(sec.addr + code.len() as u64))
            {
                if c > from {
                    let lo = (from - sec.addr) as usize;
                    let hi = (c - sec.addr) as usize;
                    pieces.push((from, &code[lo..hi]));
                    from = c;
                }
            }
        }
        let mut index = x86_64::CodeIndex::default();
        let parts = parallel_map(&pieces, |&(addr, code)| {
            let mut ix = x86_64::CodeIndex::default();
            ix.scan(code, addr);
            // Most references repeat (GOT slots, constants): fewer to merge.
            ix.refs.sort_unstable();
            ix.refs.dedup();
            ix
        });
        index.refs.reserve(parts.iter().map(|p| p.refs.len()).sum());
        index.rets.reserve(parts.iter().map(|p| p.rets.len()).sum());
        index
            .exits
            .reserve(parts.iter().map(|p| p.exits.len()).sum());
        for part in parts {
            index.refs.extend(part.refs);
            index.rets.extend(part.rets);
            index.exits.extend(part.exits);
        }
        index.finish();
        let (mut nr_targets, mut nr_slots) = self.guess_noreturn(&index);

        // Walk every function; resolution may add functions (targets without symbols), which
        // are walked in turn.
        let mut resolved: Vec<Vec<(x86_64::Site, Target)>> = Vec::with_capacity(self.funcs.len());
        // The functions known from symbols are walked on all cores; those found as targets
        // afterwards, one by one.
        let known = self.funcs.len();
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, 8);
        let mut all: Vec<Option<x86_64::Facts>> = (0..known).map(|_| None).collect();
        {
            let this = &self;
            let (probestack, nr) = (&probestack[..], Some((&nr_targets, &nr_slots)));
            let refs = &index.refs[..];
            // Work handed out in small batches, largest functions first: a few huge ones
            // started last would leave the other cores idle at the end.
            let mut order: Vec<usize> = (0..known).collect();
            order.sort_by_key(|&i| {
                std::cmp::Reverse(this.funcs[i].end.saturating_sub(this.funcs[i].addr))
            });
            let order = &order[..];
            let next = &std::sync::atomic::AtomicUsize::new(0);
            std::thread::scope(|scope| {
                let chunks: Vec<_> = (0..threads)
                    .map(|_| {
                        scope.spawn(move || {
                            // Facts are large: growing this by doubling copied megabytes.
                            let mut out = Vec::with_capacity(known / threads + 16);
                            loop {
                                let from = next.fetch_add(16, std::sync::atomic::Ordering::Relaxed);
                                if from >= known {
                                    return out;
                                }
                                for &i in &order[from..(from + 16).min(known)] {
                                    out.push((i, this.facts_of(i, probestack, nr, refs)));
                                }
                            }
                        })
                    })
                    .collect();
                for c in chunks {
                    for (i, f) in c.join().expect("walk thread") {
                        all[i] = Some(f);
                    }
                }
            });
        }
        for (i, f) in all.into_iter().enumerate() {
            let facts = f.expect("walked");
            let targets = self.resolve_sites(&facts);
            self.funcs[i].facts = Some(facts);
            resolved.push(targets);
        }
        let mut next = known;
        while next < self.funcs.len() {
            let i = next;
            next += 1;
            let (facts, targets) =
                self.walk(i, &probestack, Some((&nr_targets, &nr_slots)), &index.refs);
            self.funcs[i].facts = Some(facts);
            resolved.push(targets);
        }
        // Check the guess against the walks: a function may return if a walk reached a `ret`
        // or a tail jump to one that may. A wrong guess (a `ret` the linear pass missed) is
        // withdrawn and its callers walked again, until nothing changes.
        loop {
            let may_return = self.may_return(&resolved);
            let wrong: Vec<u64> = nr_targets
                .iter()
                .copied()
                .filter(|a| self.by_addr.get(a).is_some_and(|&i| may_return[i]))
                .collect();
            if wrong.is_empty() {
                break;
            }
            for a in &wrong {
                nr_targets.remove(a);
            }
            let wrong_set: HashSet<u64> = wrong.into_iter().collect();
            let slots: Vec<u64> = nr_slots.iter().copied().collect();
            for s in slots {
                if let Target::Func(j) = self.resolve_slot(s, 0) {
                    if wrong_set.contains(&self.funcs[j].addr) {
                        nr_slots.remove(&s);
                    }
                }
            }
            #[allow(clippy::needless_range_loop)] // `self.walk` borrows `self` mutably inside.
            for i in 0..resolved.len() {
                let affected = resolved[i].iter().any(|(_, t)| {
                    matches!(t, Target::Func(j) if wrong_set.contains(&self.funcs[*j].addr))
                });
                if affected {
                    let (facts, targets) =
                        self.walk(i, &probestack, Some((&nr_targets, &nr_slots)), &index.refs);
                    self.funcs[i].facts = Some(facts);
                    resolved[i] = targets;
                }
            }
            // Targets found by these walks are functions to walk too.
            while resolved.len() < self.funcs.len() {
                let i = resolved.len();
                let (facts, targets) =
                    self.walk(i, &probestack, Some((&nr_targets, &nr_slots)), &index.refs);
                self.funcs[i].facts = Some(facts);
                resolved.push(targets);
            }
        }
        for f in &self.funcs {
            let facts = f.facts.as_ref().expect("walked");
            stats.functions += 1;
            stats.instructions += facts.instructions;
            stats.jump_tables += facts.jump_tables.len();
            let switch = f.aliases.iter().any(|a| symbols::is_stack_switch(a));
            if let (Some(a), false) = (facts.dynamic_sp, switch) {
                self.diagnostics.push(format!(
                    "{} ({:#x}): unbounded at {a:#x}: {}",
                    f.name,
                    f.addr,
                    facts.dynamic_reason.unwrap_or("dynamic stack pointer")
                ));
            }
            if let Some((a, d)) = facts.unbalanced_ret {
                self.diagnostics.push(format!(
                    "{} ({:#x}): `ret` at {a:#x} with depth {d} (expected 0)",
                    f.name, f.addr
                ));
            }
        }

        // The graph: code functions first (FuncId = index), externals after.
        let mut graph = CallGraph::new(8);
        graph.functions.reserve(self.funcs.len());
        let mut panic_entries = Vec::new();
        for f in &self.funcs {
            let facts = f.facts.as_ref().expect("analysed above");
            let mut g = Function::new(f.name.clone(), facts.frame);
            g.address = Some(f.addr);
            g.dynamic_sp = facts.dynamic_sp;
            if f.aliases.iter().any(|a| symbols::is_stack_switch(a)) {
                // Moving SP to another stack is what a switch does: not a dynamic frame.
                g.kind = FunctionKind::Grows;
                g.dynamic_sp = None;
            }
            let id = graph.add(g);
            if f.aliases.iter().any(|a| symbols::is_panic_entry(a)) {
                panic_entries.push(id);
            }
        }
        let mut externals: HashMap<String, FuncId> = HashMap::default();
        for (i, sites) in resolved.into_iter().enumerate() {
            let mut edges = Vec::with_capacity(sites.len());
            for (s, t) in sites {
                let tail = matches!(
                    s.kind,
                    x86_64::SiteKind::Tail(_)
                        | x86_64::SiteKind::TailSlot(_)
                        | x86_64::SiteKind::IndirectTail
                );
                let id = match t {
                    Target::Func(j) => Some(FuncId(j as u32)),
                    Target::External(name) => {
                        Some(*externals.entry(name.clone()).or_insert_with(|| {
                            let mut e = Function::new(name.clone(), 0);
                            e.kind = FunctionKind::External;
                            if let Some(&(_, b)) =
                                self.opts.external_bounds.iter().find(|(n, _)| *n == name)
                            {
                                // A built-in bound: a leaf of that frame.
                                e.kind = FunctionKind::Code;
                                e.frame = b;
                            }
                            let id = graph.add(e);
                            if symbols::is_panic_entry(&name) {
                                panic_entries.push(id);
                            }
                            id
                        }))
                    }
                    Target::Unknown => None,
                };
                let target = match (id, tail) {
                    (Some(id), false) => EdgeTarget::Call(id),
                    (Some(id), true) => EdgeTarget::Tail(id),
                    (None, _) => EdgeTarget::Indirect { bound: None },
                };
                edges.push(Edge {
                    target,
                    depth: s.depth.max(0) as u64,
                    site: Some(s.addr),
                });
            }
            graph.functions[i].edges = edges;
        }
        if self.opts.panic == PanicMode::Stop {
            for &id in &panic_entries {
                graph.functions[id.index()].edges.clear();
                graph.functions[id.index()].dynamic_sp = None;
                if graph.functions[id.index()].kind == FunctionKind::External {
                    // An external panic entry (`_Unwind_Resume` from libgcc_s) ends the path
                    // with nothing counted beyond the call itself.
                    graph.functions[id.index()].kind = FunctionKind::Code;
                }
            }
        }

        if self.opts.cross_check {
            let frames: Vec<(u64, u64)> = self
                .funcs
                .iter()
                .map(|f| {
                    (
                        f.addr,
                        f.facts.as_ref().map_or(0, |x| x.max_sp.max(0) as u64),
                    )
                })
                .collect();
            let names: HashMap<u64, &str> = self
                .funcs
                .iter()
                .map(|f| (f.addr, f.name.as_str()))
                .collect();
            for m in eh_frame::cross_check(self.file, &frames) {
                let name = names.get(&m.function).copied().unwrap_or("?");
                self.diagnostics.push(format!(
                    "{name} ({:#x}): .eh_frame CFA offset reaches {} but the walk found depth {} + 8",
                    m.function, m.cfa_max, m.walk_max
                ));
            }
        }

        let (registered, entry_addrs) = registry::read(&self.image)?;
        graph.roots = self.roots(&registered, &entry_addrs);
        graph.panics = Some(crate::graph::Panics {
            stop: self.opts.panic == PanicMode::Stop,
            entries: panic_entries.clone(),
        });
        Ok(ElfGraph {
            graph,
            registered,
            panic_entries,
            panic_mode: self.opts.panic,
            diagnostics: self.diagnostics,
            stats,
        })
    }

    /// One root per registered function and per copy of its code in the binary.
    fn roots(&mut self, registered: &[Registered], entry_addrs: &[u64]) -> Vec<Root> {
        let mut by_canon: HashMap<String, Vec<usize>> = HashMap::default();
        if registered.iter().any(|r| r.addr.is_none()) {
            for (i, f) in self.funcs.iter().enumerate() {
                for a in &f.aliases {
                    let c = loose(&symbols::canonical(a));
                    let v = by_canon.entry(c).or_default();
                    if !v.contains(&i) {
                        v.push(i);
                    }
                }
            }
        }
        let mut roots = Vec::new();
        for (n, r) in registered.iter().enumerate() {
            let budget = u64::from(r.budget.unwrap_or(0))
                .max(if r.budget.is_none() {
                    self.opts.default_budget
                } else {
                    0
                })
                .saturating_mul(self.opts.budget_multiplier.max(1));
            let location = Some(Location {
                file: r.file.clone(),
                line: r.line,
            });
            let mut ids: Vec<usize> = Vec::new();
            if let Some(a) = r.addr {
                // Only functions of the graph: no new function is made after the walks.
                if let Some(&i) = self.by_addr.get(&a) {
                    ids.push(i);
                }
            } else {
                // The compiler's path from the entry's own symbol is exact; the registered
                // path is what the attribute could see (`_` for an unknown impl).
                let exact = entry_addrs.get(n).and_then(|a| self.entry_symbols.get(a));
                if let Some(v) = exact.and_then(|p| by_canon.get(&loose(&symbols::canonical(p)))) {
                    ids.extend(v.iter().copied());
                }
                if ids.is_empty() {
                    let key = loose(&symbols::canonical(&r.path));
                    if let Some(v) = by_canon.get(&key) {
                        ids.extend(v.iter().copied());
                    } else if let Some((module, name)) = key.split_once("::_::") {
                        for (c, v) in &by_canon {
                            if wildcard_match(c, module, name) {
                                ids.extend(v.iter().copied());
                            }
                        }
                    }
                }
                ids.dedup();
            }
            ids.sort_by_key(|&i| self.funcs[i].addr);
            let root = |name: String, function: Option<FuncId>| Root {
                name,
                location: location.clone(),
                budget,
                function,
                declared_callees: r
                    .callees
                    .lines()
                    .filter(|l| !l.is_empty())
                    .map(String::from)
                    .collect(),
                default_budget: r.budget.is_none(),
            };
            if ids.is_empty() {
                roots.push(root(r.path.clone(), None));
                continue;
            }
            let several = ids.len() > 1;
            for i in ids {
                let f = &self.funcs[i];
                let name = if !several {
                    r.path.clone()
                } else if f.name != r.path {
                    f.name.clone()
                } else {
                    format!("{} @{:#x}", f.name, f.addr)
                };
                roots.push(root(name, Some(FuncId(i as u32))));
            }
        }
        roots
    }
}

/// Whether canonical name `c` is `module::T::name` or `<module::T as Tr>::name` for one
/// segment `T`: the registry's `module::_::name`.
fn wildcard_match(c: &str, module: &str, name: &str) -> bool {
    let c = c.strip_prefix('<').map_or(c, |r| r);
    let Some(rest) = c.strip_prefix(module).and_then(|r| r.strip_prefix("::")) else {
        return false;
    };
    if let Some((ty, tail)) = rest.split_once(" as ") {
        return !ty.contains("::") && tail.ends_with(&format!(">::{name}"));
    }
    match rest.split_once("::") {
        Some((ty, n)) => !ty.is_empty() && n == name,
        None => false,
    }
}

/// `f` over `items` on all cores, results in order.
fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    if threads == 1 || items.len() < 64 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| scope.spawn(move || c.iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker thread"))
            .collect()
    })
}

/// External functions that never return.
fn is_noreturn_external(name: &str) -> bool {
    matches!(
        name,
        "abort"
            | "exit"
            | "_exit"
            | "_Exit"
            | "quick_exit"
            | "__assert_fail"
            | "__stack_chk_fail"
            | "__fortify_fail"
            | "__chk_fail"
            | "__libc_fatal"
            | "_Unwind_Resume"
            | "pthread_exit"
            | "__cxa_throw"
            | "__cxa_rethrow"
            | "longjmp"
            | "siglongjmp"
            | "__longjmp_chk"
    )
}

/// Canonical names compared loosely: a trait in `<T as Trait>` by its last segment, since the
/// registry holds the trait as written in the source.
fn loose(c: &str) -> String {
    if let Some(rest) = c.strip_prefix('<') {
        if let Some(pos) = rest.find(" as ") {
            if let Some(close) = rest.rfind(">::") {
                if close > pos {
                    let ty = &rest[..pos];
                    let tr = &rest[pos + 4..close];
                    let tr = tr.rsplit("::").next().unwrap_or(tr);
                    return format!("<{ty} as {tr}>{}", &rest[close + 1..]);
                }
            }
        }
    }
    c.to_string()
}
