use nosplit::nosplit;

const BUDGET: u32 = 512;

#[nosplit(BUDGET)]
fn handler() {}

fn main() {
    let _ = BUDGET;
}
