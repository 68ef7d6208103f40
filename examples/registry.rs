use nosplit::nosplit;

#[nosplit(512)]
fn leaf(x: u64) -> u64 {
    x.wrapping_mul(3)
}

#[nosplit]
fn generic<T: Copy>(x: T) -> T {
    x
}

fn main() {
    println!("{}", leaf(3) + generic(1));
    for e in nosplit::registry() {
        println!("{e} addr={:?}", e.address());
    }
}
