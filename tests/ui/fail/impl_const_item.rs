use nosplit::nosplit;

struct Ring;

#[nosplit]
impl Ring {
    #[nosplit]
    const CAPACITY: usize = 64;

    #[nosplit]
    fn push(&self) {}
}

fn main() {
    Ring.push();
    let _ = Ring::CAPACITY;
}
