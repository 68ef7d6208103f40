use nosplit::nosplit;

fn main() {
    let handler = #[nosplit] || 1;
    handler();
}
