//! An interrupt handler with a stack budget, as firmware writes it.
//!
//! On a microcontroller an interrupt runs on the stack of whatever it interrupted (or on a
//! small dedicated main stack), so its whole call chain must fit what the firmware reserved
//! for it. Here a UART receive interrupt drains the data register into a lock-free ring,
//! frames lines, checks each line's CRC-8 and queues complete commands for the main loop.
//! Everything under `mod firmware` uses `core` only, as it would in a `no_std` crate; the
//! host `main` stands in for the hardware by filling the "registers" and raising the
//! interrupt.
//!
//! `cargo nosplit --example irq_handler` proves that `USART1_IRQHandler`, with every callee,
//! fits its 256 bytes; a debug run (`cargo run --example irq_handler`) checks it again with
//! the runtime guard. Unoptimised, the four annotated functions use 3 752 bytes (the guard
//! measures 776 + 1 144 + 920 + 888, and 8 per call), 14.7 times the budget, so `main` sets
//! the unoptimised-build multiplier to 16 rather than the default 4.

mod firmware {
    use core::sync::atomic::{AtomicU32, AtomicU8, AtomicUsize, Ordering::Relaxed};
    use nosplit::nosplit;

    /// Status register bit: a byte waits in the data register.
    pub const RXNE: u32 = 1 << 5;
    /// Status register bit: a byte was lost because the previous one was not read in time.
    pub const ORE: u32 = 1 << 3;

    /// The UART's memory-mapped registers (plain statics on the host).
    pub struct Uart {
        pub status: AtomicU32,
        pub data: AtomicU32,
    }

    pub static UART1: Uart = Uart {
        status: AtomicU32::new(0),
        data: AtomicU32::new(0),
    };

    /// Single-producer (the interrupt), single-consumer (the main loop) ring of bytes.
    pub struct Ring<const N: usize> {
        buf: [AtomicU8; N],
        head: AtomicUsize,
        tail: AtomicUsize,
    }

    impl<const N: usize> Ring<N> {
        pub const fn new() -> Self {
            Ring {
                buf: [const { AtomicU8::new(0) }; N],
                head: AtomicUsize::new(0),
                tail: AtomicUsize::new(0),
            }
        }

        fn push(&self, byte: u8) -> bool {
            let head = self.head.load(Relaxed);
            if head.wrapping_sub(self.tail.load(Relaxed)) == N {
                return false;
            }
            self.buf[head % N].store(byte, Relaxed);
            self.head.store(head.wrapping_add(1), Relaxed);
            true
        }

        pub fn pop(&self) -> Option<u8> {
            let tail = self.tail.load(Relaxed);
            if tail == self.head.load(Relaxed) {
                return None;
            }
            let byte = self.buf[tail % N].load(Relaxed);
            self.tail.store(tail.wrapping_add(1), Relaxed);
            Some(byte)
        }
    }

    /// Complete, CRC-checked commands for the main loop.
    pub static COMMANDS: Ring<256> = Ring::new();
    /// Lines dropped: bad CRC, overrun, or no room in `COMMANDS`.
    pub static DROPPED: AtomicU32 = AtomicU32::new(0);

    /// The line being received, kept between interrupts.
    static LINE: [AtomicU8; 64] = [const { AtomicU8::new(0) }; 64];
    static LINE_LEN: AtomicUsize = AtomicUsize::new(0);

    /// The receive interrupt: drains the data register, frames lines ending in `\n` whose
    /// last byte is the CRC-8 of the rest, and queues good lines.
    #[nosplit(budget = 256)]
    #[no_mangle]
    pub extern "C" fn USART1_IRQHandler() {
        loop {
            let status = UART1.status.load(Relaxed);
            if status & ORE != 0 {
                // A byte was lost: the current line is garbage.
                LINE_LEN.store(0, Relaxed);
                DROPPED.fetch_add(1, Relaxed);
                UART1.status.fetch_and(!ORE, Relaxed);
            }
            if status & RXNE == 0 {
                return;
            }
            let byte = UART1.data.load(Relaxed) as u8;
            UART1.status.fetch_and(!RXNE, Relaxed);
            on_byte(byte);
        }
    }

    #[nosplit]
    #[inline(never)]
    fn on_byte(byte: u8) {
        let len = LINE_LEN.load(Relaxed);
        if byte != b'\n' {
            if len < LINE.len() {
                LINE[len].store(byte, Relaxed);
                LINE_LEN.store(len + 1, Relaxed);
            }
            return;
        }
        LINE_LEN.store(0, Relaxed);
        // Copy the line out of the shared buffer before checking it.
        let mut line = [0u8; 64];
        for (dst, src) in line.iter_mut().zip(&LINE[..len]) {
            *dst = src.load(Relaxed);
        }
        if !queue_line(&line[..len]) {
            DROPPED.fetch_add(1, Relaxed);
        }
    }

    #[nosplit]
    #[inline(never)]
    fn queue_line(line: &[u8]) -> bool {
        let Some((&crc, body)) = line.split_last() else {
            return false;
        };
        if crc8(body) != crc {
            return false;
        }
        body.iter().all(|&b| COMMANDS.push(b)) && COMMANDS.push(b'\n')
    }

    /// CRC-8/SMBUS (polynomial 0x07), bitwise: no table, so no flash and no stack to speak of.
    #[nosplit]
    #[inline(never)]
    pub fn crc8(bytes: &[u8]) -> u8 {
        let mut crc = 0u8;
        for &b in bytes {
            crc ^= b;
            for _ in 0..8 {
                crc = if crc & 0x80 != 0 {
                    (crc << 1) ^ 0x07
                } else {
                    crc << 1
                };
            }
        }
        crc
    }
}

use core::sync::atomic::Ordering::Relaxed;
use firmware::{crc8, UART1};

/// Plays the hardware: puts `byte` in the data register and raises the interrupt.
fn receive(byte: u8) {
    UART1.data.store(u32::from(byte), Relaxed);
    UART1.status.fetch_or(firmware::RXNE, Relaxed);
    firmware::USART1_IRQHandler();
}

/// The debug-build multiplier of the runtime guard (see above).
const UNOPTIMIZED_MULTIPLIER: u32 = 16;

fn main() {
    if cfg!(debug_assertions) {
        nosplit::guard::set_unoptimized_multiplier(UNOPTIMIZED_MULTIPLIER);
    }
    for command in ["led on", "led off", "set speed 9600"] {
        let crc = crc8(command.as_bytes());
        command.bytes().chain([crc, b'\n']).for_each(receive);
    }
    // A line with a bad CRC is dropped.
    b"reboot\x00\n".iter().copied().for_each(receive);
    let mut received = Vec::new();
    while let Some(b) = firmware::COMMANDS.pop() {
        received.push(b);
    }
    print!("commands:\n{}", String::from_utf8_lossy(&received));
    println!("dropped: {}", firmware::DROPPED.load(Relaxed));
}
