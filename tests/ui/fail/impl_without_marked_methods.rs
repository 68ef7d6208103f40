use nosplit::nosplit;

struct Ring;

#[nosplit(512)]
impl Ring {
    fn push(&self) {}
}

fn main() {
    Ring.push();
}
