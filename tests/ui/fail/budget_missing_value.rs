use nosplit::nosplit;

#[nosplit(budget)]
fn handler() {}

fn main() {}
