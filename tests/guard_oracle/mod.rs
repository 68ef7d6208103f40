//! Frame oracle for the guard and measure tests: frame(f) of the running test binary's own
//! functions, read from its `.eh_frame` with `gimli` (independent of the runtime, which asks
//! the system unwinder at one code address). frame(f) = the largest CFA offset over f's
//! unwind rows minus the return address (SPEC §2: the deepest depth f reaches by moving SP;
//! red-zone use is invisible here, so the tested functions are not leaves).
#![allow(dead_code)]

use gimli::{BaseAddresses, CfaRule, EhFrame, NativeEndian, UnwindContext, UnwindSection};
use object::{Object, ObjectSection, ObjectSymbol};

/// The test binary's functions and unwind tables.
pub struct Oracle {
    data: Vec<u8>,
    /// (mangled name, address, size)
    symbols: Vec<(String, u64, u64)>,
}

impl Oracle {
    pub fn load() -> Oracle {
        let exe = std::env::current_exe().expect("current_exe");
        let data = std::fs::read(&exe).expect("read test binary");
        let symbols = {
            let file = object::File::parse(&*data).expect("parse test binary");
            file.symbols()
                .filter(|s| s.kind() == object::SymbolKind::Text && s.size() > 0)
                .filter_map(|s| Some((s.name().ok()?.to_string(), s.address(), s.size())))
                .collect()
        };
        Oracle { data, symbols }
    }

    /// The link-time address of the function `module::name` of this test crate (legacy
    /// mangling: `..6module4name17h..E`). Panics unless exactly one symbol matches.
    pub fn address_of(&self, module_and_name: &str) -> u64 {
        let pattern: String = module_and_name
            .split("::")
            .map(|seg| format!("{}{}", seg.len(), seg))
            .collect::<String>()
            + "17h";
        let hits: Vec<_> = self
            .symbols
            .iter()
            .filter(|(n, _, _)| n.contains(&pattern))
            .collect();
        assert_eq!(hits.len(), 1, "symbols matching {pattern}: {hits:?}");
        hits[0].1
    }

    /// frame(f) for the function at link-time address `addr`.
    pub fn frame_at(&self, addr: u64) -> u64 {
        let file = object::File::parse(&*self.data).expect("parse");
        let section = file.section_by_name(".eh_frame").expect(".eh_frame");
        let eh = EhFrame::new(section.data().expect("data"), NativeEndian);
        let mut bases = BaseAddresses::default().set_eh_frame(section.address());
        if let Some(text) = file.section_by_name(".text") {
            bases = bases.set_text(text.address());
        }
        let fde = eh
            .fde_for_address(&bases, addr, EhFrame::cie_from_offset)
            .unwrap_or_else(|e| panic!("no FDE for {addr:#x}: {e}"));
        let mut ctx = Box::new(UnwindContext::new());
        let mut table = fde.rows(&eh, &bases, &mut ctx).expect("rows");
        let mut max = 0u64;
        while let Some(row) = table.next_row().expect("row") {
            match row.cfa() {
                CfaRule::RegisterAndOffset { register, offset } => {
                    assert_eq!(register.0, 7, "CFA not on rsp at {addr:#x}: frame pointer?");
                    max = max.max(*offset as u64);
                }
                other => panic!("CFA rule {other:?} at {addr:#x}"),
            }
        }
        max - 8
    }

    /// frame(f) for `module::name` of this test crate.
    pub fn frame(&self, module_and_name: &str) -> u64 {
        self.frame_at(self.address_of(module_and_name))
    }

    /// The difference between run-time and link-time addresses (PIE load bias), from a
    /// function whose run-time address the caller knows.
    pub fn bias(&self, module_and_name: &str, runtime_addr: usize) -> i64 {
        runtime_addr as i64 - self.address_of(module_and_name) as i64
    }
}

/// Return addresses of the current thread's frames, innermost first (the frame calling
/// this function first), from the system unwinder.
pub fn return_addresses() -> Vec<usize> {
    use std::ffi::{c_int, c_void};
    extern "C" {
        fn _Unwind_Backtrace(
            trace: extern "C" fn(*mut c_void, *mut c_void) -> c_int,
            arg: *mut c_void,
        ) -> c_int;
        fn _Unwind_GetIP(ctx: *mut c_void) -> usize;
    }
    extern "C" fn step(ctx: *mut c_void, arg: *mut c_void) -> c_int {
        // SAFETY: `arg` is the Vec below.
        let v = unsafe { &mut *(arg as *mut Vec<usize>) };
        v.push(unsafe { _Unwind_GetIP(ctx) });
        if v.len() > 64 {
            4
        } else {
            0
        }
    }
    let mut v: Vec<usize> = Vec::new();
    unsafe { _Unwind_Backtrace(step, &mut v as *mut Vec<usize> as *mut c_void) };
    v.remove(0); // this function
    v
}

impl Oracle {
    /// The name of the function symbol containing link-time address `addr`.
    pub fn symbol_at(&self, addr: u64) -> Option<&str> {
        self.symbols
            .iter()
            .find(|(_, a, s)| (*a..a + s).contains(&addr))
            .map(|(n, _, _)| n.as_str())
    }
}
