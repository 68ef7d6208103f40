//! `unsafe fn`, `extern "C" fn`, `#[no_mangle]` and `#[unsafe(no_mangle)]`.
use nosplit::nosplit;

#[nosplit(8192)]
unsafe fn read(p: *const u32) -> u32 {
    p.read()
}

#[nosplit(8192)]
extern "C" fn c_callback(x: u32) -> u32 {
    x + 1
}

#[nosplit(8192)]
#[no_mangle]
pub extern "C" fn pass_no_mangle_handler() {}

/// # Safety
/// None needed; `unsafe` only tests the form.
#[nosplit(8192)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pass_unsafe_no_mangle_handler() {}

fn main() {
    assert_eq!(unsafe { read(&41) } + c_callback(0), 42);
    pass_no_mangle_handler();
    unsafe { pass_unsafe_no_mangle_handler() };
    for (path, addr) in [
        ("read", read as *const ()),
        ("c_callback", c_callback as *const ()),
        (
            "pass_no_mangle_handler",
            pass_no_mangle_handler as *const (),
        ),
        (
            "pass_unsafe_no_mangle_handler",
            pass_unsafe_no_mangle_handler as *const (),
        ),
    ] {
        assert_eq!(nosplit::find(path).unwrap().address(), Some(addr), "{path}");
    }
}
