//! A function in a block, a parameter that shadows its function, raw identifiers.
use nosplit::nosplit;

fn outer() -> u32 {
    #[nosplit(8192)]
    fn inner(x: u32) -> u32 {
        x + 1
    }

    // A type and its annotated impl inside a function body.
    struct Local(u32);
    #[nosplit]
    impl Local {
        #[nosplit(8192)]
        fn get(&self) -> u32 {
            self.0
        }
    }

    inner(1) + Local(0).get()
}

#[nosplit(8192)]
fn count(count: u32) -> u32 {
    count
}

#[nosplit(8192)]
fn r#loop(r#type: u32) -> u32 {
    r#type
}

fn find(name: &str) -> &'static nosplit::Entry {
    nosplit::find(&format!("{}::{name}", module_path!())).expect(name)
}

fn main() {
    assert_eq!(outer() + count(1) + r#loop(1), 4);
    assert!(find("inner").address().is_some());
    assert!(find("Local::get").address().is_some());
    assert_eq!(find("count").address(), Some(count as *const ()));
    assert_eq!(find("loop").address(), Some(r#loop as *const ()));
}
