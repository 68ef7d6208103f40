use nosplit::nosplit;

#[nosplit]
mod handlers {
    pub fn irq() {}
}

fn main() {
    handlers::irq();
}
