use nosplit::nosplit;

#[nosplit]
async fn poll_once() {}

fn main() {
    let _ = poll_once();
}
