//! The built-in bounds of libc's memory functions (`elf::LIBC_BOUNDS`), checked on this
//! machine's glibc with the checker's own analysis: every implementation an IFUNC resolver can
//! pick (the addresses its code loads with `lea reg, [rip+X]`) is walked, and its worst must
//! be within the bound. Skipped when the libc is not where Debian puts it.

use std::collections::HashSet;

use cargo_nosplit::analysis::analyze;
use cargo_nosplit::config::Assumptions;
use cargo_nosplit::elf::{self, Options};
use iced_x86::{Decoder, DecoderOptions, Mnemonic};
use object::{Object, ObjectSection, ObjectSymbol};

const LIBC: &str = "/lib/x86_64-linux-gnu/libc.so.6";

#[test]
fn libc_bounds_hold_on_this_glibc() {
    let Ok(data) = std::fs::read(LIBC) else {
        eprintln!("skipped: {LIBC} not found");
        return;
    };
    let file = object::File::parse(&*data).unwrap();
    let g = elf::load(std::path::Path::new(LIBC), &Options::default()).unwrap();
    let a = analyze(&g.graph, &Assumptions::default());
    let mut failures = Vec::new();
    for &(name, bound) in elf::LIBC_BOUNDS {
        // Every version of the symbol: the IFUNC resolver's candidates, or the function itself.
        let text = file.section_by_name(".text").unwrap();
        let (lo, hi) = (text.address(), text.address() + text.size());
        let mut candidates = HashSet::new();
        for sym in file
            .dynamic_symbols()
            .filter(|s| s.name() == Ok(name) && s.size() > 0)
        {
            let off = (sym.address() - text.address()) as usize;
            let code = &text.data().unwrap()[off..off + sym.size() as usize];
            let d = Decoder::with_ip(64, code, sym.address(), DecoderOptions::NONE);
            let mut leas = 0;
            for ins in d {
                if ins.mnemonic() == Mnemonic::Lea && ins.is_ip_rel_memory_operand() {
                    let t = ins.ip_rel_memory_address();
                    if (lo..hi).contains(&t) {
                        candidates.insert(t);
                        leas += 1;
                    }
                }
            }
            if leas == 0 {
                candidates.insert(sym.address());
            }
        }
        assert!(
            candidates.len() >= 2,
            "{name}: resolver with {} candidates",
            candidates.len()
        );
        let mut worst = 0;
        for c in &candidates {
            let id = g
                .graph
                .functions
                .iter()
                .position(|f| f.address == Some(*c))
                .unwrap_or_else(|| panic!("{name}: candidate {c:#x} is not a function"));
            let w = match a.worst[id] {
                cargo_nosplit::analysis::Worst::Bounded(w) => w,
                cargo_nosplit::analysis::Worst::Unbounded(cause) => {
                    eprintln!(
                        "{name}: candidate {c:#x} ({}) unbounded: {}",
                        g.graph.functions[id].name,
                        cargo_nosplit::report::cause_text(&g.graph, a.cause(cause))
                    );
                    u64::MAX
                }
            };
            worst = worst.max(w);
        }
        eprintln!(
            "{name}: {} implementations, worst {worst} (bound {bound})",
            candidates.len()
        );
        if worst > bound {
            failures.push(format!("{name}: {worst} > {bound}"));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}
