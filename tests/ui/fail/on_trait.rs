use nosplit::nosplit;

#[nosplit]
trait Handler {
    fn handle(&self);
}

fn main() {}
