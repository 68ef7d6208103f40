use nosplit::nosplit;

#[nosplit(budget = 1.5)]
fn handler() {}

fn main() {}
