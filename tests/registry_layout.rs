//! The in-memory layout of `Entry` is the table of `docs/REGISTRY.md` (64-bit targets): each
//! field is read back from the raw bytes at its documented offset and compared with the
//! accessors.

use nosplit::{nosplit, Entry};

#[nosplit(700)]
fn with_budget(x: u32) -> u32 {
    x.count_ones()
}

#[nosplit]
fn generic<T>(x: T) -> T {
    core::convert::identity(x)
}

#[test]
fn entry_bytes_follow_the_documented_table() {
    assert_eq!(core::mem::size_of::<Entry>(), 72);
    assert_eq!(core::mem::align_of::<Entry>(), 8);
    assert_eq!(with_budget(3) + generic(1), 3);
    let all = nosplit::registry();
    assert_eq!(all.len(), 2);
    // Entries lie back to back: stride 72.
    assert_eq!(
        (&all[1] as *const Entry as usize) - (&all[0] as *const Entry as usize),
        72
    );
    for e in all {
        // SAFETY: an `Entry` is 72 initialised bytes without padding.
        let b: &[u8] = unsafe { core::slice::from_raw_parts(e as *const Entry as *const u8, 72) };
        let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
        let usize_at = |o: usize| usize::from_le_bytes(b[o..o + 8].try_into().unwrap());
        assert_eq!(&b[0..4], b"NSPL");
        assert_eq!(u32_at(0), 0x4C50_534E);
        assert_eq!(u32_at(4), 1);
        assert_eq!(u32_at(8), e.budget().unwrap_or(0));
        assert_eq!(u32_at(12), e.line());
        assert_eq!(usize_at(16), e.address().map_or(0, |a| a as usize));
        for (o, s) in [(24, e.path()), (40, e.file()), (56, e.callees.as_str())] {
            assert_eq!(usize_at(o + 8), s.len(), "{}", e.path());
            if !s.is_empty() {
                assert_eq!(usize_at(o), s.as_ptr() as usize, "{}", e.path());
            }
        }
    }
    let w = nosplit::find("with_budget").unwrap();
    assert_eq!(w.budget(), Some(700));
    assert_eq!(w.address(), Some(with_budget as *const ()));
    assert_eq!(w.callees.as_str(), ".count_ones");
    let g = nosplit::find("generic").unwrap();
    assert_eq!((g.budget(), g.address()), (None, None));
    assert_eq!(g.callees.as_str(), "core::convert::identity");
}
