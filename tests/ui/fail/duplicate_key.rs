use nosplit::nosplit;

#[nosplit(budget = 512, budget = 1024)]
fn handler() {}

fn main() {}
