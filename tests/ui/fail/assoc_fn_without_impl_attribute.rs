use nosplit::nosplit;

struct Timer;

impl Timer {
    // Neither `self` nor `Self`: without `#[nosplit]` on the impl this looks like a free
    // function, whose address the attribute would take by name.
    #[nosplit]
    fn ticks_per_ms() -> u32 {
        1000
    }
}

fn main() {
    let _ = Timer::ticks_per_ms();
}
