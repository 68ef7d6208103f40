use nosplit::nosplit;

#[nosplit(size = 512)]
fn handler() {}

fn main() {}
