//! Any bytes given to the ELF front end: an error or a graph, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = cargo_nosplit::elf::Options {
        cross_check: true,
        ..Default::default()
    };
    if let Ok(g) = cargo_nosplit::elf::analyze(data, &opts) {
        // The graph must be usable by the core.
        let _ = cargo_nosplit::analysis::analyze(&g.graph, &Default::default());
    }
});
