use nosplit::nosplit;

#[nosplit(512u8)]
fn handler() {}

fn main() {}
