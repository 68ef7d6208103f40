//! Methods annotated without `#[nosplit]` on their impl: registered as `module::_::name`.
use nosplit::nosplit;

pub struct Timer(u64);

impl Timer {
    #[nosplit(8192)]
    pub fn elapsed(&self) -> u64 {
        self.0
    }

    #[nosplit]
    pub fn zero() -> Self {
        Timer(0)
    }
}

pub trait Clock {
    fn now(&self) -> u64;

    #[nosplit(8192)]
    fn twice(&self) -> u64 {
        self.now() * 2
    }
}

impl Clock for Timer {
    fn now(&self) -> u64 {
        self.0 + 1
    }
}

fn main() {
    assert_eq!(Timer::zero().elapsed() + Timer(1).twice(), 4);
    for name in ["elapsed", "zero", "twice"] {
        let path = format!("{}::_::{name}", module_path!());
        let e = nosplit::find(&path).expect(&path);
        assert_eq!(e.address(), None);
        assert_eq!(e.name(), name);
    }
}
