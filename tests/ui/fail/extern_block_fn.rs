use nosplit::nosplit;

extern "C" {
    #[nosplit]
    fn abort() -> !;
}

fn main() {}
