use nosplit::nosplit;

#[nosplit("512")]
fn handler() {}

fn main() {}
