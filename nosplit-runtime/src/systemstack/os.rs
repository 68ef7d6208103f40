//! Memory for the per-thread stacks and the overflow report (unix: `mmap`, a guard page,
//! a `SIGSEGV`/`SIGBUS` handler on an alternate signal stack).

use std::io;

/// One mapping: `[lo, lo + guard)` is inaccessible, `[lo + guard, lo + len)` is the stack.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mapping {
    lo: usize,
    len: usize,
    guard: usize,
}

impl Mapping {
    pub(crate) fn guard_lo(&self) -> usize {
        self.lo
    }
    pub(crate) fn base(&self) -> *mut u8 {
        (self.lo + self.guard) as *mut u8
    }
    pub(crate) fn top(&self) -> *mut u8 {
        (self.lo + self.len) as *mut u8
    }
}

#[cfg(unix)]
pub(crate) use unix::*;

#[cfg(unix)]
mod unix {
    use super::*;
    use core::ptr::null_mut;
    use std::sync::Once;

    pub(crate) fn page_size() -> usize {
        // SAFETY: sysconf has no preconditions.
        let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if p > 0 {
            p as usize
        } else {
            4096
        }
    }

    /// Maps `size` bytes (rounded up to pages) of stack below one guard page.
    pub(crate) fn map_stack(size: usize) -> io::Result<Mapping> {
        let page = page_size();
        let usable = size.div_ceil(page) * page;
        map(usable, page)
    }

    fn map(usable: usize, guard: usize) -> io::Result<Mapping> {
        let len = usable + guard;
        // SAFETY: a fresh anonymous mapping; no existing memory is touched.
        let p = unsafe {
            libc::mmap(
                null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANON | stack_flag(),
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the first page of the mapping just made.
        if unsafe { libc::mprotect(p, guard, libc::PROT_NONE) } != 0 {
            let e = io::Error::last_os_error();
            // SAFETY: unmapping what we mapped.
            unsafe { libc::munmap(p, len) };
            return Err(e);
        }
        Ok(Mapping {
            lo: p as usize,
            len,
            guard,
        })
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn stack_flag() -> libc::c_int {
        libc::MAP_STACK
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn stack_flag() -> libc::c_int {
        0
    }

    pub(crate) fn unmap(m: Mapping) {
        // SAFETY: `m` came from `map` and is no longer in use.
        unsafe { libc::munmap(m.lo as *mut libc::c_void, m.len) };
    }

    /// Gives the thread an alternate signal stack if it has none (threads not started by
    /// std), so that the overflow handler can run; returns it for freeing at thread exit.
    pub(crate) fn ensure_altstack() -> io::Result<Option<Mapping>> {
        // SAFETY: querying only.
        let mut cur: libc::stack_t = unsafe { core::mem::zeroed() };
        if unsafe { libc::sigaltstack(null_mut(), &mut cur) } != 0 {
            return Err(io::Error::last_os_error());
        }
        if cur.ss_flags & libc::SS_DISABLE == 0 {
            return Ok(None);
        }
        let page = page_size();
        let size = (libc::SIGSTKSZ.max(64 * 1024)).div_ceil(page) * page;
        let m = map(size, page)?;
        let st = libc::stack_t {
            ss_sp: m.base() as *mut libc::c_void,
            ss_flags: 0,
            ss_size: size,
        };
        // SAFETY: `m` stays mapped until `release_altstack` disables it.
        if unsafe { libc::sigaltstack(&st, null_mut()) } != 0 {
            let e = io::Error::last_os_error();
            unmap(m);
            return Err(e);
        }
        Ok(Some(m))
    }

    /// Disables and frees an alternate signal stack made by `ensure_altstack`, if the
    /// thread still uses it.
    pub(crate) fn release_altstack(m: Mapping) {
        // SAFETY: querying, then disabling our own stack.
        unsafe {
            let mut cur: libc::stack_t = core::mem::zeroed();
            if libc::sigaltstack(null_mut(), &mut cur) == 0
                && core::ptr::eq(cur.ss_sp.cast::<u8>(), m.base())
            {
                let off = libc::stack_t {
                    ss_sp: null_mut(),
                    ss_flags: libc::SS_DISABLE,
                    ss_size: 0,
                };
                libc::sigaltstack(&off, null_mut());
                unmap(m);
            }
        }
    }

    static INSTALL: Once = Once::new();
    static mut OLD_SEGV: Option<libc::sigaction> = None;
    static mut OLD_BUS: Option<libc::sigaction> = None;

    /// Installs the overflow handler for `SIGSEGV` and `SIGBUS` once per process, keeping
    /// the previous handlers (std's stack-overflow report among them) to chain to.
    pub(crate) fn install_overflow_handler() {
        INSTALL.call_once(|| {
            // SAFETY: `Once` serialises the writes of OLD_*; the handler reads them only
            // after `sigaction` has published it.
            unsafe {
                let mut sa: libc::sigaction = core::mem::zeroed();
                sa.sa_sigaction = handler as *const () as usize;
                sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut sa.sa_mask);
                let mut old: libc::sigaction = core::mem::zeroed();
                if libc::sigaction(libc::SIGSEGV, &sa, &mut old) == 0 {
                    *core::ptr::addr_of_mut!(OLD_SEGV) = Some(old);
                }
                let mut old: libc::sigaction = core::mem::zeroed();
                if libc::sigaction(libc::SIGBUS, &sa, &mut old) == 0 {
                    *core::ptr::addr_of_mut!(OLD_BUS) = Some(old);
                }
            }
        });
    }

    /// Reports an overflow of the system stack and aborts; chains any other fault to the
    /// handler that was installed before.
    extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
        let addr = unsafe { (*info).si_addr() } as usize;
        if super::super::thread::in_guard_page(addr) {
            report_overflow();
        }
        // SAFETY: OLD_* were written before this handler was installed.
        let old = unsafe {
            if sig == libc::SIGBUS {
                *core::ptr::addr_of!(OLD_BUS)
            } else {
                *core::ptr::addr_of!(OLD_SEGV)
            }
        };
        match old {
            Some(old) if old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN => {
                // SAFETY: calling the previous handler the way it was registered.
                unsafe {
                    if old.sa_flags & libc::SA_SIGINFO != 0 {
                        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                            core::mem::transmute(old.sa_sigaction);
                        f(sig, info, ctx);
                    } else {
                        let f: extern "C" fn(libc::c_int) = core::mem::transmute(old.sa_sigaction);
                        f(sig);
                    }
                }
            }
            _ => {
                // Default action: reset and return, so that the faulting instruction runs
                // again and the default action (a core dump) happens.
                // SAFETY: plain sigaction with a zeroed (SIG_DFL) action.
                unsafe {
                    let mut dfl: libc::sigaction = core::mem::zeroed();
                    dfl.sa_sigaction = libc::SIG_DFL;
                    libc::sigaction(sig, &dfl, null_mut());
                }
            }
        }
    }

    /// Writes the overflow message with `write(2)` only (async-signal-safe) and aborts.
    fn report_overflow() -> ! {
        let mut buf = [0u8; 512];
        let mut n = 0;
        let mut put = |s: &[u8]| {
            let k = s.len().min(buf.len() - n);
            buf[n..n + k].copy_from_slice(&s[..k]);
            n += k;
        };
        put(b"\nfatal runtime error: nosplit system stack overflow: a closure run by systemstack! used more than the ");
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        let mut v = super::super::thread::current_size();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        put(&digits[i..]);
        put(b" bytes of its thread's system stack; raise the size with the NOSPLIT_SYSTEM_STACK_SIZE environment variable or nosplit::systemstack::set_size, aborting\n");
        // SAFETY: write(2) and abort(3) are async-signal-safe.
        unsafe {
            libc::write(2, buf.as_ptr() as *const libc::c_void, n);
            libc::abort()
        }
    }
}

#[cfg(not(unix))]
mod other {
    use super::*;

    /// Without `mmap` the stack comes from the allocator and has no guard page.
    pub(crate) fn map_stack(size: usize) -> io::Result<Mapping> {
        let len = size.div_ceil(4096) * 4096;
        let layout = std::alloc::Layout::from_size_align(len, 4096)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        // SAFETY: non-zero size.
        let p = unsafe { std::alloc::alloc(layout) };
        if p.is_null() {
            return Err(io::Error::from(io::ErrorKind::OutOfMemory));
        }
        Ok(Mapping {
            lo: p as usize,
            len,
            guard: 0,
        })
    }
    pub(crate) fn unmap(m: Mapping) {
        let layout = std::alloc::Layout::from_size_align(m.len, 4096).expect("layout was valid");
        // SAFETY: allocated by `map_stack` with this layout.
        unsafe { std::alloc::dealloc(m.lo as *mut u8, layout) }
    }
    pub(crate) fn ensure_altstack() -> io::Result<Option<Mapping>> {
        Ok(None)
    }
    pub(crate) fn release_altstack(_: Mapping) {}
    pub(crate) fn install_overflow_handler() {}
}
#[cfg(not(unix))]
pub(crate) use other::*;
