use nosplit::nosplit;

#[nosplit(512, budget = 1024)]
fn handler() {}

fn main() {}
