//! Methods and associated functions of an annotated inherent impl.
use nosplit::nosplit;

pub struct Stack {
    depth: usize,
}

#[nosplit]
impl Stack {
    #[nosplit(8192)]
    pub fn new() -> Self {
        Stack { depth: 0 }
    }

    #[nosplit(8192)]
    pub fn push(&mut self) -> usize {
        self.depth += 1;
        self.depth
    }

    #[nosplit(8192)]
    pub unsafe fn reset(&mut self) {
        self.depth = 0;
    }

    #[nosplit(8192)]
    pub const fn capacity() -> usize {
        64
    }

    pub fn unregistered(&self) -> usize {
        self.depth
    }
}

fn main() {
    let mut s = Stack::new();
    assert_eq!(s.push() + Stack::capacity(), 65);
    unsafe { s.reset() };
    assert_eq!(s.unregistered(), 0);
    for (path, addr) in [
        ("Stack::new", Stack::new as *const ()),
        ("Stack::push", Stack::push as *const ()),
        ("Stack::reset", Stack::reset as *const ()),
        ("Stack::capacity", Stack::capacity as *const ()),
    ] {
        let path = format!("{}::{path}", module_path!());
        let e = nosplit::find(&path).expect(&path);
        assert_eq!(e.address(), Some(addr), "{path}");
    }
    assert_eq!(nosplit::registry().len(), 4);
}
