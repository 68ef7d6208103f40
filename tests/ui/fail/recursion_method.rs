use nosplit::nosplit;

struct Node {
    next: Option<Box<Node>>,
}

#[nosplit]
impl Node {
    #[nosplit(512)]
    fn len(&self) -> usize {
        match &self.next {
            Some(next) => 1 + Node::len(next),
            None => 1,
        }
    }
}

fn main() {
    let _ = Node { next: None }.len();
}
