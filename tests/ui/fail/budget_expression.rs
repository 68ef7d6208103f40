use nosplit::nosplit;

#[nosplit(budget = 4 * 1024)]
fn handler() {}

fn main() {}
