use nosplit::nosplit;

#[nosplit(512)]
fn walk(depth: u32) -> u32 {
    let next = |d: u32| self::walk(d + 1);
    if depth > 8 {
        depth
    } else {
        next(depth)
    }
}

fn main() {
    walk(0);
}
