use nosplit::nosplit;

#[nosplit]
struct Frame {
    sp: usize,
}

fn main() {
    let _ = Frame { sp: 0 }.sp;
}
