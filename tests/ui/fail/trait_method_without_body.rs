use nosplit::nosplit;

trait Handler {
    #[nosplit(512)]
    fn handle(&self);
}

fn main() {}
