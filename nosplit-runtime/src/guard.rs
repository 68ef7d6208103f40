//! The runtime guard: budgets checked while the program runs.
//!
//! Every annotated function whose guard is on (the `guard` feature, or `debug_assertions` in
//! the annotated function's crate) starts with a hidden [`Token`] that links the call into
//! the chain of active annotated calls of the current thread and checks the stack pointer
//! against every budget on that chain. The chain is intrusive (the tokens live in the
//! annotated functions' frames), so the hot path allocates nothing; dropping the token, on
//! return or while unwinding, unlinks it.
//!
//! The accounting, the error bound and the `no_std` modes are described in `docs/GUARD.md`.
//! In short:
//!
//! - The guard reads SP (and PC) where the token is linked, right after the function's
//!   prologue. The distance to the function's *entry* SP (SPEC §2) is found once per
//!   function and code address from the unwind tables (`_Unwind_Backtrace`, std builds on
//!   Linux), and cached; elsewhere, and for inlined or generic copies, it counts as 0.
//! - Entry `f` on the chain constrains every later SP reading to
//!   `entry_sp(f) - budget(f)`; each token keeps the tightest such limit of the chain up to
//!   it (and the set of active functions), so the hot check is one comparison, as in Go's
//!   prologue, and the thread keeps only the innermost token.
//! - A violation (an SP below the limit, or an annotated function entered again while it is
//!   active) builds a [`Violation`] and calls the violation handler, by default a panic
//!   whose message is the report in the format of SPEC §5.

use core::cell::Cell;
use core::fmt;
use core::mem::MaybeUninit;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering::Relaxed};

use crate::config;
use crate::registry::Entry;

/// Bytes a call instruction pushes (the return address): 8 on x86_64, 4 on x86, 0 on
/// machines with a link register.
pub const CALLSIZE: usize = if cfg!(any(target_arch = "x86_64", target_arch = "x86")) {
    core::mem::size_of::<usize>()
} else {
    0
};

/// Whether this build forces the guard on everywhere (the `guard` feature). Without it the
/// guard is on exactly in annotated functions of crates built with `debug_assertions`.
pub const FORCED: bool = cfg!(feature = "guard");

/// The environment variable read once, on first use, for the unoptimised-build multiplier
/// (std builds): a positive integer.
pub const MULTIPLIER_ENV: &str = "NOSPLIT_UNOPTIMIZED_MULTIPLIER";

/// The environment variable read once, on first use, for the budget of `#[nosplit]` without
/// a number (std builds): a positive integer of bytes.
pub const DEFAULT_BUDGET_ENV: &str = "NOSPLIT_DEFAULT_BUDGET";

/// A stack pointer further than this below the innermost active call's entry is taken for a
/// switch to another stack (a coroutine, a signal stack), not for an overflow: no thread
/// stack is that large, and no budget either.
const SWITCH_DISTANCE: usize = 1 << 30;

/// Reads the stack pointer and an address of the code where it is inlined.
///
/// Inline assembly on x86_64 and aarch64. Elsewhere the portable fallback returns the
/// address of a local variable (somewhere in the current frame, so above SP by at most the
/// frame's size) and the PC `1`.
#[inline(always)]
pub fn here() -> (usize, usize) {
    #[cfg(target_arch = "x86_64")]
    {
        let (sp, pc): (usize, usize);
        // SAFETY: reads two registers, touches no memory.
        unsafe {
            core::arch::asm!(
                "mov {sp}, rsp",
                "lea {pc}, [rip]",
                sp = out(reg) sp,
                pc = out(reg) pc,
                options(nomem, nostack, preserves_flags),
            );
        }
        (sp, pc)
    }
    #[cfg(target_arch = "aarch64")]
    {
        let (sp, pc): (usize, usize);
        // SAFETY: reads two registers, touches no memory.
        unsafe {
            core::arch::asm!(
                "mov {sp}, sp",
                "adr {pc}, .",
                sp = out(reg) sp,
                pc = out(reg) pc,
                options(nomem, nostack, preserves_flags),
            );
        }
        (sp, pc)
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        let local = 0u8;
        (core::hint::black_box(&local) as *const u8 as usize, 1)
    }
}

// ---------------------------------------------------------------------------------------
// Configuration: default budget and unoptimised-build multiplier.

/// 0 until first use, then the value in force.
static MULTIPLIER: AtomicU32 = AtomicU32::new(0);
static DEFAULT_BUDGET: AtomicU32 = AtomicU32::new(0);

/// Sets the factor applied to budgets of functions compiled with `debug_assertions` (the
/// expansion's signal for "unoptimised build"; see `docs/GUARD.md`). `0` is taken as `1`.
/// Overrides `NOSPLIT_UNOPTIMIZED_MULTIPLIER` and the default,
/// [`config::UNOPTIMIZED_MULTIPLIER`].
pub fn set_unoptimized_multiplier(factor: u32) {
    MULTIPLIER.store(factor.max(1), Relaxed);
}

/// The factor in force for unoptimised builds (see [`set_unoptimized_multiplier`]).
pub fn unoptimized_multiplier() -> u32 {
    match MULTIPLIER.load(Relaxed) {
        0 => init_from_env(&MULTIPLIER, MULTIPLIER_ENV, config::UNOPTIMIZED_MULTIPLIER),
        m => m,
    }
}

/// Sets the budget, in bytes, of functions annotated `#[nosplit]` without a number. `0` is
/// taken as `1`. Overrides `NOSPLIT_DEFAULT_BUDGET` and [`config::DEFAULT_BUDGET_BYTES`].
pub fn set_default_budget(bytes: u32) {
    DEFAULT_BUDGET.store(bytes.max(1), Relaxed);
}

/// The budget in force for `#[nosplit]` without a number (see [`set_default_budget`]).
pub fn default_budget() -> u32 {
    match DEFAULT_BUDGET.load(Relaxed) {
        0 => init_from_env(
            &DEFAULT_BUDGET,
            DEFAULT_BUDGET_ENV,
            config::DEFAULT_BUDGET_BYTES,
        ),
        b => b,
    }
}

#[cold]
#[inline(never)]
fn init_from_env(cell: &AtomicU32, var: &str, default: u32) -> u32 {
    let value = from_env(var).unwrap_or(default).max(1);
    // A value set meanwhile by the user wins.
    match cell.compare_exchange(0, value, Relaxed, Relaxed) {
        Ok(_) => value,
        Err(set) => set,
    }
}

#[cfg(feature = "std")]
fn from_env(var: &str) -> Option<u32> {
    let text = std::env::var(var).ok()?;
    match text.trim().parse::<u32>() {
        Ok(v) if v > 0 => Some(v),
        _ => {
            std::eprintln!(
                "nosplit: ignoring {var}={text:?}: expected a positive integer; using the default"
            );
            None
        }
    }
}

#[cfg(not(feature = "std"))]
fn from_env(_: &str) -> Option<u32> {
    None
}

/// The budget a call is checked against: the declared one (or the default), times the
/// multiplier when the function was compiled without optimisation.
fn effective_budget(declared: u32, unoptimized: bool) -> usize {
    let b = match declared {
        0 => default_budget(),
        b => b,
    } as usize;
    if unoptimized {
        b.saturating_mul(unoptimized_multiplier() as usize)
    } else {
        b
    }
}

/// [`effective_budget`] without calls: `None` until the default budget or the multiplier
/// has been read (the slow path reads them).
#[inline(always)]
fn effective_budget_fast(declared: u32, unoptimized: bool) -> Option<usize> {
    let b = match declared {
        0 => DEFAULT_BUDGET.load(Relaxed),
        b => b,
    } as usize;
    if !unoptimized {
        return (b != 0).then_some(b);
    }
    let m = MULTIPLIER.load(Relaxed) as usize;
    (b != 0 && m != 0).then(|| b.saturating_mul(m))
}

// ---------------------------------------------------------------------------------------
// Per-function site: the cached distance from entry SP to the guard's SP reading.

/// Per-function data of the guard, a `static` made by the guard's expansion. Not public API.
#[doc(hidden)]
pub struct Site {
    entry: &'static Entry,
    /// `entry.budget`, copied at compile time so the hot path reads one cache line.
    budget: u32,
    /// `pc << 16 | frame`: the distance from the entry SP to the SP read at code address
    /// `pc` (capped at 0xFFFF), or 0 when not known yet. Keyed by the PC because inlined
    /// and generic copies of a function share the `static` but not the distance.
    frame: AtomicU64,
}

const FRAME_BITS: u32 = 16;
const FRAME_MASK: u64 = (1 << FRAME_BITS) - 1;

impl Site {
    /// A site for `entry`, distance unknown.
    pub const fn new(entry: &'static Entry) -> Self {
        Site {
            entry,
            budget: entry.budget,
            frame: AtomicU64::new(0),
        }
    }

    /// The declared budget of `entry`, for the expansion's constant (see [`Token::enter`]).
    pub const fn budget_of(entry: &Entry) -> u32 {
        entry.budget
    }

    /// This function's bit in the chain's set of active functions.
    #[inline(always)]
    fn bit(&self) -> u64 {
        // Sites are `static`s of 24 bytes or more, laid out one after another: bits 3..9 of
        // the address tell up to 21 neighbours apart, with a shift and no multiply.
        1 << ((self as *const Site as usize >> 3) & 63)
    }

    /// The cached distance for code address `pc`.
    #[inline(always)]
    fn cached_frame(&self, pc: usize) -> Option<usize> {
        // A hit leaves only the distance in the low bits. The empty word (0) never hits:
        // `pc` is never 0 (the portable `here` returns 1).
        let x = self.frame.load(Relaxed) ^ (pc as u64) << FRAME_BITS;
        (x <= FRAME_MASK).then_some(x as usize)
    }
}

// ---------------------------------------------------------------------------------------
// The chain.

/// The state of one chain of active annotated calls: its innermost call. The limit and the
/// set of active functions live in that call's token, so that linking a call is one store
/// here and unlinking it another. A std build keeps one per thread; see `set_state_hook`
/// for `no_std`.
pub struct ChainState {
    /// The innermost active call, or `EMPTY`'s token when there is none: never null, so
    /// the hot path reads the caller's limit and active set without a branch.
    top: Cell<*const Token>,
}

impl ChainState {
    /// An empty chain.
    pub const fn new() -> Self {
        ChainState {
            top: Cell::new(empty()),
        }
    }

    /// The innermost active call, `None` when the chain is empty.
    fn innermost(&self) -> Option<&Token> {
        let top = self.top.get();
        // SAFETY: a top other than `EMPTY` is a linked token of this context, alive in a
        // caller's frame.
        (!ptr::eq(top, empty())).then(|| unsafe { &*top })
    }
}

/// The top of an empty chain: no limit (0), no active function. Only read.
struct Empty(Token);
// SAFETY: never written (the guard only stores into tokens it links, and `EMPTY` is never
// linked), so sharing it between threads is sharing immutable data.
unsafe impl Sync for Empty {}
static EMPTY: Empty = Empty(Token {
    site: Cell::new(ptr::null()),
    prev: Cell::new(MaybeUninit::new(1)),
    limit: Cell::new(MaybeUninit::new(0)),
    active: Cell::new(MaybeUninit::new(0)),
    entry_sp: Cell::new(MaybeUninit::new(usize::MAX)),
});

#[inline(always)]
const fn empty() -> *const Token {
    &EMPTY.0
}

// SAFETY: a `ChainState` is only read and written by the guard, on behalf of the execution
// context that owns it (its thread, or what the state hook maps to it); it has no API of its
// own. Sharing it is what lets a `no_std` program keep states in `static`s.
unsafe impl Sync for ChainState {}

impl Default for ChainState {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "std")]
std::thread_local! {
    static STATE: ChainState = const { ChainState::new() };
}

/// The current thread's chain state. The reference must not outlive the current call.
#[cfg(feature = "std")]
#[inline(always)]
fn state<'a>() -> &'a ChainState {
    // Only the address is taken inside `with`: a closure doing the work would be a call to
    // a non-inlined `LocalKey::with` on the hot path.
    let st: *const ChainState = STATE.with(|s| s as *const ChainState);
    // SAFETY: the state has no destructor, so it lives as long as the thread, and callers
    // use it only on this thread, within the current call.
    unsafe { &*st }
}

#[cfg(not(feature = "std"))]
mod global {
    use super::*;

    /// The single chain of a `no_std` build without a state hook.
    pub(super) struct Global(pub(super) ChainState);
    // SAFETY: documented contract of `no_std` builds: one core, or the guard never runs
    // concurrently (interrupts masked around annotated code), or a state hook is installed.
    unsafe impl Sync for Global {}
    pub(super) static GLOBAL: Global = Global(ChainState::new());
    pub(super) static HOOK: AtomicPtr<()> = AtomicPtr::new(ptr::null_mut());
}

/// The chain state of the current context: the hook's, or the global one.
#[cfg(not(feature = "std"))]
#[inline(always)]
fn state<'a>() -> &'a ChainState {
    let hook = global::HOOK.load(Relaxed);
    if hook.is_null() {
        &global::GLOBAL.0
    } else {
        // SAFETY: only `set_state_hook` stores here, a `fn() -> &'static ChainState`.
        let hook: fn() -> &'static ChainState = unsafe { core::mem::transmute(hook) };
        hook()
    }
}

/// Installs the function that gives the guard the chain state of the current execution
/// context (`no_std` builds only): a per-core or per-task [`ChainState`] in a `static`.
/// Without a hook, a `no_std` build uses one global chain, correct only on a single core
/// with annotated code never interrupted by other annotated code (mask interrupts, or give
/// each interrupt level its own state through the hook).
///
/// # Safety
///
/// The hook must return the same state for the same context every time, must not call
/// annotated functions, and no annotated call may be active when the hook changes.
#[cfg(not(feature = "std"))]
pub unsafe fn set_state_hook(hook: fn() -> &'static ChainState) {
    global::HOOK.store(hook as *mut (), Relaxed);
}

/// One active annotated call: a link of the chain, living in the annotated function's frame.
/// Made by the guard's expansion; not public API.
#[doc(hidden)]
pub struct Token {
    /// Null until linked; the other fields are written when it is set.
    site: Cell<*const Site>,
    /// The chain's previous top (`EMPTY` for a root), restored on drop; bit 0 set when this
    /// call starts a new chain (a stack switch was detected: reports stop here), bit 1 when
    /// the multiplier applied to its budget.
    prev: Cell<MaybeUninit<usize>>,
    /// The lowest SP allowed while this call is the innermost: the highest
    /// `entry_sp - budget` of the calls on the chain up to this one.
    limit: Cell<MaybeUninit<usize>>,
    /// One bit per active function of the chain up to this call (a hash of its site): a
    /// clear bit proves a function is not active, so only a set bit sends a nested call to
    /// the slow path's recursion walk.
    active: Cell<MaybeUninit<u64>>,
    entry_sp: Cell<MaybeUninit<usize>>,
}

impl Token {
    /// An unlinked token; [`Token::enter`] must follow and the token must not move after it.
    #[allow(clippy::new_without_default)]
    #[inline(always)]
    pub const fn new() -> Self {
        // Only `site` is initialised: the rest is written by `link` with it, so an unlinked
        // token costs no stores.
        Token {
            site: Cell::new(ptr::null()),
            prev: Cell::new(MaybeUninit::uninit()),
            limit: Cell::new(MaybeUninit::uninit()),
            active: Cell::new(MaybeUninit::uninit()),
            entry_sp: Cell::new(MaybeUninit::uninit()),
        }
    }

    // Readers of the fields `link` writes; callers only reach linked tokens (through the
    // chain, or after checking `site`) and `EMPTY` (all written).
    #[inline(always)]
    fn prev_word(&self) -> usize {
        // SAFETY: written by `link` (see above).
        unsafe { self.prev.get().assume_init() }
    }
    #[inline(always)]
    fn limit(&self) -> usize {
        // SAFETY: written by `link`.
        unsafe { self.limit.get().assume_init() }
    }
    #[inline(always)]
    fn active(&self) -> u64 {
        // SAFETY: written by `link`.
        unsafe { self.active.get().assume_init() }
    }
    #[inline(always)]
    fn entry_sp(&self) -> usize {
        // SAFETY: written by `link`.
        unsafe { self.entry_sp.get().assume_init() }
    }
    /// The budget the call is checked against (computed again: the multiplier or the default
    /// may have been changed since, by the program).
    fn budget(&self) -> usize {
        // SAFETY: `site` is set by `link` to a `&'static Site`; readers reach linked tokens.
        let site = unsafe { &*self.site.get() };
        effective_budget(site.budget, self.unoptimized())
    }

    /// Links the call into the chain and checks it. `budget` is [`Site::budget_of`] the
    /// site's entry, a constant of the expansion (so that the common case, a declared budget
    /// in an optimised build, folds to an immediate); `unoptimized` is
    /// `cfg!(debug_assertions)` of the annotated function's crate.
    #[inline(always)]
    pub fn enter(&self, site: &'static Site, budget: u32, unoptimized: bool) {
        let (sp, pc) = here();
        let (Some(frame), Some(budget)) = (
            site.cached_frame(pc),
            effective_budget_fast(budget, unoptimized),
        ) else {
            return nosplit_guard_slow(self, site, sp, pc, unoptimized);
        };
        let st = state();
        let top = st.top.get();
        // SAFETY: the top is never null: `EMPTY`, or a linked token of this thread alive in
        // a caller's frame.
        let caller = unsafe { &*top };
        let entry_sp = sp + frame;
        // Root or nested alike (`EMPTY` has no limit and no active function): one compare
        // checks the callers' budgets and this call's own frame against its budget
        // (`entry_sp - budget <= sp` is `frame <= budget`), one test its bit. A switch to a
        // stack above passes here; `parent` ends the chain there.
        // A wrapped `entry_sp - budget` (a stack at the bottom of the address space) is a
        // huge limit: the slow path, which saturates, decides.
        let limit = caller.limit().max(entry_sp.wrapping_sub(budget));
        let active = caller.active();
        if sp < limit || active & site.bit() != 0 {
            return nosplit_guard_slow(self, site, sp, pc, unoptimized);
        }
        self.link(st, site, top as usize, limit, active, entry_sp, unoptimized);
    }

    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn link(
        &self,
        st: &ChainState,
        site: &'static Site,
        prev: usize,
        limit: usize,
        active: u64,
        entry_sp: usize,
        unoptimized: bool,
    ) {
        self.prev
            .set(MaybeUninit::new(prev | (unoptimized as usize) << 1));
        self.limit.set(MaybeUninit::new(limit));
        self.active.set(MaybeUninit::new(active | site.bit()));
        self.site.set(site);
        self.entry_sp.set(MaybeUninit::new(entry_sp));
        st.top.set(self);
    }

    /// See [`nosplit_guard_slow`].
    fn enter_slow(&self, site: &'static Site, sp: usize, pc: usize, unoptimized: bool) {
        let frame = match site.cached_frame(pc) {
            Some(f) => f,
            None => frame_slow(site, sp, pc),
        };
        let entry_sp = sp + frame;
        let budget = effective_budget(site.budget, unoptimized);
        let st = state();
        let top = st.top.get();
        let switched = st
            .innermost()
            .is_some_and(|t| entry_sp > t.entry_sp() || t.entry_sp() - sp > SWITCH_DISTANCE);
        // A new chain after a switch: the callers' limit and active set do not apply there.
        let (prev, limit, active) = if switched {
            (top as usize | 1, 0, 0)
        } else {
            // SAFETY: never null (see `enter`).
            let caller = unsafe { &*top };
            (top as usize, caller.limit(), caller.active())
        };
        let limit = limit.max(entry_sp.saturating_sub(budget));
        self.link(st, site, prev, limit, active, entry_sp, unoptimized);

        let recursion = self.ancestors().find(|t| ptr::eq(t.entry(), site.entry));
        if sp < limit || recursion.is_some() {
            violation(self, sp, recursion);
        }
    }

    /// The calls of this chain below this one, innermost first.
    fn ancestors(&self) -> Chain<'_> {
        Chain {
            next: self.parent(),
        }
    }

    /// The caller's link, or `None` at the start of a chain.
    fn parent(&self) -> Option<&Token> {
        let prev = self.prev_word();
        let p = (prev & !3) as *const Token;
        if prev & 1 != 0 || ptr::eq(p, empty()) {
            return None;
        }
        // SAFETY: linked tokens outlive the tokens linked after them (LIFO drops).
        let p = unsafe { p.as_ref() }?;
        // A caller whose entry is below this call's is on another stack (this call was
        // entered after a switch to a stack above, which the fast path does not look for).
        (p.entry_sp() >= self.entry_sp()).then_some(p)
    }

    fn unoptimized(&self) -> bool {
        self.prev_word() & 2 != 0
    }

    fn entry(&self) -> &'static Entry {
        // SAFETY: `site` is set by `link` to a `&'static Site` before any reader runs.
        unsafe { (*self.site.get()).entry }
    }
}

/// The guard's slow path, the only function the inlined guard calls: first calls of a
/// function (its entry-SP distance is looked up), first use of the configuration, stack
/// switches, and violations (the report and the handler). Its stable symbol lets
/// `cargo nosplit` recognise guard code in builds with the `guard` feature: what runs below
/// it is diagnostics, or a one-time lookup, not the function's own stack use.
#[no_mangle]
#[inline(never)]
#[cold]
pub fn nosplit_guard_slow(
    token: &Token,
    site: &'static Site,
    sp: usize,
    pc: usize,
    unoptimized: bool,
) {
    // The chain state is looked up again here: passing it would keep the thread-local
    // base live on the hot path for this call only.
    token.enter_slow(site, sp, pc, unoptimized);
}

impl Drop for Token {
    #[inline(always)]
    fn drop(&mut self) {
        if self.site.get().is_null() {
            return;
        }
        // The caller's token holds the caller's limit and active set: restoring the top
        // restores them.
        state().top.set((self.prev_word() & !3) as *const Token);
    }
}

struct Chain<'a> {
    next: Option<&'a Token>,
}

impl<'a> Iterator for Chain<'a> {
    type Item = &'a Token;
    fn next(&mut self) -> Option<&'a Token> {
        let t = self.next?;
        self.next = t.parent();
        Some(t)
    }
}

/// The distance from the entry SP of the function whose guard reads `sp` at `pc`, from the
/// unwind tables, cached in the site. 0 when unknown.
#[cold]
#[inline(never)]
fn frame_slow(site: &Site, sp: usize, pc: usize) -> usize {
    let frame = unwind::entry_sp(site.entry.addr as usize, sp)
        .map_or(0, |entry_sp| entry_sp.saturating_sub(sp));
    let word = (pc as u64) << FRAME_BITS | (frame as u64).min(FRAME_MASK);
    if (pc as u64) >> (64 - FRAME_BITS) == 0 {
        site.frame.store(word, Relaxed);
    }
    frame.min(FRAME_MASK as usize)
}

#[cfg(all(feature = "std", target_os = "linux"))]
mod unwind {
    //! The entry SP of the caller's frame, from the unwinder std links (libgcc_s).
    use core::ffi::{c_int, c_void};

    #[allow(non_camel_case_types)]
    type _Unwind_Trace_Fn = extern "C" fn(*mut c_void, *mut c_void) -> c_int;
    extern "C" {
        fn _Unwind_Backtrace(trace: _Unwind_Trace_Fn, arg: *mut c_void) -> c_int;
        fn _Unwind_GetCFA(ctx: *mut c_void) -> usize;
        fn _Unwind_GetRegionStart(ctx: *mut c_void) -> usize;
    }
    const URC_NO_REASON: c_int = 0;
    const URC_NORMAL_STOP: c_int = 4;

    struct Search {
        start: usize,
        sp: usize,
        matched: bool,
        found: Option<usize>,
    }

    // `_Unwind_GetCFA` gives, for a frame, the value of SP in that frame at its call to the
    // next frame in (libgcc and LLVM's libunwind agree): the CFA of the frame below. So the
    // frame that read `sp` is the first whose value is at or above `sp`, and its own CFA,
    // entry SP + callsize, is the value of the next frame out.
    extern "C" fn step(ctx: *mut c_void, arg: *mut c_void) -> c_int {
        // SAFETY: `arg` is the `Search` passed below, `ctx` the unwinder's context.
        let (s, sp_here) = unsafe { (&mut *(arg as *mut Search), _Unwind_GetCFA(ctx)) };
        if s.matched {
            s.found = Some(sp_here - super::CALLSIZE);
            return URC_NORMAL_STOP;
        }
        // Frames of the guard's own slow path sit below the SP read.
        if sp_here < s.sp {
            return URC_NO_REASON;
        }
        // SAFETY: a valid context of the running backtrace.
        if sp_here == s.sp && unsafe { _Unwind_GetRegionStart(ctx) } == s.start {
            s.matched = true;
            return URC_NO_REASON;
        }
        URC_NORMAL_STOP
    }

    /// The entry SP of the frame that read `sp`, if that frame is the out-of-line copy of
    /// the function starting at `start`.
    pub(super) fn entry_sp(start: usize, sp: usize) -> Option<usize> {
        if start == 0 {
            return None;
        }
        let mut s = Search {
            start,
            sp,
            matched: false,
            found: None,
        };
        // SAFETY: `step` only reads the context and writes through `arg`.
        unsafe { _Unwind_Backtrace(step, &mut s as *mut Search as *mut c_void) };
        s.found
    }
}

#[cfg(not(all(feature = "std", target_os = "linux")))]
mod unwind {
    pub(super) fn entry_sp(_start: usize, _sp: usize) -> Option<usize> {
        None
    }
}

// ---------------------------------------------------------------------------------------
// Violations.

/// What went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ViolationKind {
    /// The stack went deeper than the budget of an active annotated call.
    Overflow,
    /// An annotated function was entered while a call of it was active on the chain.
    Recursion,
}

/// One active annotated call, as seen by the guard.
#[derive(Clone, Copy, Debug)]
pub struct ActiveCall {
    /// The function.
    pub entry: &'static Entry,
    /// Its entry SP (SPEC §2), as exactly as the guard knows it (see `docs/GUARD.md`).
    pub entry_sp: usize,
    /// The budget it was checked against, multiplier applied.
    pub budget: usize,
    /// Whether the multiplier applied (its crate had `debug_assertions`).
    pub unoptimized: bool,
}

impl ActiveCall {
    fn of(t: &Token) -> Self {
        ActiveCall {
            entry: t.entry(),
            entry_sp: t.entry_sp(),
            budget: t.budget(),
            unoptimized: t.unoptimized(),
        }
    }
}

/// A budget violation seen by the guard, handed to the violation handler.
///
/// Its `Display` is the report of SPEC §5: one trace per violated budget (or the recursion),
/// each line the budget left.
pub struct Violation<'a> {
    kind: ViolationKind,
    /// The call being entered, innermost of the chain.
    last: &'a Token,
    /// SP at the last call's guard.
    sp: usize,
    /// The earlier call of the recursive function, for `Recursion`.
    again: Option<&'a Token>,
}

impl<'a> Violation<'a> {
    /// Overflow or recursion.
    pub fn kind(&self) -> ViolationKind {
        self.kind
    }

    /// The SP read by the guard of the innermost call, after its prologue.
    pub fn sp(&self) -> usize {
        self.sp
    }

    /// The chain of active annotated calls, innermost (the one being entered) first.
    pub fn chain(&self) -> impl Iterator<Item = ActiveCall> + 'a {
        core::iter::once(self.last)
            .chain(self.last.ancestors())
            .map(ActiveCall::of)
    }

    /// The calls whose budget is exceeded at [`sp`](Self::sp), innermost first; for a
    /// recursion, the earlier call of the recursive function.
    pub fn violated(&self) -> impl Iterator<Item = ActiveCall> + 'a {
        let (sp, again) = (self.sp, self.again.map(|t| t as *const Token));
        let kind = self.kind;
        core::iter::once(self.last)
            .chain(self.last.ancestors())
            .filter(move |t| match kind {
                ViolationKind::Recursion => again == Some(*t as *const Token),
                _ => t.entry_sp().saturating_sub(sp) > t.budget(),
            })
            .map(ActiveCall::of)
    }

    /// Bytes between `call`'s entry SP and the SP of the innermost guard.
    pub fn depth_below(&self, call: &ActiveCall) -> usize {
        call.entry_sp.saturating_sub(self.sp)
    }

    /// Writes the trace from `root` (a call of the chain) to the innermost call.
    fn trace(&self, f: &mut fmt::Formatter<'_>, root: &Token) -> fmt::Result {
        let what = match self.kind {
            ViolationKind::Overflow => "nosplit stack overflow",
            ViolationKind::Recursion => "nosplit recursion (unbounded stack)",
        };
        let e = root.entry();
        writeln!(f, "{}: {what}", e.path())?;
        let mut left = root.budget() as i64;
        writeln!(
            f,
            "\t{left}\tassumed on entry to {} ({}:{})",
            e.path(),
            e.file(),
            e.line()
        )?;
        self.steps(f, root, self.last, &mut left)?;
        let uses = self.last.entry_sp() as i64 - self.sp as i64;
        left -= uses;
        write!(
            f,
            "\t{left}\tafter {} uses {uses}",
            self.last.entry().path()
        )?;
        if root.unoptimized() {
            write!(
                f,
                "\n\t(budget × {}: unoptimised build; see docs/GUARD.md)",
                unoptimized_multiplier()
            )?;
        }
        Ok(())
    }

    /// Lines from `root` to `t`, root first (recursing up the chain from `t`).
    fn steps(
        &self,
        f: &mut fmt::Formatter<'_>,
        root: &Token,
        t: &Token,
        left: &mut i64,
    ) -> fmt::Result {
        if ptr::eq(t, root) {
            return Ok(());
        }
        let Some(caller) = t.parent() else {
            return Ok(());
        };
        self.steps(f, root, caller, left)?;
        let uses = caller.entry_sp() as i64 - t.entry_sp() as i64 - CALLSIZE as i64;
        *left -= uses;
        writeln!(f, "\t{left}\tafter {} uses {uses}", caller.entry().path())?;
        *left -= CALLSIZE as i64;
        writeln!(f, "\t{left}\ton entry to {}", t.entry().path())
    }
}

impl fmt::Display for Violation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let tokens = core::iter::once(self.last).chain(self.last.ancestors());
        // Outermost violated budget first, as the checker lists roots.
        let mut roots = [ptr::null::<Token>(); 8];
        let mut n = 0;
        for t in tokens {
            let hit = match self.kind {
                ViolationKind::Recursion => self.again.is_some_and(|a| ptr::eq(a, t)),
                _ => t.entry_sp().saturating_sub(self.sp) > t.budget(),
            };
            if hit {
                roots[n % roots.len()] = t;
                n += 1;
            }
        }
        let shown = n.min(roots.len());
        for i in 0..shown {
            // The last `shown` hits, outermost first.
            let t = roots[(n - 1 - i) % roots.len()];
            if !first {
                f.write_str("\n")?;
            }
            first = false;
            // SAFETY: pointers to tokens of the live chain, collected just above.
            self.trace(f, unsafe { &*t })?;
        }
        if n > shown {
            write!(f, "\n({} more budgets exceeded further out)", n - shown)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Violation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Violation")
            .field("kind", &self.kind)
            .field("sp", &self.sp)
            .field("chain", &ChainDebug(self))
            .finish()
    }
}

struct ChainDebug<'a, 'b>(&'a Violation<'b>);

impl fmt::Debug for ChainDebug<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.chain()).finish()
    }
}

/// A violation handler: see [`set_violation_handler`].
pub type ViolationHandler = fn(&Violation<'_>);

static HANDLER: AtomicPtr<()> = AtomicPtr::new(ptr::null_mut());

/// Installs the function called on every violation, in place of the default
/// ([`default_violation_handler`], a panic with the report), and returns the previous one.
/// A handler that returns lets the program continue (log, count); one that panics unwinds
/// out of the annotated function, whose link is removed from the chain as it unwinds.
pub fn set_violation_handler(handler: ViolationHandler) -> ViolationHandler {
    let old = HANDLER.swap(handler as *mut (), Relaxed);
    if old.is_null() {
        default_violation_handler
    } else {
        // SAFETY: only this function stores here, a `ViolationHandler`.
        unsafe { core::mem::transmute::<*mut (), ViolationHandler>(old) }
    }
}

/// The default handler: panics with the report, so that `cargo test` fails with the chain.
pub fn default_violation_handler(v: &Violation<'_>) {
    panic!("{v}");
}

#[cold]
#[inline(never)]
fn violation(last: &Token, sp: usize, again: Option<&Token>) {
    let v = Violation {
        kind: match again {
            Some(_) => ViolationKind::Recursion,
            None => ViolationKind::Overflow,
        },
        last,
        sp,
        again,
    };
    let h = HANDLER.load(Relaxed);
    if h.is_null() {
        default_violation_handler(&v);
    } else {
        // SAFETY: only `set_violation_handler` stores here, a `ViolationHandler`.
        unsafe { core::mem::transmute::<*mut (), ViolationHandler>(h)(&v) }
    }
}

// ---------------------------------------------------------------------------------------
// Inspection and suspension.

/// The number of active annotated calls on the current chain of this thread (0 outside any
/// annotated call, and at the start of a `systemstack!` closure or a [`measure`] closure).
///
/// [`measure`]: crate::measure::measure
pub fn depth() -> usize {
    match state().innermost() {
        Some(t) => 1 + t.ancestors().count(),
        None => 0,
    }
}

/// The innermost active annotated call of the current chain.
pub fn innermost() -> Option<ActiveCall> {
    state().innermost().map(ActiveCall::of)
}

/// Token returned by [`suspend`]; restores the suspended chain when dropped.
pub struct Suspended {
    top: *const Token,
}

/// Suspends the current thread's chain of active annotated calls (used by `systemstack!`
/// while a closure runs on the system stack, and by [`measure`]); an annotated function
/// called meanwhile starts a new chain. The chain is restored when the token drops, which
/// must happen on the same thread, in LIFO order with other guard tokens (as scopes do).
///
/// [`measure`]: crate::measure::measure
pub fn suspend() -> Suspended {
    Suspended {
        top: state().top.replace(empty()),
    }
}

impl Drop for Suspended {
    fn drop(&mut self) {
        state().top.set(self.top);
    }
}
