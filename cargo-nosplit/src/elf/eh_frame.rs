//! `.eh_frame` cross-check: the largest CFA offset of each function's unwind rows must be its
//! deepest SP depth plus the return address (8).

use gimli::{BaseAddresses, CfaRule, EhFrame, NativeEndian, UnwindContext, UnwindSection};
use object::{Object, ObjectSection};

/// A function whose unwind information disagrees with the walk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// Entry address.
    pub function: u64,
    /// Largest `rsp`-based CFA offset in `.eh_frame`.
    pub cfa_max: u64,
    /// The walk's deepest SP depth (without red-zone use).
    pub walk_max: u64,
}

/// The `.eh_frame` section with the base addresses its pointer encodings may refer to;
/// `None` when the file has no readable `.eh_frame`.
fn eh_frame<'d>(
    file: &impl Object<'d>,
) -> Option<(EhFrame<gimli::EndianSlice<'d, NativeEndian>>, BaseAddresses)> {
    let sec = file.section_by_name(".eh_frame")?;
    let data = sec.data().ok()?;
    let eh = EhFrame::new(data, NativeEndian);
    let mut bases = BaseAddresses::default().set_eh_frame(sec.address());
    if let Some(t) = file.section_by_name(".text") {
        bases = bases.set_text(t.address());
    }
    if let Some(g) = file.section_by_name(".got") {
        bases = bases.set_got(g.address());
    }
    Some((eh, bases))
}

/// Largest `rsp`-relative CFA offset per FDE start address.
pub fn max_cfa_offsets<'d>(file: &impl Object<'d>) -> Vec<(u64, u64)> {
    let Some((eh, bases)) = eh_frame(file) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut ctx = UnwindContext::new();
    let mut entries = eh.entries(&bases);
    while let Ok(Some(entry)) = entries.next() {
        let gimli::CieOrFde::Fde(partial) = entry else {
            continue;
        };
        let Ok(fde) = partial.parse(|s, b, o| s.cie_from_offset(b, o)) else {
            continue;
        };
        let Ok(mut table) = fde.rows(&eh, &bases, &mut ctx) else {
            continue;
        };
        let mut max = 0u64;
        let mut rsp_based = true;
        while let Ok(Some(row)) = table.next_row() {
            match row.cfa() {
                CfaRule::RegisterAndOffset { register, offset }
                    if *register == gimli::X86_64::RSP =>
                {
                    max = max.max((*offset).max(0) as u64);
                }
                _ => rsp_based = false,
            }
        }
        if rsp_based {
            out.push((fde.initial_address(), max));
        }
    }
    out
}

/// `(start, length)` of every function `.eh_frame` describes: the boundaries of code without
/// symbols (the local functions of a shared library that only has `.dynsym`).
pub fn fde_ranges<'d>(file: &impl Object<'d>) -> Vec<(u64, u64)> {
    let Some((eh, bases)) = eh_frame(file) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut entries = eh.entries(&bases);
    while let Ok(Some(entry)) = entries.next() {
        let gimli::CieOrFde::Fde(partial) = entry else {
            continue;
        };
        if let Ok(fde) = partial.parse(|s, b, o| s.cie_from_offset(b, o)) {
            if fde.len() > 0 {
                out.push((fde.initial_address(), fde.len()));
            }
        }
    }
    out
}

/// Compares `(address, deepest SP depth)` of the walk with `.eh_frame`; functions that switch
/// to a frame pointer (CFA from `rbp`) are not compared.
pub fn cross_check<'d>(file: &impl Object<'d>, walk: &[(u64, u64)]) -> Vec<Mismatch> {
    let by_addr: std::collections::HashMap<u64, u64> = walk.iter().copied().collect();
    let mut out = Vec::new();
    for (addr, cfa) in max_cfa_offsets(file) {
        if let Some(&w) = by_addr.get(&addr) {
            if cfa != w + 8 {
                out.push(Mismatch {
                    function: addr,
                    cfa_max: cfa,
                    walk_max: w,
                });
            }
        }
    }
    out.sort_by_key(|m| m.function);
    out
}
