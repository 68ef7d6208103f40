use nosplit::nosplit;

#[nosplit]
impl Ring {
    #[nosplit = 512]
    fn push(&self) {}
}

struct Ring;

fn main() {
    Ring.push();
}
