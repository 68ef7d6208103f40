//! Any bytes as machine code for the x86_64 walk: facts, never a panic or a hang.
#![no_main]

use cargo_nosplit::elf::x86_64::{analyze, Memory, WalkOptions};
use libfuzzer_sys::fuzz_target;

struct Bytes<'a>(&'a [u8]);

impl Memory for Bytes<'_> {
    fn read(&self, addr: u64, len: usize) -> Option<&[u8]> {
        let a = usize::try_from(addr.checked_sub(0x1000)?).ok()?;
        self.0.get(a..a.checked_add(len)?)
    }
    fn pointer(&self, addr: u64) -> Option<u64> {
        Some(u64::from_le_bytes(self.read(addr, 8)?.try_into().ok()?))
    }
}

fuzz_target!(|data: &[u8]| {
    let probestack = [0x1000 + data.len() as u64];
    let f = analyze(
        data,
        0x1000,
        &Bytes(data),
        WalkOptions {
            probestack: &probestack,
            ..Default::default()
        },
    );
    assert!(f.max_sp <= f.frame as i64 || f.max_sp < 0);
});
