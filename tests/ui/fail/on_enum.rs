use nosplit::nosplit;

#[nosplit(512)]
enum State {
    Idle,
}

fn main() {
    let _ = State::Idle;
}
