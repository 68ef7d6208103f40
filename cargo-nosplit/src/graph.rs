//! The call graph the analysis works on.
//!
//! This is the only thing the analysis core sees: functions with their own frames, the call
//! sites and tail jumps between them with the stack depth at each, indirect calls, stack
//! switches, and roots with budgets. Front ends build it: the call-graph description format
//! (`describe`) and the ELF/x86_64 reader (`elf`). All figures are bytes of stack as defined in
//! SPEC §2.

/// Index of a function in [`CallGraph::functions`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FuncId(pub u32);

impl FuncId {
    /// The index as `usize`.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A source location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// File as the compiler saw it (relative to the crate root for Rust).
    pub file: String,
    /// 1-based line.
    pub line: u32,
}

/// What kind of code a function is, for the accounting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FunctionKind {
    /// Ordinary code: `frame` plus whatever its edges add.
    Code,
    /// Switches to another stack after using `frame` bytes of this one: worst = frame, edges
    /// are not followed (SPEC §2 "stack switches", `grows` in the description format).
    Grows,
    /// An external symbol with no code in the input (e.g. a libc function reached through the
    /// PLT or GOT). Unbounded unless an assumption gives its worst.
    External,
}

/// What an edge leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EdgeTarget {
    /// A call (`call`): contributes depth + callsize + worst(callee).
    Call(FuncId),
    /// A tail jump into another function: contributes depth + worst(target).
    Tail(FuncId),
    /// A call through an unknown pointer: contributes depth + callsize + bound, or makes the
    /// caller unbounded when there is no bound.
    Indirect {
        /// Assumed worst of whatever the pointer reaches.
        bound: Option<u64>,
    },
}

/// One call site, tail jump or indirect call of a function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edge {
    /// Where it goes.
    pub target: EdgeTarget,
    /// The caller's depth (SPEC §2) at the instruction.
    pub depth: u64,
    /// Address of the instruction, when the front end knows it (for reports).
    pub site: Option<u64>,
}

/// One function of the program.
#[derive(Clone, Debug)]
pub struct Function {
    /// Display name (demangled, without hash).
    pub name: String,
    /// Entry address, when the input is a binary.
    pub address: Option<u64>,
    /// frame(f), SPEC §2.
    pub frame: u64,
    /// How the function is accounted.
    pub kind: FunctionKind,
    /// Call sites, tail jumps and indirect calls, in any order.
    pub edges: Vec<Edge>,
    /// Set when the function moves SP by an amount the front end could not establish (e.g.
    /// `sub rsp, rax`): the address of that instruction. Makes the function unbounded.
    pub dynamic_sp: Option<u64>,
}

impl Function {
    /// A code function with the given frame and no edges.
    pub fn new(name: impl Into<String>, frame: u64) -> Self {
        Function {
            name: name.into(),
            address: None,
            frame,
            kind: FunctionKind::Code,
            edges: Vec::new(),
            dynamic_sp: None,
        }
    }
}

/// A function to check against a budget.
#[derive(Clone, Debug)]
pub struct Root {
    /// Name to report (the registered path, or the function's name).
    pub name: String,
    /// Where it is declared, when known.
    pub location: Option<Location>,
    /// The budget in bytes, after defaults and multipliers are applied.
    pub budget: u64,
    /// The function's code; `None` when the registered function has no code of its own in the
    /// binary (inlined everywhere): reported as `missing`.
    pub function: Option<FuncId>,
    /// The syntactic callees the registry lists for this root (`Entry::callees`: paths as
    /// written, `foo`, `a::b`, `Type::f`, and `.method`). Used only for the budget consistency
    /// warning: a declared callee that is itself a root with a budget larger than this root's
    /// budget minus callsize cannot be honoured at its limit. Empty when unknown.
    pub declared_callees: Vec<String>,
    /// The budget is the configured default (`#[nosplit]` without a number), not one the
    /// source declares. Such a callee does not take part in the budget consistency warning:
    /// the default is a blanket cap, not a claim about this function.
    pub default_budget: bool,
}

impl Root {
    /// A root without location or declared callees.
    pub fn new(name: impl Into<String>, budget: u64, function: Option<FuncId>) -> Self {
        Root {
            name: name.into(),
            location: None,
            budget,
            function,
            declared_callees: Vec::new(),
            default_budget: false,
        }
    }
}

/// A whole program: functions, roots, and the size of a call's push.
#[derive(Clone, Debug, Default)]
pub struct CallGraph {
    /// Bytes a call instruction pushes (8 on x86_64, 0 on link-register machines).
    pub callsize: u64,
    /// All functions; [`FuncId`] indexes this.
    pub functions: Vec<Function>,
    /// The functions to check.
    pub roots: Vec<Root>,
    /// The panic machinery as a binary front end recognised it, for reports: which setting
    /// was applied and which functions are panic entries (a root's worst path through one is a
    /// panic path). `None` for inputs without the notion (descriptions).
    pub panics: Option<Panics>,
}

/// How the front end treated calls into the panic machinery.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Panics {
    /// `true`: a panic path ends at the panic entry, whose frame counts (`panic = "stop"`);
    /// `false`: panic paths are followed like any other code (`panic = "count"`).
    pub stop: bool,
    /// Functions recognised as entries to the panic machinery (`core::panicking::*`,
    /// `rust_begin_unwind`, `_Unwind_Resume`, `core::option::unwrap_failed`, ...).
    pub entries: Vec<FuncId>,
}

impl CallGraph {
    /// An empty graph with the given call size.
    pub fn new(callsize: u64) -> Self {
        CallGraph {
            callsize,
            ..CallGraph::default()
        }
    }

    /// Adds a function and returns its id.
    pub fn add(&mut self, function: Function) -> FuncId {
        let id = FuncId(u32::try_from(self.functions.len()).expect("more than 2^32 functions"));
        self.functions.push(function);
        id
    }

    /// The function with this id.
    pub fn function(&self, id: FuncId) -> &Function {
        &self.functions[id.index()]
    }

    /// Checks that every edge and root refers to a function of the graph, which the analysis
    /// relies on. A front end's bug then shows as an error naming the function, not a panic.
    pub fn validate(&self) -> Result<(), String> {
        let n = self.functions.len();
        if n > u32::MAX as usize {
            return Err(format!("{n} functions: more than the analysis can index"));
        }
        for f in &self.functions {
            for e in &f.edges {
                if let EdgeTarget::Call(t) | EdgeTarget::Tail(t) = e.target {
                    if t.index() >= n {
                        return Err(format!(
                            "{} has an edge to function #{}, beyond the {n} of the graph",
                            f.name, t.0
                        ));
                    }
                }
            }
        }
        for r in &self.roots {
            if let Some(t) = r.function.filter(|t| t.index() >= n) {
                return Err(format!(
                    "root {} refers to function #{}, beyond the {n} of the graph",
                    r.name, t.0
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_names_dangling_references() {
        let mut g = CallGraph::new(8);
        let f = g.add(Function::new("f", 8));
        assert_eq!(g.validate(), Ok(()));
        g.functions[f.index()].edges.push(Edge {
            target: EdgeTarget::Call(FuncId(7)),
            depth: 0,
            site: None,
        });
        assert!(g
            .validate()
            .unwrap_err()
            .contains("f has an edge to function #7"));
        g.functions[f.index()].edges.clear();
        g.roots.push(Root::new("r", 64, Some(FuncId(3))));
        assert!(g
            .validate()
            .unwrap_err()
            .contains("root r refers to function #3"));
    }
}
