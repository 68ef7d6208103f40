use nosplit::nosplit;

struct Countdown(u32);

#[nosplit]
impl Countdown {
    #[nosplit(512)]
    fn run(&mut self) {
        if self.0 > 0 {
            self.0 -= 1;
            self.run();
        }
    }
}

fn main() {
    Countdown(3).run();
}
