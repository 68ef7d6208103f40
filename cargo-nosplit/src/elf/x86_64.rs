//! The x86_64 machine-code walk: the stack depth at every instruction of a function, along its
//! control flow, and every call site, tail jump and indirect call with the depth there.
//!
//! The walk is a path-sensitive simulation over basic blocks. Its state is the depth (SPEC §2)
//! and what is known of each general register: an address relative to the entry SP (after
//! `mov rbp, rsp`, `lea r11, [rsp-0x11000]`...), a constant, or nothing. That is enough for
//! frame-pointer epilogues (`leave`, `mov rsp, rbp`), `__rust_probestack` (`mov eax, N; call;
//! sub rsp, rax`) and inline probe loops, whose exit test `cmp rsp, r11` is decided from the
//! state so that the loop runs exactly as many times as on the machine. Anything it cannot
//! follow (an SP change by an unknown amount, an undecodable instruction, a state explosion) is
//! reported in [`Facts::dynamic_sp`], which makes the function unbounded: the walk never guesses
//! low.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use iced_x86::{
    ConditionCode, Decoder, DecoderOptions, FlowControl, Instruction, InstructionInfoFactory,
    Mnemonic, OpAccess, OpKind, Register,
};

/// Read access to the loaded image, for jump tables.
pub trait Memory {
    /// `len` bytes at virtual address `addr`, if the file holds them.
    fn read(&self, addr: u64, len: usize) -> Option<&[u8]>;
    /// The 8-byte pointer stored at `addr` once the loader has applied relocations.
    fn pointer(&self, addr: u64) -> Option<u64>;
}

/// What a call site or jump leads to, before the front end resolves addresses to functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SiteKind {
    /// `call rel32`.
    Call(u64),
    /// `jmp`/`jcc` to an address outside the function.
    Tail(u64),
    /// `call [rip+slot]`: through a pointer in memory (usually the GOT).
    CallSlot(u64),
    /// `jmp [rip+slot]`.
    TailSlot(u64),
    /// A call through a register or computed memory operand.
    Indirect,
    /// A jump through a register or memory that is not a recognised jump table.
    IndirectTail,
}

/// One control transfer out of the function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Site {
    /// Address of the instruction.
    pub addr: u64,
    /// Depth at the instruction (before a call pushes). Negative only in code entered by a jump
    /// from a parent function at a depth (e.g. GCC's `.cold` parts).
    pub depth: i64,
    /// Where it goes.
    pub kind: SiteKind,
}

/// What the walk found in one function.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// Deepest SP depth reached (pushes, `sub rsp`, probes).
    pub max_sp: i64,
    /// frame(f): `max_sp` or deeper where the function touches memory below SP (red zone).
    pub frame: u64,
    /// Calls, tail jumps and indirect transfers, one per instruction (deepest state).
    pub sites: Vec<Site>,
    /// An instruction where SP became unknown to the walk (or code it could not follow).
    pub dynamic_sp: Option<u64>,
    /// Why `dynamic_sp` is set.
    pub dynamic_reason: Option<&'static str>,
    /// A `ret` reached with a non-zero depth: (address, depth). Diagnostics only.
    pub unbalanced_ret: Option<(u64, i64)>,
    /// Instructions decoded.
    pub instructions: usize,
    /// Recognised jump tables: (address of the jump, number of targets).
    pub jump_tables: Vec<(u64, usize)>,
    /// Whether some path reaches a `ret`.
    pub returns: bool,
}

/// A fast hasher for the checker's integer keys (addresses, indices), as in rustc: a
/// crafted binary can at worst make its own check slower, which SipHash's protection is not
/// worth on every lookup of a whole-binary run.
#[derive(Default)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.write_u64(u64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
        }
        for &b in chunks.remainder() {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// [`FxHasher`] for `HashMap`/`HashSet`.
pub type Fx = BuildHasherDefault<FxHasher>;

/// A set of addresses.
pub type AddrSet = std::collections::HashSet<u64, Fx>;

/// Facts about one register in the walk's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Val {
    Unknown,
    /// Entry SP minus this many bytes.
    Rel(i64),
    Const(i64),
}

/// A [`Val`] in 8 bytes: the value shifted left by 2, tagged in the low bits (0 unknown,
/// 1 stack address, 2 constant). Values beyond 61 bits are unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Packed(i64);

impl Packed {
    const UNKNOWN: Packed = Packed(0);

    fn pack(v: Val) -> Packed {
        let (x, tag) = match v {
            Val::Unknown => return Packed::UNKNOWN,
            Val::Rel(x) => (x, 1),
            Val::Const(x) => (x, 2),
        };
        if (-(1i64 << 60)..(1i64 << 60)).contains(&x) {
            Packed((x << 2) | tag)
        } else {
            Packed::UNKNOWN
        }
    }

    fn unpack(self) -> Val {
        match self.0 & 3 {
            1 => Val::Rel(self.0 >> 2),
            2 => Val::Const(self.0 >> 2),
            _ => Val::Unknown,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct State {
    sp: i64,
    /// Registers, packed (see [`Packed`]): states are copied at every block.
    regs: [Packed; 16],
}

impl State {
    fn get(&self, r: usize) -> Val {
        self.regs[r].unpack()
    }

    fn set(&mut self, r: usize, v: Val) {
        self.regs[r] = Packed::pack(v);
    }

    fn tracks_anything(&self) -> bool {
        self.regs.iter().any(|v| *v != Packed::UNKNOWN)
    }
}

/// Index 0..16 of a general-purpose register (any width), `None` for others.
fn gpr(r: Register) -> Option<usize> {
    let f = r.full_register();
    let (lo, hi) = (Register::RAX as usize, Register::R15 as usize);
    let i = f as usize;
    (lo..=hi).contains(&i).then(|| i - lo)
}

const RSP: usize = 4;
const RBP: usize = 5;
const RAX: usize = 0;
const CALLER_SAVED: [usize; 9] = [0, 1, 2, 6, 7, 8, 9, 10, 11];

/// Distinct SP depths allowed at one block start (a probe loop over an 8 MiB frame needs 2048).
const MAX_STATES_PER_BLOCK: usize = 1 << 12;
/// Instructions simulated per function before giving up (as `dynamic_sp`).
const MAX_STEPS: usize = 1 << 21;
/// Entries read from a jump table at most.
const MAX_TABLE: usize = 4096;

/// Options of the walk.
#[derive(Clone, Copy, Debug, Default)]
pub struct WalkOptions<'a> {
    /// Entry addresses of `__rust_probestack`-like functions: a call to them with a constant
    /// in `rax` probes `rax` bytes below SP and is modelled in the caller (its frame grows by
    /// the return address, the saved `rbp` and `rax`), not as a call.
    pub probestack: &'a [u64],
    /// Entry addresses of functions that never return: a path ends at a call to one.
    pub noreturn_targets: Option<&'a AddrSet>,
    /// Slots (`call [rip+slot]`) whose function never returns.
    pub noreturn_slots: Option<&'a AddrSet>,
    /// Every address the program's code refers to (RIP-relative operands, absolute
    /// displacements), sorted: a jump table ends where the next referenced object begins.
    /// Empty: only the function's own references are used.
    pub refs: &'a [u64],
}

/// What a linear pass over a code section finds: every referenced address (for jump-table
/// ends), every `ret`, and every jump or GOT call, for a first guess at which functions never
/// return. All sorted by address after [`CodeIndex::finish`].
#[derive(Clone, Debug, Default)]
pub struct CodeIndex {
    /// Addresses referenced through RIP-relative operands or absolute displacements.
    pub refs: Vec<u64>,
    /// Addresses of `ret` instructions.
    pub rets: Vec<u64>,
    /// Jumps and calls through slots, by instruction address.
    pub exits: Vec<(u64, Exit)>,
}

/// A control transfer seen by the linear pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// `jmp`/`jcc` to an address.
    Jump(u64),
    /// `jmp [rip+slot]`.
    JumpSlot(u64),
    /// `jmp reg` / `jmp [mem]` (a jump table or a tail call through a pointer).
    IndirectJump,
    /// `call [rip+slot]`.
    CallSlot(u64),
}

impl CodeIndex {
    /// Adds the instructions of `code`, loaded at `start`.
    pub fn scan(&mut self, code: &[u8], start: u64) {
        // Typical densities of compiled code, so that the vectors rarely grow (and copy).
        self.refs.reserve(code.len() / 16);
        self.exits.reserve(code.len() / 32);
        let mut decoder = Decoder::with_ip(64, code, start, DecoderOptions::NONE);
        let mut ins = Instruction::default();
        while decoder.can_decode() {
            decoder.decode_out(&mut ins);
            if ins.is_ip_rel_memory_operand() {
                self.refs.push(ins.ip_rel_memory_address());
            } else if ins.op_count() > 0
                && (ins.op0_kind() == OpKind::Memory || ins.op1_kind() == OpKind::Memory)
                && ins.memory_base() == Register::None
                && ins.memory_displacement64() > 0x1000
            {
                self.refs.push(ins.memory_displacement64());
            }
            match ins.flow_control() {
                FlowControl::Return => self.rets.push(ins.ip()),
                FlowControl::UnconditionalBranch | FlowControl::ConditionalBranch => self
                    .exits
                    .push((ins.ip(), Exit::Jump(ins.near_branch_target()))),
                FlowControl::IndirectBranch => {
                    let e = if ins.is_ip_rel_memory_operand() {
                        Exit::JumpSlot(ins.ip_rel_memory_address())
                    } else {
                        Exit::IndirectJump
                    };
                    self.exits.push((ins.ip(), e));
                }
                FlowControl::IndirectCall if ins.is_ip_rel_memory_operand() => self
                    .exits
                    .push((ins.ip(), Exit::CallSlot(ins.ip_rel_memory_address()))),
                _ => {}
            }
        }
    }

    /// Sorts everything (call once after the last [`CodeIndex::scan`]). Scans of pieces in
    /// address order leave `rets` and `exits` sorted already: then only checked.
    pub fn finish(&mut self) {
        self.refs.sort_unstable();
        self.refs.dedup();
        if !self.rets.is_sorted() {
            self.rets.sort_unstable();
        }
        if !self.exits.is_sorted_by_key(|e| e.0) {
            self.exits.sort_unstable_by_key(|e| e.0);
        }
    }
}

/// Walks the function whose machine code is `code`, loaded at `start`.
pub fn analyze(code: &[u8], start: u64, mem: &dyn Memory, opts: WalkOptions<'_>) -> Facts {
    let end = start.saturating_add(code.len() as u64);
    // The buffers of the previous walk on this thread are reused: most of the time of a
    // whole-binary run would otherwise go to allocating and faulting in fresh pages.
    let scratch = SCRATCH.with(|s| std::mem::take(&mut *s.borrow_mut()));
    let mut w = Walk::new(code, start, end, mem, opts, scratch);
    w.run();
    let (facts, scratch) = w.finish();
    SCRATCH.with(|s| *s.borrow_mut() = scratch);
    facts
}

/// Reusable buffers of a walk.
#[derive(Default)]
struct Scratch {
    instrs: Vec<Instruction>,
    at: Vec<u32>,
    leaders: Vec<bool>,
    seen: Seen,
    sites: HashMap<(u64, SiteKind), i64, Fx>,
    work: Vec<(usize, State)>,
    /// iced's factory allocates two vectors when made: one per thread, not per walk.
    info: Option<InstructionInfoFactory>,
}

/// The states a block has been walked in, by instruction index: a slot per instruction
/// pointing into a pool of state lists that is kept from walk to walk, so that a walk
/// allocates nothing once the pool has grown (a map of fresh lists cost an allocation per
/// block).
#[derive(Default)]
struct Seen {
    /// Per instruction: 0, or 1 + the index of its list in `pool`.
    slot: Vec<u32>,
    pool: Vec<Vec<State>>,
    /// Lists of `pool` in use by this walk.
    used: usize,
}

impl Seen {
    /// Forgets every state; `n` instructions.
    fn reset(&mut self, n: usize) {
        self.slot.clear();
        self.slot.resize(n, 0);
        for v in &mut self.pool[..self.used] {
            v.clear();
            // A probe loop may have left thousands: do not keep that much for every walk.
            if v.capacity() > 64 {
                v.shrink_to(4);
            }
        }
        // After a huge function, start small again.
        if self.pool.len() > 1 << 16 {
            self.pool.truncate(1 << 12);
            self.pool.shrink_to_fit();
        }
        self.used = 0;
    }

    /// The states of the block at instruction `idx`.
    fn at(&mut self, idx: usize) -> &mut Vec<State> {
        let k = match self.slot[idx] {
            0 => {
                let k = self.used;
                if k == self.pool.len() {
                    self.pool.push(Vec::new());
                }
                self.used += 1;
                self.slot[idx] = k as u32 + 1;
                k
            }
            k => k as usize - 1,
        };
        &mut self.pool[k]
    }
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

struct Walk<'a> {
    start: u64,
    end: u64,
    instrs: Vec<Instruction>,
    /// Per byte of the function: the index of the instruction starting there, or `u32::MAX`
    /// (a binary search over the instructions was a tenth of a whole-binary run).
    at: Vec<u32>,
    /// Block starts: branch targets inside the function.
    leaders: Vec<bool>,
    mem: &'a dyn Memory,
    opts: WalkOptions<'a>,
    facts: Facts,
    sites: HashMap<(u64, SiteKind), i64, Fx>,
    info: InstructionInfoFactory,
    seen: Seen,
    work: Vec<(usize, State)>,
    /// Every RIP-relative address the function refers to, sorted: a jump table ends where
    /// another object the function uses begins.
    refs: Vec<u64>,
}

impl<'a> Walk<'a> {
    fn new(
        code: &[u8],
        start: u64,
        end: u64,
        mem: &'a dyn Memory,
        opts: WalkOptions<'a>,
        scratch: Scratch,
    ) -> Self {
        let mut decoder = Decoder::with_ip(64, code, start, DecoderOptions::NONE);
        let Scratch {
            mut instrs,
            mut at,
            mut leaders,
            mut seen,
            mut sites,
            mut work,
            info,
        } = scratch;
        instrs.clear();
        work.clear();
        // Clearing a map costs its capacity: after a huge function, start small again.
        if sites.capacity() > 1024 {
            sites = HashMap::default();
        } else {
            sites.clear();
        }
        at.clear();
        // Instructions beyond u32 indices (a 4 GiB function) are not looked up: index_of
        // falls back to a search.
        at.resize(code.len(), u32::MAX);
        let mut ins = Instruction::default();
        while decoder.can_decode() {
            let off = decoder.position();
            decoder.decode_out(&mut ins);
            if let Ok(k) = u32::try_from(instrs.len()) {
                at[off] = k;
            }
            instrs.push(ins);
        }
        leaders.clear();
        leaders.resize(instrs.len(), false);
        seen.reset(instrs.len());
        let mut w = Walk {
            start,
            end,
            leaders,
            instrs,
            at,
            mem,
            opts,
            facts: Facts::default(),
            sites,
            info: info.unwrap_or_else(InstructionInfoFactory::new),
            seen,
            work,
            refs: Vec::new(),
        };
        // The function's own references matter only without the whole program's.
        let own_refs = opts.refs.is_empty();
        for i in 0..w.instrs.len() {
            let ins = &w.instrs[i];
            if own_refs && ins.is_ip_rel_memory_operand() {
                w.refs.push(ins.ip_rel_memory_address());
            }
            if matches!(
                ins.flow_control(),
                FlowControl::ConditionalBranch | FlowControl::UnconditionalBranch
            ) {
                let t = ins.near_branch_target();
                if let Some(j) = w.index_of(t) {
                    w.leaders[j] = true;
                }
            }
        }
        w.refs.sort_unstable();
        w.refs.dedup();
        w
    }

    fn index_of(&self, addr: u64) -> Option<usize> {
        if addr < self.start || addr >= self.end {
            return None;
        }
        match self.at.get((addr - self.start) as usize) {
            Some(&k) if k != u32::MAX => Some(k as usize),
            _ if self.instrs.len() > u32::MAX as usize => {
                self.instrs.binary_search_by_key(&addr, |i| i.ip()).ok()
            }
            _ => None,
        }
    }

    fn stops_after(&self, kind: SiteKind) -> bool {
        match kind {
            SiteKind::Call(t) => self.opts.noreturn_targets.is_some_and(|s| s.contains(&t)),
            SiteKind::CallSlot(a) => self.opts.noreturn_slots.is_some_and(|s| s.contains(&a)),
            _ => false,
        }
    }

    fn set_dynamic(&mut self, addr: u64, why: &'static str) {
        if self.facts.dynamic_sp.is_none() {
            self.facts.dynamic_sp = Some(addr);
            self.facts.dynamic_reason = Some(why);
        }
    }

    fn site(&mut self, addr: u64, depth: i64, kind: SiteKind) {
        let e = self.sites.entry((addr, kind)).or_insert(depth);
        *e = (*e).max(depth);
    }

    fn touch(&mut self, depth: i64) {
        if depth > 0 && depth as u64 > self.facts.frame {
            self.facts.frame = depth as u64;
        }
    }

    /// Whether a block at `idx` must be walked in `state` (false when already walked in it).
    /// States with the same SP are merged by forgetting registers that differ, so loops that
    /// step a register converge; distinct SPs are kept apart (probe loops).
    fn admit(&mut self, idx: usize, state: &mut State) -> Result<bool, ()> {
        let states = self.seen.at(idx);
        if let Some(prev) = states.iter_mut().find(|s| s.sp == state.sp) {
            if prev.regs == state.regs {
                return Ok(false);
            }
            let mut merged = prev.regs;
            let mut changed = false;
            for (m, v) in merged.iter_mut().zip(state.regs.iter()) {
                if *m != *v && *m != Packed::UNKNOWN {
                    *m = Packed::UNKNOWN;
                    changed = true;
                }
            }
            if !changed {
                // `prev` already knows less than `state`: nothing new.
                return Ok(false);
            }
            prev.regs = merged;
            state.regs = merged;
            return Ok(true);
        }
        if states.len() >= MAX_STATES_PER_BLOCK {
            return Err(());
        }
        states.push(state.clone());
        Ok(true)
    }

    fn run(&mut self) {
        if self.instrs.is_empty() {
            return;
        }
        let entry = State {
            sp: 0,
            regs: [Packed::UNKNOWN; 16],
        };
        self.seen.at(0).push(entry.clone());
        let mut work = std::mem::take(&mut self.work);
        work.push((0, entry));
        let mut steps = 0usize;
        self.paths(&mut work, &mut steps);
        self.work = work;
    }

    fn paths(&mut self, work: &mut Vec<(usize, State)>, steps: &mut usize) {
        'paths: while let Some((mut idx, mut st)) = work.pop() {
            // `cmp` result for the next instruction only: (depth of lhs, depth of rhs).
            let mut cmp: Option<(i64, i64)> = None;
            loop {
                if idx >= self.instrs.len() {
                    // Fell off the end of the function (after a call that does not return).
                    continue 'paths;
                }
                *steps += 1;
                if *steps > MAX_STEPS {
                    let a = self.instrs[idx].ip();
                    self.set_dynamic(a, "too many paths to follow");
                    return;
                }
                let ins = self.instrs[idx];
                let addr = ins.ip();
                if ins.is_invalid() {
                    self.set_dynamic(addr, "undecodable instruction");
                    continue 'paths;
                }
                self.memory_touch(&ins, &st);
                let pending = cmp.take();
                match ins.flow_control() {
                    FlowControl::Next | FlowControl::XbeginXabortXend => {
                        if ins.mnemonic() == Mnemonic::Cmp {
                            cmp = self.compare(&ins, &st);
                        }
                        if !self.step(&ins, &mut st) {
                            continue 'paths;
                        }
                    }
                    FlowControl::Call => {
                        if ins.mnemonic() == Mnemonic::Syscall
                            || ins.mnemonic() == Mnemonic::Sysenter
                        {
                            for r in [RAX, 1, 11] {
                                st.set(r, Val::Unknown);
                            }
                        } else {
                            let t = ins.near_branch_target();
                            if self.opts.probestack.contains(&t) {
                                match st.get(RAX) {
                                    Val::Const(n) if n >= 0 => self.touch(st.sp + 16 + n),
                                    _ => {
                                        self.set_dynamic(
                                            addr,
                                            "__rust_probestack without a known size",
                                        );
                                        continue 'paths;
                                    }
                                }
                                // It preserves every register but r11 (and flags).
                                st.set(11, Val::Unknown);
                            } else {
                                self.site(addr, st.sp, SiteKind::Call(t));
                                clobber(&mut st);
                                if self.stops_after(SiteKind::Call(t)) {
                                    continue 'paths;
                                }
                            }
                        }
                    }
                    FlowControl::IndirectCall => {
                        let kind = if ins.is_ip_rel_memory_operand() {
                            SiteKind::CallSlot(ins.ip_rel_memory_address())
                        } else {
                            SiteKind::Indirect
                        };
                        self.site(addr, st.sp, kind);
                        clobber(&mut st);
                        if self.stops_after(kind) {
                            continue 'paths;
                        }
                    }
                    FlowControl::Return => {
                        self.facts.returns = true;
                        if st.sp != 0 && self.facts.unbalanced_ret.is_none() {
                            self.facts.unbalanced_ret = Some((addr, st.sp));
                        }
                        continue 'paths;
                    }
                    FlowControl::Interrupt => {
                        if matches!(
                            ins.mnemonic(),
                            Mnemonic::Int3 | Mnemonic::Int1 | Mnemonic::Into
                        ) {
                            continue 'paths;
                        }
                    }
                    FlowControl::Exception => continue 'paths,
                    FlowControl::UnconditionalBranch => {
                        let t = ins.near_branch_target();
                        match self.index_of(t) {
                            Some(j) => match self.admit(j, &mut st) {
                                Ok(true) => {
                                    idx = j;
                                    continue;
                                }
                                Ok(false) => continue 'paths,
                                Err(()) => {
                                    self.set_dynamic(addr, "too many stack depths at one point");
                                    return;
                                }
                            },
                            None if t >= self.start && t < self.end => {
                                self.set_dynamic(addr, "jump into the middle of an instruction");
                                continue 'paths;
                            }
                            None => {
                                self.site(addr, st.sp, SiteKind::Tail(t));
                                continue 'paths;
                            }
                        }
                    }
                    FlowControl::ConditionalBranch => {
                        let t = ins.near_branch_target();
                        let (taken, fall) = decide(ins.condition_code(), pending);
                        if taken {
                            match self.index_of(t) {
                                Some(j) => {
                                    if !self.fork(addr, j, &st, work) {
                                        return;
                                    }
                                }
                                None if t >= self.start && t < self.end => {
                                    self.set_dynamic(
                                        addr,
                                        "jump into the middle of an instruction",
                                    );
                                }
                                None => self.site(addr, st.sp, SiteKind::Tail(t)),
                            }
                        }
                        if !fall {
                            continue 'paths;
                        }
                    }
                    FlowControl::IndirectBranch => {
                        if ins.is_ip_rel_memory_operand() {
                            self.site(addr, st.sp, SiteKind::TailSlot(ins.ip_rel_memory_address()));
                            continue 'paths;
                        }
                        match self.jump_table(idx) {
                            Some(targets) => {
                                self.facts.jump_tables.push((addr, targets.len()));
                                for j in targets {
                                    if !self.fork(addr, j, &st, work) {
                                        return;
                                    }
                                }
                            }
                            None => self.site(addr, st.sp, SiteKind::IndirectTail),
                        }
                        continue 'paths;
                    }
                }
                idx += 1;
                if idx < self.instrs.len() && self.leaders[idx] {
                    match self.admit(idx, &mut st) {
                        Ok(true) => {}
                        Ok(false) => continue 'paths,
                        Err(()) => {
                            self.set_dynamic(addr, "too many stack depths at one point");
                            return;
                        }
                    }
                }
            }
        }
    }

    /// Queues a copy of `st` for the branch from `addr` to instruction `j`, unless that point
    /// was already walked in it. `false` (after marking the function dynamic) when the point
    /// holds too many stack depths: the walk of this function must stop.
    fn fork(&mut self, addr: u64, j: usize, st: &State, work: &mut Vec<(usize, State)>) -> bool {
        let mut s2 = st.clone();
        match self.admit(j, &mut s2) {
            Ok(true) => work.push((j, s2)),
            Ok(false) => {}
            Err(()) => {
                self.set_dynamic(addr, "too many stack depths at one point");
                return false;
            }
        }
        true
    }

    /// Records bytes touched below SP (or below any tracked stack address).
    fn memory_touch(&mut self, ins: &Instruction, st: &State) {
        let m = ins.mnemonic();
        if m == Mnemonic::Lea || m == Mnemonic::Nop {
            return;
        }
        for i in 0..ins.op_count() {
            if ins.op_kind(i) != OpKind::Memory {
                continue;
            }
            // With an index register (`[rsp+rdx*4-0x78]`, an array in the red zone) the base and
            // displacement give the lowest element: indices into a frame do not go negative.
            let base = ins.memory_base();
            let disp = ins.memory_displacement64() as i64;
            if let Some(r) = gpr(base) {
                let rel = if r == RSP {
                    Some(st.sp)
                } else if let Val::Rel(v) = st.get(r) {
                    Some(v)
                } else {
                    None
                };
                if let Some(v) = rel {
                    self.touch(v - disp);
                }
            }
        }
        // String stores go up from rdi.
        if ins.op_count() > 0 && matches!(ins.op0_kind(), OpKind::MemoryESEDI | OpKind::MemoryESRDI)
        {
            if let Val::Rel(v) = st.get(7) {
                self.touch(v);
            }
        }
    }

    /// `cmp a, b` where both are stack addresses known to the walk.
    fn compare(&self, ins: &Instruction, st: &State) -> Option<(i64, i64)> {
        if ins.op0_kind() != OpKind::Register || ins.op1_kind() != OpKind::Register {
            return None;
        }
        let val = |r: Register| -> Option<i64> {
            if r.size() != 8 {
                return None;
            }
            let i = gpr(r)?;
            if i == RSP {
                Some(st.sp)
            } else if let Val::Rel(v) = st.get(i) {
                Some(v)
            } else {
                None
            }
        };
        Some((val(ins.op0_register())?, val(ins.op1_register())?))
    }

    /// Applies a straight-line instruction to the state; false stops the path (SP unknown).
    fn step(&mut self, ins: &Instruction, st: &mut State) -> bool {
        let addr = ins.ip();
        let m = ins.mnemonic();
        match m {
            Mnemonic::Leave => {
                if let Val::Rel(r) = st.get(RBP) {
                    st.sp = r - 8;
                    st.set(RBP, Val::Unknown);
                    return true;
                }
                self.set_dynamic(addr, "`leave` with an unknown frame pointer");
                return false;
            }
            Mnemonic::Enter => {
                let size = ins.immediate(0) as i64;
                st.sp += 8;
                st.set(RBP, Val::Rel(st.sp));
                st.sp += size;
                self.record_sp(st.sp);
                return true;
            }
            _ => {}
        }
        // Only these move SP implicitly among straight-line instructions (`enter`/`leave` are
        // handled above); asking iced for every instruction costs a table walk.
        let inc = if matches!(
            m,
            Mnemonic::Push
                | Mnemonic::Pop
                | Mnemonic::Pushf
                | Mnemonic::Pushfd
                | Mnemonic::Pushfq
                | Mnemonic::Popf
                | Mnemonic::Popfd
                | Mnemonic::Popfq
                | Mnemonic::Pusha
                | Mnemonic::Pushad
                | Mnemonic::Popa
                | Mnemonic::Popad
        ) {
            ins.stack_pointer_increment()
        } else {
            0
        };
        if inc != 0 {
            // push/pop/pushf/popf and friends.
            st.sp -= inc as i64;
            self.record_sp(st.sp);
            if m == Mnemonic::Pop && ins.op0_kind() == OpKind::Register {
                match gpr(ins.op0_register()) {
                    Some(RSP) => {
                        self.set_dynamic(addr, "`pop rsp`");
                        return false;
                    }
                    Some(r) => st.set(r, Val::Unknown),
                    None => {}
                }
            }
            if m == Mnemonic::Push
                || m == Mnemonic::Pop
                || m == Mnemonic::Pushfq
                || m == Mnemonic::Popfq
            {
                return true;
            }
            // Other SP-moving instructions fall through to the generic register update.
        }
        let op0_reg = if ins.op_count() > 0 && ins.op0_kind() == OpKind::Register {
            gpr(ins.op0_register()).map(|i| (i, ins.op0_register()))
        } else {
            None
        };
        // Writes to SP.
        if let Some((RSP, _)) = op0_reg {
            if !matches!(
                m,
                Mnemonic::Cmp | Mnemonic::Test | Mnemonic::Push | Mnemonic::Bt
            ) {
                return self.write_sp(ins, st);
            }
        }
        if m == Mnemonic::Xchg
            && ins.op1_kind() == OpKind::Register
            && gpr(ins.op1_register()) == Some(RSP)
        {
            self.set_dynamic(addr, "`xchg` with rsp");
            return false;
        }
        // Register tracking.
        if let Some((r, reg)) = op0_reg {
            let wide = reg.size() == 8;
            let dword = reg.size() == 4;
            let handled = match m {
                Mnemonic::Mov if ins.op1_kind() == OpKind::Register => {
                    let src = gpr(ins.op1_register());
                    st.set(
                        r,
                        match src {
                            Some(RSP) if wide => Val::Rel(st.sp),
                            Some(s) if wide => st.get(s),
                            Some(s) if dword => match st.get(s) {
                                Val::Const(c) => Val::Const(c as u32 as i64),
                                _ => Val::Unknown,
                            },
                            _ => Val::Unknown,
                        },
                    );
                    true
                }
                Mnemonic::Mov if is_imm(ins.op1_kind()) && (wide || dword) => {
                    let v = ins.immediate(1);
                    st.set(
                        r,
                        Val::Const(if dword { v as u32 as i64 } else { v as i64 }),
                    );
                    true
                }
                Mnemonic::Lea if wide && ins.memory_index() == Register::None => {
                    let disp = ins.memory_displacement64() as i64;
                    st.set(
                        r,
                        match gpr(ins.memory_base()) {
                            Some(RSP) => Val::Rel(st.sp - disp),
                            Some(b) => match st.get(b) {
                                Val::Rel(v) => Val::Rel(v - disp),
                                _ => Val::Unknown,
                            },
                            None => Val::Unknown,
                        },
                    );
                    true
                }
                Mnemonic::Sub | Mnemonic::Add if wide && is_imm(ins.op1_kind()) => {
                    let imm = ins.immediate(1) as i64;
                    let imm = if m == Mnemonic::Sub { imm } else { -imm };
                    st.set(
                        r,
                        match st.get(r) {
                            Val::Rel(v) => Val::Rel(v + imm),
                            Val::Const(c) => Val::Const(c.wrapping_sub(imm)),
                            Val::Unknown => Val::Unknown,
                        },
                    );
                    true
                }
                Mnemonic::Xor
                    if ins.op1_kind() == OpKind::Register
                        && ins.op1_register() == reg
                        && (wide || dword) =>
                {
                    st.set(r, Val::Const(0));
                    true
                }
                _ => false,
            };
            if handled {
                return true;
            }
        }
        if st.tracks_anything() {
            if writes_only_op0(m, ins) {
                if let Some((r, _)) = op0_reg {
                    if r != RSP {
                        st.set(r, Val::Unknown);
                    }
                }
                return true;
            }
            let info = self.info.info(ins);
            for u in info.used_registers() {
                if matches!(
                    u.access(),
                    OpAccess::Write
                        | OpAccess::CondWrite
                        | OpAccess::ReadWrite
                        | OpAccess::ReadCondWrite
                ) {
                    if let Some(i) = gpr(u.register()) {
                        if i != RSP {
                            st.set(i, Val::Unknown);
                        }
                    }
                }
            }
        }
        true
    }

    /// An explicit write to RSP (`sub rsp, N`, `mov rsp, rbp`, `and rsp, -64`...).
    fn write_sp(&mut self, ins: &Instruction, st: &mut State) -> bool {
        let addr = ins.ip();
        let m = ins.mnemonic();
        let reg_val = |st: &State, r: Register| -> Val {
            match gpr(r) {
                Some(RSP) => Val::Rel(st.sp),
                Some(i) => st.get(i),
                None => Val::Unknown,
            }
        };
        if ins.op0_register().size() != 8 {
            self.set_dynamic(addr, "partial write to rsp");
            return false;
        }
        let operand = |st: &State| -> Option<i64> {
            match ins.op1_kind() {
                k if is_imm(k) => Some(ins.immediate(1) as i64),
                OpKind::Register => match reg_val(st, ins.op1_register()) {
                    Val::Const(c) => Some(c),
                    _ => None,
                },
                _ => None,
            }
        };
        let new_sp = match m {
            Mnemonic::Sub => operand(st).map(|n| st.sp + n),
            Mnemonic::Add => operand(st).map(|n| st.sp - n),
            Mnemonic::Mov if ins.op1_kind() == OpKind::Register => {
                match reg_val(st, ins.op1_register()) {
                    Val::Rel(v) => Some(v),
                    _ => None,
                }
            }
            Mnemonic::Lea if ins.memory_index() == Register::None => {
                let disp = ins.memory_displacement64() as i64;
                match reg_val(st, ins.memory_base()) {
                    Val::Rel(v) => Some(v - disp),
                    _ => None,
                }
            }
            Mnemonic::And => match operand(st) {
                // Realignment: SP drops by 0..N-8 bytes (SP stays 8-aligned); count the most.
                Some(mask)
                    if mask < 0 && (-mask) as u64 <= 1 << 20 && ((-mask) & (-mask - 1)) == 0 =>
                {
                    Some(st.sp + (-mask - 8).max(0))
                }
                _ => None,
            },
            _ => None,
        };
        match new_sp {
            Some(sp) => {
                st.sp = sp;
                self.record_sp(sp);
                true
            }
            None => {
                self.set_dynamic(addr, "rsp changed by an amount not known statically");
                false
            }
        }
    }

    fn record_sp(&mut self, sp: i64) {
        if sp > self.facts.max_sp {
            self.facts.max_sp = sp;
        }
        self.touch(sp);
    }

    /// The in-function targets of the jump table used by the indirect jump at `idx`.
    fn jump_table(&self, idx: usize) -> Option<Vec<usize>> {
        let jmp = &self.instrs[idx];
        let lookback = idx.saturating_sub(24);
        let reads_table = |table: u64, k: usize, rel: bool| -> Option<u64> {
            if rel {
                let b = self.mem.read(table.wrapping_add(4 * k as u64), 4)?;
                let e = i32::from_le_bytes(b.try_into().ok()?) as i64;
                Some(table.wrapping_add(e as u64))
            } else {
                self.mem.pointer(table.wrapping_add(8 * k as u64))
            }
        };
        // The instruction that reads the table and its index register, for the bound check.
        let mut load: Option<(usize, Register)> = None;
        let (table, rel) = if jmp.op0_kind() == OpKind::Memory {
            // jmp [T + idx*8]
            if jmp.memory_base() != Register::None || jmp.memory_index_scale() != 8 {
                return None;
            }
            load = Some((idx, jmp.memory_index().full_register()));
            (jmp.memory_displacement64(), false)
        } else if jmp.op0_kind() == OpKind::Register {
            let r = jmp.op0_register().full_register();
            // Find what defined r.
            let mut found = None;
            for j in (lookback..idx).rev() {
                let d = &self.instrs[j];
                if d.op_count() == 0
                    || d.op0_kind() != OpKind::Register
                    || d.op0_register().full_register() != r
                {
                    continue;
                }
                match d.mnemonic() {
                    // add r, base ; after movsxd r, [base + i*4]
                    Mnemonic::Add if d.op1_kind() == OpKind::Register => {
                        let base = d.op1_register().full_register();
                        // The load: movsxd r, dword [base + i*4].
                        for k in (lookback..j).rev() {
                            let l = &self.instrs[k];
                            if l.mnemonic() == Mnemonic::Movsxd
                                && l.op0_register().full_register() == r
                                && l.op1_kind() == OpKind::Memory
                                && l.memory_index_scale() == 4
                            {
                                load = Some((k, l.memory_index().full_register()));
                                break;
                            }
                        }
                        for k in (lookback..j).rev() {
                            let l = &self.instrs[k];
                            if l.mnemonic() == Mnemonic::Lea
                                && l.op0_register().full_register() == base
                                && l.is_ip_rel_memory_operand()
                            {
                                found = Some((l.ip_rel_memory_address(), true));
                                break;
                            }
                        }
                        if found.is_none() {
                            // The table base may be loaded far earlier (hoisted): search the
                            // whole function before the jump.
                            for k in (0..lookback).rev() {
                                let l = &self.instrs[k];
                                if l.mnemonic() == Mnemonic::Lea
                                    && l.op0_register().full_register() == base
                                    && l.is_ip_rel_memory_operand()
                                {
                                    found = Some((l.ip_rel_memory_address(), true));
                                    break;
                                }
                            }
                        }
                    }
                    Mnemonic::Mov
                        if d.op1_kind() == OpKind::Memory
                            && d.memory_base() == Register::None
                            && d.memory_index_scale() == 8 =>
                    {
                        found = Some((d.memory_displacement64(), false));
                        load = Some((j, d.memory_index().full_register()));
                    }
                    _ => {}
                }
                break;
            }
            found?
        } else {
            return None;
        };
        // The bound: `cmp i, N; ja default` before the load (i or a 32-bit copy of it).
        let mut limit = load
            .and_then(|(k, ireg)| self.table_bound(k, ireg))
            .unwrap_or(MAX_TABLE);
        let entry = if rel { 4 } else { 8 };
        let refs = if self.opts.refs.is_empty() {
            &self.refs[..]
        } else {
            self.opts.refs
        };
        let after = refs.partition_point(|&r| r <= table);
        if let Some(&next) = refs.get(after) {
            limit = limit.min(((next - table) / entry) as usize);
        }
        let mut targets = Vec::new();
        for k in 0..limit.min(MAX_TABLE) {
            let Some(t) = reads_table(table, k, rel) else {
                break;
            };
            match self.index_of(t) {
                Some(j) => {
                    if !targets.contains(&j) {
                        targets.push(j);
                    }
                }
                None => break,
            }
        }
        (!targets.is_empty()).then_some(targets)
    }

    /// Number of entries of a jump table indexed by `ireg` at instruction `load`, from the
    /// range check before it. Registers copied into `ireg` (`mov`, `movzx`) are followed.
    fn table_bound(&self, load: usize, ireg: Register) -> Option<usize> {
        let mut regs = vec![ireg];
        let from = load.saturating_sub(24);
        for k in (from..load).rev() {
            let d = &self.instrs[k];
            if d.op_count() < 2 || d.op0_kind() != OpKind::Register {
                continue;
            }
            let r0 = d.op0_register().full_register();
            if !regs.contains(&r0) {
                continue;
            }
            match d.mnemonic() {
                Mnemonic::Cmp if is_imm(d.op1_kind()) => {
                    // The branch right after decides the meaning.
                    let b = self.instrs.get(k + 1)?;
                    if b.flow_control() != FlowControl::ConditionalBranch {
                        return None;
                    }
                    let n = d.immediate(1);
                    // The check must dominate the load: no other way into the code between.
                    if self.leaders[k + 1..=load].iter().any(|&l| l) {
                        return None;
                    }
                    return match b.condition_code() {
                        ConditionCode::a => usize::try_from(n).ok()?.checked_add(1),
                        ConditionCode::ae => usize::try_from(n).ok(),
                        _ => None,
                    };
                }
                Mnemonic::Mov | Mnemonic::Movzx if d.op1_kind() == OpKind::Register => {
                    regs.push(d.op1_register().full_register());
                }
                // Another write to the index: the check above it is not about this value.
                _ => return None,
            }
        }
        None
    }

    fn finish(mut self) -> (Facts, Scratch) {
        self.facts.instructions = self.instrs.len();
        let mut sites: Vec<Site> = self
            .sites
            .drain()
            .map(|((addr, kind), depth)| Site { addr, depth, kind })
            .collect();
        sites.sort_by_key(|s| (s.addr, s.depth));
        self.facts.sites = sites;
        let scratch = Scratch {
            instrs: self.instrs,
            at: self.at,
            leaders: self.leaders,
            seen: self.seen,
            sites: self.sites,
            work: self.work,
            info: Some(self.info),
        };
        (self.facts, scratch)
    }
}

fn is_imm(k: OpKind) -> bool {
    matches!(
        k,
        OpKind::Immediate8
            | OpKind::Immediate16
            | OpKind::Immediate32
            | OpKind::Immediate64
            | OpKind::Immediate8to16
            | OpKind::Immediate8to32
            | OpKind::Immediate8to64
            | OpKind::Immediate32to64
    )
}

/// Whether the instruction writes no general register but its explicit first operand (the
/// common case, decided without iced's slower instruction-info tables).
fn writes_only_op0(m: Mnemonic, ins: &Instruction) -> bool {
    use Mnemonic::*;
    match m {
        Mov | Movzx | Movsx | Movsxd | Lea | Add | Sub | And | Or | Xor | Adc | Sbb | Inc | Dec
        | Neg | Not | Shl | Shr | Sar | Rol | Ror | Bswap | Popcnt | Lzcnt | Tzcnt | Bsf | Bsr
        | Cmp | Test | Bt | Nop | Sete | Setne | Setb | Setae | Seta | Setbe | Setl | Setge
        | Setg | Setle | Sets | Setns | Seto | Setno | Setp | Setnp | Cmove | Cmovne | Cmovb
        | Cmovae | Cmova | Cmovbe | Cmovl | Cmovge | Cmovg | Cmovle | Cmovs | Cmovns | Movd
        | Movq | Movaps | Movups | Movapd | Movdqa | Movdqu | Movss | Movsd | Pxor | Xorps
        | Vmovaps | Vmovups | Vmovdqa | Vmovdqu | Vpxor | Vxorps | Andn | Shlx | Shrx | Sarx
        | Rorx => true,
        // Only the two- and three-operand forms write just their destination.
        Imul => ins.op_count() >= 2,
        _ => false,
    }
}

fn clobber(st: &mut State) {
    for r in CALLER_SAVED {
        st.set(r, Val::Unknown);
    }
}

/// Which ways a conditional branch can go, given the last `cmp` of two stack addresses
/// (`(depth of lhs, depth of rhs)`; a deeper address is a lower one).
fn decide(cc: ConditionCode, cmp: Option<(i64, i64)>) -> (bool, bool) {
    let Some((da, db)) = cmp else {
        return (true, true);
    };
    // Addresses: a = E - da, b = E - db.
    let taken = match cc {
        ConditionCode::e => da == db,
        ConditionCode::ne => da != db,
        ConditionCode::b | ConditionCode::l => da > db,
        ConditionCode::ae | ConditionCode::ge => da <= db,
        ConditionCode::a | ConditionCode::g => da < db,
        ConditionCode::be | ConditionCode::le => da >= db,
        _ => return (true, true),
    };
    (taken, !taken)
}

#[cfg(test)]
mod tests {
    //! Hand-assembled functions (GNU as, Intel syntax; source in the comments) with figures
    //! worked out by hand from the instructions.
    use super::*;

    /// The bytes of `t.s` below, assembled at address 0.
    #[rustfmt::skip]
    const CODE: [u8; 220] = [
        0x53, 0x48, 0x83, 0xec, 0x20, 0xe8, 0xf6, 0x0f, 0x00, 0x00, 0x48, 0x83, 0xc4, 0x20, 0x5b, 0xc3, 0x0f, 0x29, 0x44, 0x24, 0xb8, 0xc3, 0x53, 0x49, 0x89, 0xe3, 0x49, 0x81, 0xeb, 0x00, 0x10, 0x01, 0x00, 0x48, 0x81, 0xec, 0x00, 0x10, 0x00, 0x00, 0x48, 0xc7, 0x04, 0x24, 0x00, 0x00, 0x00, 0x00, 0x4c, 0x39, 0xdc, 0x75, 0xec, 0x48, 0x81, 0xec, 0x80, 0x01, 0x00, 0x00, 0xff, 0x15, 0x00, 0x01, 0x00, 0x00, 0x48, 0x81, 0xc4, 0x80, 0x11, 0x01, 0x00, 0x5b, 0xc3, 0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xec, 0x40, 0x48, 0x83, 0xe4, 0xe0, 0x85, 0xff, 0x74, 0x0a, 0xe8, 0xeb, 0x0f, 0x00, 0x00, 0x48, 0x89, 0xec, 0x5d, 0xc3, 0xc9, 0xc3, 0x48, 0x83, 0xec, 0x08, 0xe8, 0xf7, 0x0f, 0x00, 0x00, 0x48, 0x83, 0xc4, 0x08, 0xe9, 0xee, 0x1f, 0x00, 0x00, 0x55, 0x48, 0x89, 0xe5, 0x48, 0x29, 0xc4, 0xe8, 0xf4, 0x0f, 0x00, 0x00, 0xc9, 0xc3, 0x83, 0xff, 0x02, 0x77, 0x26, 0x48, 0x8d, 0x0d, 0x20, 0x00, 0x00, 0x00, 0x48, 0x63, 0x04, 0xb9, 0x48, 0x01, 0xc8, 0xff, 0xe0, 0x50, 0xe8, 0xe5, 0x0f, 0x00, 0x00, 0x59, 0xc3, 0x48, 0x83, 0xec, 0x58, 0xe8, 0xda, 0x1f, 0x00, 0x00, 0x48, 0x83, 0xc4, 0x58, 0xc3, 0xc3, 0xe9, 0xff, 0xff, 0xff, 0xf1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x4d, 0xff, 0xff, 0xff, 0x53, 0xb8, 0x00, 0x10, 0x01, 0x00, 0xe8, 0xf5, 0x0f, 0x00, 0x00, 0x48, 0x29, 0xc4, 0xff, 0x10, 0x48, 0x81, 0xc4, 0x00, 0x10, 0x01, 0x00, 0x5b, 0xc3,
    ];

    struct Flat;
    impl Memory for Flat {
        fn read(&self, addr: u64, len: usize) -> Option<&[u8]> {
            CODE.get(addr as usize..addr as usize + len)
        }
        fn pointer(&self, addr: u64) -> Option<u64> {
            Some(u64::from_le_bytes(self.read(addr, 8)?.try_into().ok()?))
        }
    }

    fn walk(from: usize, to: usize, probestack: &[u64]) -> Facts {
        analyze(
            &CODE[from..to],
            from as u64,
            &Flat,
            WalkOptions {
                probestack,
                ..WalkOptions::default()
            },
        )
    }

    fn site(f: &Facts, kind: SiteKind) -> i64 {
        f.sites.iter().find(|s| s.kind == kind).expect("site").depth
    }

    #[test]
    fn push_sub_call_epilogue() {
        // f1: push rbx; sub rsp,0x20; call f1+0x1000; add rsp,0x20; pop rbx; ret
        let f = walk(0x00, 0x10, &[]);
        assert_eq!(f.frame, 8 + 0x20);
        assert_eq!(site(&f, SiteKind::Call(0x1000)), 40);
        assert!(f.dynamic_sp.is_none() && f.unbalanced_ret.is_none() && f.returns);
    }

    #[test]
    fn red_zone_leaf() {
        // f2: movaps [rsp-0x48], xmm0; ret
        let f = walk(0x10, 0x16, &[]);
        assert_eq!(f.max_sp, 0);
        assert_eq!(f.frame, 0x48);
    }

    #[test]
    fn probe_loop_runs_to_its_bound() {
        // f3: push rbx; mov r11,rsp; sub r11,0x11000
        // L3: sub rsp,0x1000; mov qword [rsp],0; cmp rsp,r11; jne L3
        //     sub rsp,0x180; call [rip+0x100]; add rsp,0x11180; pop rbx; ret
        let f = walk(0x16, 0x4b, &[]);
        assert_eq!(f.frame, 8 + 0x11000 + 0x180);
        assert_eq!(
            site(&f, SiteKind::CallSlot(0x42 + 0x100)),
            8 + 0x11000 + 0x180
        );
        assert!(f.dynamic_sp.is_none() && f.unbalanced_ret.is_none());
    }

    #[test]
    fn realignment_and_two_frame_pointer_epilogues() {
        // f4: push rbp; mov rbp,rsp; sub rsp,0x40; and rsp,-32; test edi,edi; je E4
        //     call f4+0x1000; mov rsp,rbp; pop rbp; ret
        // E4: leave; ret
        let f = walk(0x4b, 0x67, &[]);
        // `and rsp,-32` may drop SP by up to 24 bytes (SP is 8-aligned): counted.
        assert_eq!(site(&f, SiteKind::Call(0x104b)), 8 + 0x40 + 24);
        assert_eq!(f.frame, 96);
        assert!(f.unbalanced_ret.is_none() && f.dynamic_sp.is_none());
    }

    #[test]
    fn tail_jump_at_depth_zero() {
        // f5: sub rsp,8; call f5+0x1000; add rsp,8; jmp f5+0x2000
        let f = walk(0x67, 0x79, &[]);
        assert_eq!(site(&f, SiteKind::Call(0x1067)), 8);
        assert_eq!(site(&f, SiteKind::Tail(0x2067)), 0);
        assert!(!f.returns);
    }

    #[test]
    fn unknown_sp_change_is_dynamic() {
        // f6: push rbp; mov rbp,rsp; sub rsp,rax; ...
        let f = walk(0x79, 0x87, &[]);
        assert_eq!(f.dynamic_sp, Some(0x7d));
    }

    #[test]
    fn pic_jump_table_with_range_check() {
        // f7: cmp edi,2; ja D7; lea rcx,[rip+T7]; movsxd rax,[rcx+rdi*4]; add rax,rcx; jmp rax
        // A7: push rax; call f7+0x1000; pop rcx; ret
        // B7: sub rsp,0x58; call f7+0x2000; add rsp,0x58; ret
        // D7: ret
        // T7: .long A7-T7, B7-T7, D7-T7, f1-T7   (the 4th entry is past the range check)
        let f = walk(0x87, 0xb3, &[]);
        assert_eq!(f.jump_tables, vec![(0x9a, 3)]);
        assert_eq!(site(&f, SiteKind::Call(0x1087)), 8);
        assert_eq!(site(&f, SiteKind::Call(0x2087)), 0x58);
        assert_eq!(f.frame, 0x58);
    }

    #[test]
    fn rust_probestack_call_is_folded_into_the_frame() {
        // f8: push rbx; mov eax,0x11000; call __rust_probestack; sub rsp,rax; call [rax]; ...
        let f = walk(0xc3, 0xdc, &[0x10c3]);
        // probestack's own return address and saved rbp sit below the 0x11000 it probes.
        assert_eq!(f.frame, 8 + 16 + 0x11000);
        assert_eq!(site(&f, SiteKind::Indirect), 8 + 0x11000);
        assert!(f.dynamic_sp.is_none());
        assert!(!f.sites.iter().any(|s| s.kind == SiteKind::Call(0x10c3)));
    }

    #[test]
    fn indexed_red_zone_array() {
        // sub rsp,0x30; mov [rsp+rdx*4-0x78],ecx; add rsp,0x30; ret  (gcc -O2, an int[40]
        // indexed below SP: its first element is 0x78 below the 0x30 frame)
        let code = [
            0x48, 0x83, 0xec, 0x30, 0x89, 0x4c, 0x94, 0x88, 0x48, 0x83, 0xc4, 0x30, 0xc3,
        ];
        let f = analyze(&code, 0x4000, &Flat, WalkOptions::default());
        assert_eq!(f.max_sp, 0x30);
        assert_eq!(f.frame, 0x30 + 0x78);
    }

    #[test]
    fn garbage_never_panics() {
        let mut x: u64 = 0x9e3779b97f4a7c15;
        for _ in 0..200 {
            let bytes: Vec<u8> = (0..512)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            let _ = analyze(&bytes, 0x1000, &Flat, WalkOptions::default());
        }
    }
}
