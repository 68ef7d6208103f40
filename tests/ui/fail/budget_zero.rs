use nosplit::nosplit;

#[nosplit(budget = 0)]
fn handler() {}

fn main() {}
