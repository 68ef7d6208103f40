use nosplit::nosplit;

#[nosplit]
const HANDLER: fn() = handler;

fn handler() {}

fn main() {
    HANDLER();
}
