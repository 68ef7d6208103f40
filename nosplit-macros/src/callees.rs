//! The syntactic callees of a body, and the self-call (recursion) check.

use crate::render::{call_text, path_text, unraw};
use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::visit::{self, Visit};
use syn::{Block, Expr, ExprCall, ExprMethodCall, Item, Path, QSelf};

/// How the function can name itself inside its own body.
pub struct SelfNames {
    /// The function's name.
    pub name: String,
    /// `name` and `self::name` are calls of the function itself (free functions).
    pub free: bool,
    /// `Self::name`, `<Self as Tr>::name` and `self.name(..)` are (methods).
    pub method: bool,
    /// `Type::name` and `<Type as Tr>::name` are, where this is the impl's type name.
    pub type_name: Option<String>,
}

/// The callees of a body in the order the calls happen (arguments and receivers before the
/// call), each once.
pub struct Callees {
    pub list: Vec<String>,
    /// The callee tokens of the first direct call of the function to itself.
    pub recursion: Option<TokenStream>,
}

/// Collects the callees of `block`: path calls as text (`foo`, `a::b`, `<T as Tr>::f`, generic
/// arguments dropped), method calls as `.name`. Macro bodies and nested items are not entered;
/// closures are (their code runs inside the function). Calls whose last segment starts with an
/// uppercase letter (`Some(x)`, `Point(1, 2)`) construct values and are left out.
pub fn collect(block: &Block, names: &SelfNames) -> Callees {
    let mut v = Visitor {
        names,
        out: Callees {
            list: Vec::new(),
            recursion: None,
        },
    };
    v.visit_block(block);
    v.out
}

struct Visitor<'a> {
    names: &'a SelfNames,
    out: Callees,
}

impl Visitor<'_> {
    fn push(&mut self, callee: String) {
        if !self.out.list.contains(&callee) {
            self.out.list.push(callee);
        }
    }

    fn note_recursion(&mut self, callee: &dyn ToTokens) {
        if self.out.recursion.is_none() {
            self.out.recursion = Some(callee.to_token_stream());
        }
    }

    fn is_self_path(&self, qself: Option<&QSelf>, path: &Path) -> bool {
        let n = self.names;
        let segs: Vec<String> = path.segments.iter().map(|s| unraw(&s.ident)).collect();
        if segs.last() != Some(&n.name) {
            return false;
        }
        let head = &segs[..segs.len() - 1];
        if let Some(q) = qself {
            // `<Self as Tr>::name`, `<Type as Tr>::name`: the trait is in `head`.
            let ty = match &*q.ty {
                syn::Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
                _ => None,
            };
            let ty = ty.map(|s| unraw(&s.ident));
            return head.len() == q.position
                && ((n.method && ty.as_deref() == Some("Self"))
                    || (ty.is_some() && ty == n.type_name));
        }
        if path.leading_colon.is_some() {
            return false;
        }
        match head {
            [] => n.free,
            [m] if m == "self" => n.free,
            [t] if t == "Self" => n.method,
            [t] => Some(t) == n.type_name.as_ref(),
            _ => false,
        }
    }
}

impl<'ast> Visit<'ast> for Visitor<'_> {
    fn visit_expr_call(&mut self, call: &'ast ExprCall) {
        // Arguments first: the list follows the order in which the calls happen.
        visit::visit_expr_call(self, call);
        let mut func = &*call.func;
        while let Expr::Paren(p) = func {
            func = &p.expr;
        }
        if let Expr::Path(p) = func {
            let constructor = p
                .path
                .segments
                .last()
                .is_some_and(|s| unraw(&s.ident).starts_with(|c: char| c.is_uppercase()));
            if !constructor {
                if self.is_self_path(p.qself.as_ref(), &p.path) {
                    self.note_recursion(&p.path);
                }
                self.push(call_text(p.qself.as_ref(), &p.path));
            }
        }
    }

    fn visit_expr_method_call(&mut self, call: &'ast ExprMethodCall) {
        visit::visit_expr_method_call(self, call);
        let name = unraw(&call.method);
        if self.names.method && name == self.names.name {
            if let Expr::Path(recv) = &*call.receiver {
                if recv.qself.is_none() && path_text(&recv.path) == "self" {
                    self.note_recursion(&call.method);
                }
            }
        }
        self.push(format!(".{name}"));
    }

    // Nested items are functions of their own: their calls are not this function's.
    fn visit_item(&mut self, _: &'ast Item) {}
}
