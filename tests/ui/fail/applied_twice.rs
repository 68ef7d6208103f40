use nosplit::nosplit;

#[nosplit(512)]
#[nosplit(1024)]
fn handler() {}

fn main() {
    handler();
}
