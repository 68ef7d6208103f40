use nosplit::nosplit;

struct Device;

#[nosplit]
impl Device {
    #[nosplit(512)]
    async fn read(&self) {}
}

fn main() {
    let _ = Device.read();
}
