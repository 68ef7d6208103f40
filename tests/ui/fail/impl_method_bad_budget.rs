use nosplit::nosplit;

struct Ring;

#[nosplit]
impl Ring {
    #[nosplit(budget = "256")]
    fn push(&self) {}

    #[nosplit(budget = 0)]
    fn pop(&self) {}
}

fn main() {
    Ring.push();
    Ring.pop();
}
