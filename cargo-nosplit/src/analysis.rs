//! The analysis core: worst(f) for every function of a [`CallGraph`] and a verdict for every
//! root (SPEC §2).
//!
//! One pass of Tarjan's strongly-connected-components algorithm, driven by an explicit stack
//! so that no graph depth can overflow the checker's own stack, yields the components in
//! reverse topological order: when a component completes, everything it calls is decided. Each
//! component is then decided once:
//!
//! - a single function without a self-edge: `max(frame, each edge's contribution)`;
//! - a cycle whose edges all cost nothing (tail jumps at depth 0) does not grow the stack: the
//!   worst of its functions is the largest exit of any of them;
//! - a growing cycle is unbounded, unless a `recursion` assumption names one of its functions:
//!   a bound N such that a chain of calls inside the cycle enters each member at most N times.
//!   With `pass` the sum of each member's heaviest edge inside the cycle, such a chain costs at
//!   most `N × pass − heaviest(m)` before leaving from member m (m itself calls inside the
//!   cycle at most N − 1 times), so worst = max over m of `N × pass − heaviest(m) + exit(m)`:
//!   exact for self-recursion, an upper bound for larger cycles.
//!
//! Figures saturate at `u64::MAX` instead of wrapping. Unbounded results carry the id of their
//! original cause (the cycle, the indirect call, the external, the dynamic stack adjustment),
//! which every caller inherits. The whole pass is linear in functions + edges.

use std::collections::{HashMap, VecDeque};

use crate::config::Assumptions;
use crate::graph::{CallGraph, EdgeTarget, FuncId, FunctionKind};

/// Index of a [`Cause`] in [`Analysis::causes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CauseId(pub u32);

/// worst(f) of SPEC §2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Worst {
    /// The deepest byte a call can touch, from the function's entry SP.
    Bounded(u64),
    /// No bound: see the cause.
    Unbounded(CauseId),
}

impl Worst {
    /// The figure, `None` when unbounded.
    pub fn bytes(self) -> Option<u64> {
        match self {
            Worst::Bounded(n) => Some(n),
            Worst::Unbounded(_) => None,
        }
    }
}

/// Why a function has no bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    /// Recursion: a cycle of calls that grows the stack on every pass. `cycle[0]` calls
    /// `cycle[1]` ... and the last calls `cycle[0]` again (one element: self-recursion).
    Cycle {
        /// The functions around the cycle, in call order.
        cycle: Vec<FuncId>,
    },
    /// A call through an unknown pointer without a bound.
    Indirect {
        /// The caller.
        function: FuncId,
        /// Address of the call instruction, when known.
        site: Option<u64>,
        /// The caller's depth at the call.
        depth: u64,
    },
    /// A function with no code in the input and no assumed worst.
    External {
        /// The external function.
        function: FuncId,
    },
    /// A stack pointer adjustment by an amount the front end could not establish.
    DynamicSp {
        /// The function.
        function: FuncId,
        /// Address of the instruction.
        site: u64,
    },
}

/// A root's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// worst ≤ budget.
    Ok,
    /// worst > budget.
    Over,
    /// No bound.
    Unbounded,
    /// The registered function has no code of its own (inlined everywhere): nothing to check.
    Missing,
}

impl Status {
    /// The name used in reports (`ok`, `over`, `unbounded`, `missing`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Over => "over",
            Status::Unbounded => "unbounded",
            Status::Missing => "missing",
        }
    }

    /// Whether this verdict rejects the program (SPEC §3: over budget or unbounded).
    pub fn fails(self) -> bool {
        matches!(self, Status::Over | Status::Unbounded)
    }
}

/// What one step of a worst path is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// A function of the graph.
    Function(FuncId),
    /// Whatever an indirect call of `caller` reaches, counted at its bound.
    Indirect {
        /// The function making the call.
        caller: FuncId,
        /// Address of the call instruction, when known.
        site: Option<u64>,
    },
    /// A chain inside a cycle bounded by a `recursion` assumption (each member entered at most
    /// `bound` times), counted as a whole; the step's `uses` is its bound in bytes. The path
    /// continues at the member through which the heaviest such chain leaves the cycle.
    Recursion {
        /// The member through which the path enters the cycle.
        entry: FuncId,
        /// The first members of the cycle (its strongly connected component), at most 16.
        members: Vec<FuncId>,
        /// How many functions the cycle has.
        size: usize,
        /// The assumed recursion depth: times each member can be entered along the chain.
        bound: u64,
        /// Sum of each member's heaviest call or tail jump inside the cycle, in bytes.
        pass: u64,
    },
}

/// One step of a worst path, in the terms of Go's linker trace (SPEC §5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// What is entered.
    pub kind: StepKind,
    /// Bytes the transfer into this step pushes: callsize for a call, 0 for the root, a tail
    /// jump, or the exit of a recursion step.
    pub enter: u64,
    /// Depth of this step at the transfer to the next one, or its worst for the last step
    /// (frame, assumed worst, or bound). For the last step of an unbounded path: the depth of
    /// the cause when it is a call site, else 0.
    pub uses: u64,
}

/// A root's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootVerdict {
    /// Index of the root in [`CallGraph::roots`].
    pub root: usize,
    /// The verdict.
    pub status: Status,
    /// worst(root) in bytes, `None` when unbounded or missing.
    pub worst: Option<u64>,
    /// The cause, when unbounded: the one the worst path leads to.
    pub cause: Option<CauseId>,
    /// Every distinct cause the root reaches, `cause` first (empty when bounded).
    pub causes: Vec<CauseId>,
    /// Whether `causes` is complete. The search for further causes shares one budget of
    /// work linear in the graph's size among all roots, so that the analysis stays linear;
    /// on graphs with many roots over a huge unbounded region, later roots may list fewer.
    pub causes_complete: bool,
    /// The worst path from the root (to the cause when unbounded; empty when missing).
    pub path: Vec<Step>,
}

/// The result of [`analyze`].
#[derive(Clone, Debug)]
pub struct Analysis {
    /// worst(f) for every function, indexed like [`CallGraph::functions`].
    pub worst: Vec<Worst>,
    /// Every cause of unboundedness found; [`CauseId`] indexes this.
    pub causes: Vec<Cause>,
    /// One verdict per root, in the order of [`CallGraph::roots`].
    pub roots: Vec<RootVerdict>,
    /// Budget consistency and unused assumption warnings, one line each.
    pub warnings: Vec<String>,
}

impl Analysis {
    /// Whether every root is within budget (SPEC §3: exit 0).
    pub fn accepted(&self) -> bool {
        !self.roots.iter().any(|r| r.status.fails())
    }

    /// The cause with this id.
    pub fn cause(&self, id: CauseId) -> &Cause {
        &self.causes[id.0 as usize]
    }
}

/// How a function's worst was reached, for path reconstruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Choice {
    /// Its own frame (or assumed worst) is the worst.
    Frame,
    /// Edge `i` gives the worst (or leads to the cause).
    Edge(u32),
    /// The cause is the function itself (external, dynamic SP).
    Local,
    /// The function is part of the non-trivial component `i` of `Core::sccs`.
    Scc(u32),
}

#[derive(Clone, Debug)]
enum SccMode {
    /// Every edge inside costs nothing.
    Free,
    /// Bounded by a recursion assumption: the chain inside the cycle uses `uses` bytes
    /// before the exit member's own exit.
    Recursion { bound: u64, pass: u64, uses: u64 },
    /// Unbounded (the cause is a `Cause::Cycle` or comes from `exit`).
    Unbounded,
}

#[derive(Clone, Debug)]
struct Scc {
    comp: u32,
    members: Vec<FuncId>,
    /// The member whose exit is the largest, or that leads to the cause.
    exit: FuncId,
    /// How `exit` leaves the component.
    exit_choice: Choice,
    mode: SccMode,
}

const UNVISITED: u32 = u32::MAX;

/// Members of a cycle a recursion step names (a path of each root holds its own copy).
const MEMBERS_SHOWN: usize = 16;

/// Scratch space for listing the causes each unbounded root reaches.
#[derive(Default)]
struct Reach {
    /// Causes by the function where they are (every member of a cycle).
    causes_at: HashMap<u32, Vec<CauseId>>,
    /// `round` marks the functions seen for the current root.
    stamp: Vec<u32>,
    round: u32,
    /// Functions + edges the searches may still visit, all roots together.
    budget: usize,
}

/// Per-function state of the walk, together so that looking at a callee costs one cache
/// miss, not three (the graph is walked in random order).
#[derive(Clone, Copy)]
struct Node {
    /// Tarjan's discovery index, `UNVISITED` before.
    index: u32,
    /// Tarjan's low link.
    low: u32,
    /// Component, `UNVISITED` until the component completes (visited and not completed means
    /// on Tarjan's stack).
    comp: u32,
    worst: Worst,
}

struct Core<'g> {
    graph: &'g CallGraph,
    nodes: Vec<Node>,
    choice: Vec<Choice>,
    causes: Vec<Cause>,
    sccs: Vec<Scc>,
    external: HashMap<FuncId, u64>,
    indirect: HashMap<FuncId, u64>,
    recursion: HashMap<FuncId, u64>,
}

/// Computes worst(f) for every function and decides every root of `graph`.
///
/// Never panics on a graph that passes [`CallGraph::validate`] (edges and roots refer to
/// functions of the graph); runs in time linear in functions + edges, plus the worst paths of
/// the roots.
pub fn analyze(graph: &CallGraph, assumptions: &Assumptions) -> Analysis {
    let n = graph.functions.len();
    let mut warnings = Vec::new();
    let (external, indirect, recursion) = resolve(graph, assumptions, &mut warnings);
    let mut core = Core {
        graph,
        nodes: vec![
            Node {
                index: UNVISITED,
                low: 0,
                comp: UNVISITED,
                worst: Worst::Bounded(0),
            };
            n
        ],
        choice: vec![Choice::Frame; n],
        causes: Vec::new(),
        sccs: Vec::new(),
        external,
        indirect,
        recursion,
    };
    core.tarjan();
    for id in core.recursion.keys() {
        if !matches!(core.choice[id.index()], Choice::Scc(_)) {
            warnings.push(format!(
                "recursion assumption for `{}` is unused: the function is in no cycle",
                graph.function(*id).name
            ));
        }
    }
    let mut reach = Reach::default();
    let roots = (0..graph.roots.len())
        .map(|i| core.verdict(i, &mut reach))
        .collect();
    warnings.extend(budget_consistency(graph));
    Analysis {
        worst: core.nodes.iter().map(|n| n.worst).collect(),
        causes: core.causes,
        roots,
        warnings,
    }
}

type ByFunction = HashMap<FuncId, u64>;

/// Maps assumption names to function ids; warns about names that match nothing.
fn resolve(
    graph: &CallGraph,
    assumptions: &Assumptions,
    warnings: &mut Vec<String>,
) -> (ByFunction, ByFunction, ByFunction) {
    let mut maps = (HashMap::new(), HashMap::new(), HashMap::new());
    if assumptions.is_empty() {
        return maps;
    }
    let mut by_name: HashMap<&str, Vec<FuncId>> = HashMap::new();
    for (i, f) in graph.functions.iter().enumerate() {
        let id = FuncId(i as u32);
        by_name.entry(f.name.as_str()).or_default().push(id);
        // `memcpy@GLIBC_2.2.5` is also `memcpy`.
        if let Some((base, _)) = f.name.split_once('@') {
            if f.kind == FunctionKind::External && !base.is_empty() {
                by_name.entry(base).or_default().push(id);
            }
        }
    }
    let tables = [
        ("external", &assumptions.external, &mut maps.0),
        ("indirect", &assumptions.indirect, &mut maps.1),
        ("recursion", &assumptions.recursion, &mut maps.2),
    ];
    for (key, table, map) in tables {
        for (name, &value) in table {
            match by_name.get(name.as_str()) {
                Some(ids) => {
                    for &id in ids {
                        let e = map.entry(id).or_insert(value);
                        // Two names for one function: keep the larger (sound) figure.
                        *e = (*e).max(value);
                    }
                }
                None => warnings.push(format!(
                    "assumption metadata.nosplit.{key}.\"{name}\" is unused: no function has that name"
                )),
            }
        }
    }
    maps
}

impl Core<'_> {
    fn successor(&self, v: usize, i: usize) -> Option<usize> {
        match self.graph.functions[v].edges[i].target {
            EdgeTarget::Call(t) | EdgeTarget::Tail(t) => Some(t.index()),
            EdgeTarget::Indirect { .. } => None,
        }
    }

    /// Edges the walk follows: only code functions have any.
    fn out_degree(&self, v: usize) -> usize {
        let f = &self.graph.functions[v];
        match f.kind {
            FunctionKind::Code => f.edges.len(),
            FunctionKind::Grows | FunctionKind::External => 0,
        }
    }

    /// Tarjan's algorithm with an explicit call stack; decides each component as it completes.
    fn tarjan(&mut self) {
        let n = self.graph.functions.len();
        let mut stack: Vec<u32> = Vec::new();
        let mut calls: Vec<(u32, u32)> = Vec::new();
        let mut next_index = 0u32;
        let mut next_comp = 0u32;
        for s in 0..n {
            if self.nodes[s].index != UNVISITED {
                continue;
            }
            self.nodes[s].index = next_index;
            self.nodes[s].low = next_index;
            next_index += 1;
            stack.push(s as u32);
            calls.push((s as u32, 0));
            while let Some(&(v, ei)) = calls.last() {
                let v = v as usize;
                if (ei as usize) < self.out_degree(v) {
                    calls.last_mut().expect("nonempty").1 += 1;
                    let Some(w) = self.successor(v, ei as usize) else {
                        continue;
                    };
                    let target = self.nodes[w];
                    if target.index == UNVISITED {
                        self.nodes[w].index = next_index;
                        self.nodes[w].low = next_index;
                        next_index += 1;
                        stack.push(w as u32);
                        calls.push((w as u32, 0));
                    } else if target.comp == UNVISITED {
                        // On the stack: part of v's component.
                        let low = &mut self.nodes[v].low;
                        *low = (*low).min(target.index);
                    }
                    continue;
                }
                calls.pop();
                let node = self.nodes[v];
                if let Some(&(p, _)) = calls.last() {
                    let low = &mut self.nodes[p as usize].low;
                    *low = (*low).min(node.low);
                }
                if node.low == node.index {
                    let pos = stack
                        .iter()
                        .rposition(|&x| x as usize == v)
                        .expect("v is on the stack");
                    for &m in &stack[pos..] {
                        self.nodes[m as usize].comp = next_comp;
                    }
                    self.decide(&stack[pos..], next_comp);
                    stack.truncate(pos);
                    next_comp += 1;
                }
            }
        }
    }

    fn new_cause(&mut self, cause: Cause) -> CauseId {
        self.causes.push(cause);
        CauseId((self.causes.len() - 1) as u32)
    }

    /// Cost of an edge given the worst of its target (`None`: indirect without bound).
    fn edge_cost(&self, f: usize, i: usize, target_worst: u64) -> u64 {
        let e = &self.graph.functions[f].edges[i];
        match e.target {
            EdgeTarget::Call(_) | EdgeTarget::Indirect { .. } => e
                .depth
                .saturating_add(self.graph.callsize)
                .saturating_add(target_worst),
            EdgeTarget::Tail(_) => e.depth.saturating_add(target_worst),
        }
    }

    /// The worst of `f` over everything but edges into component `comp` (its own).
    fn local(&mut self, f: usize, comp: u32) -> (Worst, Choice) {
        let func = &self.graph.functions[f];
        let id = FuncId(f as u32);
        match func.kind {
            FunctionKind::Grows => return (Worst::Bounded(func.frame), Choice::Frame),
            FunctionKind::External => {
                return match self.external.get(&id) {
                    Some(&w) => (Worst::Bounded(w), Choice::Frame),
                    None => {
                        let c = self.new_cause(Cause::External { function: id });
                        (Worst::Unbounded(c), Choice::Local)
                    }
                };
            }
            FunctionKind::Code => {}
        }
        // The first unknown decides the result; the loop still goes on so that every unknown
        // of the function is recorded as a cause of its own (reports list them all).
        let mut unbounded: Option<(Worst, Choice)> = None;
        if let Some(site) = func.dynamic_sp {
            let c = self.new_cause(Cause::DynamicSp { function: id, site });
            unbounded = Some((Worst::Unbounded(c), Choice::Local));
        }
        let mut best = func.frame;
        let mut choice = Choice::Frame;
        for (i, e) in func.edges.iter().enumerate() {
            let target_worst = match e.target {
                EdgeTarget::Call(t) | EdgeTarget::Tail(t) => {
                    if self.nodes[t.index()].comp == comp {
                        continue;
                    }
                    match self.nodes[t.index()].worst {
                        Worst::Bounded(w) => w,
                        u @ Worst::Unbounded(_) => {
                            unbounded.get_or_insert((u, Choice::Edge(i as u32)));
                            continue;
                        }
                    }
                }
                EdgeTarget::Indirect { bound } => {
                    match bound.or_else(|| self.indirect.get(&id).copied()) {
                        Some(b) => b,
                        None => {
                            let c = self.new_cause(Cause::Indirect {
                                function: id,
                                site: e.site,
                                depth: e.depth,
                            });
                            unbounded.get_or_insert((Worst::Unbounded(c), Choice::Edge(i as u32)));
                            continue;
                        }
                    }
                }
            };
            let cost = self.edge_cost(f, i, target_worst);
            if cost > best {
                best = cost;
                choice = Choice::Edge(i as u32);
            }
        }
        if let Some(u) = unbounded {
            return u;
        }
        (Worst::Bounded(best), choice)
    }

    /// Decides a completed component.
    fn decide(&mut self, members: &[u32], comp: u32) {
        if let [only] = members {
            let f = *only as usize;
            let self_edge = self.out_degree(f) > 0
                && self.graph.functions[f].edges.iter().any(
                    |e| matches!(e.target, EdgeTarget::Call(t) | EdgeTarget::Tail(t) if t.index() == f),
                );
            if !self_edge {
                let (w, c) = self.local(f, comp);
                self.nodes[f].worst = w;
                self.choice[f] = c;
                return;
            }
        }
        // A cycle: each member's heaviest edge inside it, whether it grows the stack at all.
        let mut heaviest = Vec::with_capacity(members.len());
        let mut growing_edge: Option<(usize, usize)> = None;
        let mut bound: Option<u64> = None;
        for &m in members {
            let m = m as usize;
            let mut h = 0u64;
            for (i, e) in self.graph.functions[m].edges.iter().enumerate() {
                if let EdgeTarget::Call(t) | EdgeTarget::Tail(t) = e.target {
                    if self.nodes[t.index()].comp == comp {
                        let cost = self.edge_cost(m, i, 0);
                        if cost > 0 && growing_edge.is_none() {
                            growing_edge = Some((m, t.index()));
                        }
                        h = h.max(cost);
                    }
                }
            }
            heaviest.push(h);
            if let Some(&b) = self.recursion.get(&FuncId(m as u32)) {
                bound = Some(bound.map_or(b, |x: u64| x.max(b)));
            }
        }
        let pass = heaviest.iter().fold(0u64, |a, &h| a.saturating_add(h));
        // Every member's exit; the first unbounded one decides an unbounded result.
        let exits: Vec<(Worst, Choice)> = members
            .iter()
            .map(|&m| self.local(m as usize, comp))
            .collect();
        let unbounded_exit = exits
            .iter()
            .position(|(w, _)| matches!(w, Worst::Unbounded(_)));
        let (worst, mode, exit) = match (growing_edge, bound, unbounded_exit) {
            (Some((from, to)), None, _) => {
                let cycle = self.find_cycle(from, to, comp);
                let c = self.new_cause(Cause::Cycle { cycle });
                let exit = unbounded_exit.unwrap_or(0);
                (Worst::Unbounded(c), SccMode::Unbounded, exit)
            }
            (_, _, Some(i)) => (exits[i].0, SccMode::Unbounded, i),
            (None, _, None) => {
                // Every member reaches every other for free: the largest exit.
                let (i, w) = best(exits.iter().map(|(w, _)| w.bytes().unwrap_or(0)));
                (Worst::Bounded(w), SccMode::Free, i)
            }
            (Some(_), Some(b), None) => {
                // A chain inside the cycle enters each member at most `b` times: each member
                // makes at most `b` calls inside it, the exit member at most `b - 1`.
                let b = b.max(1);
                let full = b.saturating_mul(pass);
                let (i, w) = best(exits.iter().zip(&heaviest).map(|((w, _), &h)| {
                    full.saturating_sub(h)
                        .saturating_add(w.bytes().unwrap_or(0))
                }));
                let uses = full.saturating_sub(heaviest[i]);
                (
                    Worst::Bounded(w),
                    SccMode::Recursion {
                        bound: b,
                        pass,
                        uses,
                    },
                    i,
                )
            }
        };
        let exit_choice = exits[exit].1;
        let exit = members[exit] as usize;
        let idx = self.sccs.len() as u32;
        self.sccs.push(Scc {
            comp,
            members: members.iter().map(|&m| FuncId(m)).collect(),
            exit: FuncId(exit as u32),
            exit_choice,
            mode,
        });
        for &m in members {
            self.nodes[m as usize].worst = worst;
            self.choice[m as usize] = Choice::Scc(idx);
        }
    }

    /// Shortest route from `from` to `to` inside component `comp`: the edges taken, as
    /// (function, edge index). Empty when `from == to`.
    fn route(&self, from: usize, to: usize, comp: u32) -> Vec<(usize, usize)> {
        if from == to {
            return Vec::new();
        }
        let mut came: HashMap<usize, (usize, usize)> = HashMap::new();
        let mut queue = VecDeque::from([from]);
        while let Some(v) = queue.pop_front() {
            for (i, e) in self.graph.functions[v].edges.iter().enumerate() {
                if let EdgeTarget::Call(t) | EdgeTarget::Tail(t) = e.target {
                    let t = t.index();
                    if self.nodes[t].comp != comp || t == from || came.contains_key(&t) {
                        continue;
                    }
                    came.insert(t, (v, i));
                    if t == to {
                        let mut route = Vec::new();
                        let mut at = to;
                        while at != from {
                            let (p, i) = came[&at];
                            route.push((p, i));
                            at = p;
                        }
                        route.reverse();
                        return route;
                    }
                    queue.push_back(t);
                }
            }
        }
        Vec::new()
    }

    /// A cycle through the edge `from → to` of component `comp`, in call order from `from`.
    fn find_cycle(&self, from: usize, to: usize, comp: u32) -> Vec<FuncId> {
        let mut cycle = vec![FuncId(from as u32)];
        if from != to {
            cycle.push(FuncId(to as u32));
            let back = self.route(to, from, comp);
            // The last edge of `back` returns to `from`.
            cycle.extend(back.iter().skip(1).map(|&(v, _)| FuncId(v as u32)));
        }
        cycle
    }

    /// Every cause reachable from `f` through unbounded functions, `first` first, and
    /// whether the search was complete. `reach` is scratch space shared by all roots.
    fn reachable_causes(
        &self,
        f: usize,
        first: CauseId,
        reach: &mut Reach,
    ) -> (Vec<CauseId>, bool) {
        if reach.stamp.is_empty() {
            let edges: usize = self.graph.functions.iter().map(|f| f.edges.len()).sum();
            reach.budget = self.nodes.len() + edges + 100_000;
            for (i, c) in self.causes.iter().enumerate() {
                let id = CauseId(i as u32);
                match c {
                    Cause::Cycle { cycle } => {
                        for m in cycle {
                            reach.causes_at.entry(m.0).or_default().push(id);
                        }
                    }
                    Cause::Indirect { function, .. }
                    | Cause::External { function }
                    | Cause::DynamicSp { function, .. } => {
                        reach.causes_at.entry(function.0).or_default().push(id)
                    }
                }
            }
            reach.stamp = vec![0; self.nodes.len()];
        }
        reach.round += 1;
        let round = reach.round;
        let mut found = vec![first];
        let mut queue = VecDeque::from([f]);
        reach.stamp[f] = round;
        while let Some(v) = queue.pop_front() {
            if reach.budget == 0 {
                return (found, false);
            }
            reach.budget -= 1;
            for &c in reach.causes_at.get(&(v as u32)).into_iter().flatten() {
                if !found.contains(&c) {
                    found.push(c);
                }
            }
            if self.out_degree(v) == 0 {
                continue;
            }
            let edges = &self.graph.functions[v].edges;
            reach.budget = reach.budget.saturating_sub(edges.len());
            for e in edges {
                if let EdgeTarget::Call(t) | EdgeTarget::Tail(t) = e.target {
                    let t = t.index();
                    if reach.stamp[t] != round && matches!(self.nodes[t].worst, Worst::Unbounded(_))
                    {
                        reach.stamp[t] = round;
                        queue.push_back(t);
                    }
                }
            }
        }
        (found, true)
    }

    fn verdict(&self, r: usize, reach: &mut Reach) -> RootVerdict {
        let root = &self.graph.roots[r];
        let Some(f) = root.function else {
            return RootVerdict {
                root: r,
                status: Status::Missing,
                worst: None,
                cause: None,
                causes: Vec::new(),
                causes_complete: true,
                path: Vec::new(),
            };
        };
        let path = self.path(f.index());
        match self.nodes[f.index()].worst {
            Worst::Bounded(w) => RootVerdict {
                root: r,
                status: if w <= root.budget {
                    Status::Ok
                } else {
                    Status::Over
                },
                worst: Some(w),
                cause: None,
                causes: Vec::new(),
                causes_complete: true,
                path,
            },
            Worst::Unbounded(c) => {
                let (causes, causes_complete) = self.reachable_causes(f.index(), c, reach);
                RootVerdict {
                    root: r,
                    status: Status::Unbounded,
                    worst: None,
                    cause: Some(c),
                    causes,
                    causes_complete,
                    path,
                }
            }
        }
    }

    /// The worst path from `f` (to the cause when unbounded).
    fn path(&self, f: usize) -> Vec<Step> {
        let cs = self.graph.callsize;
        let mut steps = Vec::new();
        let mut cur = f;
        let mut enter = 0u64;
        let mut forced: Option<Choice> = None;
        // Each iteration moves to a later component (or stops), so this ends.
        loop {
            let func = &self.graph.functions[cur];
            let choice = forced.take().unwrap_or(self.choice[cur]);
            match choice {
                Choice::Frame => {
                    // The frame, or an external's assumed worst. (Inside a cycle, where the
                    // member's worst is the cycle's, only code functions occur.)
                    let uses = match (self.choice[cur], self.nodes[cur].worst) {
                        (Choice::Scc(_), _) => func.frame,
                        (_, w) => w.bytes().unwrap_or(func.frame),
                    };
                    steps.push(step(cur, enter, uses));
                    return steps;
                }
                Choice::Local => {
                    steps.push(step(cur, enter, 0));
                    return steps;
                }
                Choice::Edge(i) => {
                    let e = &func.edges[i as usize];
                    steps.push(step(cur, enter, e.depth));
                    match e.target {
                        EdgeTarget::Call(t) => {
                            cur = t.index();
                            enter = cs;
                        }
                        EdgeTarget::Tail(t) => {
                            cur = t.index();
                            enter = 0;
                        }
                        EdgeTarget::Indirect { bound } => {
                            let id = FuncId(cur as u32);
                            if let Some(b) = bound.or_else(|| self.indirect.get(&id).copied()) {
                                steps.push(Step {
                                    kind: StepKind::Indirect {
                                        caller: id,
                                        site: e.site,
                                    },
                                    enter: cs,
                                    uses: b,
                                });
                            }
                            return steps;
                        }
                    }
                }
                Choice::Scc(idx) => {
                    let scc = &self.sccs[idx as usize];
                    let cycle_cause = match self.nodes[cur].worst {
                        Worst::Unbounded(c) => match &self.causes[c.0 as usize] {
                            Cause::Cycle { cycle } => Some(cycle[0].index()),
                            _ => None,
                        },
                        Worst::Bounded(_) => None,
                    };
                    if let SccMode::Recursion { bound, pass, uses } = scc.mode {
                        steps.push(Step {
                            kind: StepKind::Recursion {
                                entry: FuncId(cur as u32),
                                members: scc.members[..scc.members.len().min(MEMBERS_SHOWN)]
                                    .to_vec(),
                                size: scc.members.len(),
                                bound,
                                pass,
                            },
                            enter,
                            uses,
                        });
                        enter = 0;
                    } else {
                        let to = cycle_cause.unwrap_or(scc.exit.index());
                        for (v, i) in self.route(cur, to, scc.comp) {
                            let e = &self.graph.functions[v].edges[i];
                            steps.push(step(v, enter, e.depth));
                            enter = if matches!(e.target, EdgeTarget::Tail(_)) {
                                0
                            } else {
                                cs
                            };
                        }
                        if let Some(entry) = cycle_cause {
                            steps.push(step(entry, enter, 0));
                            return steps;
                        }
                    }
                    cur = scc.exit.index();
                    forced = Some(scc.exit_choice);
                }
            }
        }
    }
}

/// The index and value of the largest item (the first of equals).
fn best(values: impl Iterator<Item = u64>) -> (usize, u64) {
    values.enumerate().fold(
        (0, 0),
        |(bi, bv), (i, v)| if v > bv { (i, v) } else { (bi, bv) },
    )
}

fn step(f: usize, enter: u64, uses: u64) -> Step {
    Step {
        kind: StepKind::Function(FuncId(f as u32)),
        enter,
        uses,
    }
}

/// Roots whose declared callees are roots with a declared budget larger than the caller's
/// budget minus callsize: both budgets cannot be honoured at their limits. A callee on the
/// default budget is left out: the default caps every unnumbered `#[nosplit]`, it does not
/// claim that this callee needs that much.
fn budget_consistency(graph: &CallGraph) -> Vec<String> {
    let mut warnings = Vec::new();
    if graph.roots.iter().all(|r| r.declared_callees.is_empty()) {
        return warnings;
    }
    let mut by_last: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, r) in graph.roots.iter().enumerate() {
        by_last.entry(last_segment(&r.name)).or_default().push(i);
    }
    for caller in &graph.roots {
        for callee in &caller.declared_callees {
            let (method, path) = match callee.strip_prefix('.') {
                Some(m) => (true, m),
                None => (false, callee.as_str()),
            };
            let Some(candidates) = by_last.get(last_segment(path)) else {
                continue;
            };
            let matching: Vec<usize> = candidates
                .iter()
                .copied()
                .filter(|&i| {
                    let name = &graph.roots[i].name;
                    method
                        || name == path
                        || name
                            .strip_suffix(path)
                            .is_some_and(|head| head.ends_with("::"))
                })
                .collect();
            // An ambiguous name could be any of them: only a unique match is a finding.
            let [i] = matching[..] else { continue };
            let target = &graph.roots[i];
            let room = caller.budget.saturating_sub(graph.callsize);
            if target.budget > room && !target.default_budget {
                let at = caller
                    .location
                    .as_ref()
                    .map(|l| format!(" ({}:{})", l.file, l.line))
                    .unwrap_or_default();
                warnings.push(format!(
                    "budgets of `{}` ({}){} and its callee `{}` ({}) cannot both hold: a call \
                     pushes {}, so the callee's budget should be at most {}",
                    caller.name,
                    caller.budget,
                    at,
                    target.name,
                    target.budget,
                    graph.callsize,
                    room
                ));
            }
        }
    }
    warnings
}

/// `b` for `a::b`, `name` for `<T as Tr>::name`.
fn last_segment(path: &str) -> &str {
    path.rsplit("::").next().unwrap_or(path)
}
