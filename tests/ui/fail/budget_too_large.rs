use nosplit::nosplit;

#[nosplit(4_294_967_296)]
fn handler() {}

fn main() {}
