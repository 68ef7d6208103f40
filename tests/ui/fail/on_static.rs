use nosplit::nosplit;

#[nosplit(512)]
static HANDLER: fn() = handler;

fn handler() {}

fn main() {
    HANDLER();
}
