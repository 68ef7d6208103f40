use nosplit::nosplit;

struct Ring;

#[nosplit]
#[nosplit(256)]
impl Ring {
    #[nosplit]
    fn push(&self) {}
}

fn main() {
    Ring.push();
}
