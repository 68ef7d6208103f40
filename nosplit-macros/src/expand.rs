//! The expansion of `#[nosplit]` on a function and on an `impl` block.

use crate::args::Args;
use crate::callees::{self, SelfNames};
use crate::render::{concat, push_text, self_type_pieces, tokens_text, unraw, Piece};
use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{
    Attribute, Block, FnArg, GenericParam, Generics, ImplItem, Item, ItemFn, ItemImpl, Lifetime,
    Meta, Pat, Path, Signature, TraitItemFn, Type,
};

/// Expands the attribute with arguments `args` on `input`.
pub fn attribute(args: TokenStream, input: TokenStream) -> syn::Result<TokenStream> {
    let item: Item = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(_) => return Err(not_an_item(input)),
    };
    match item {
        Item::Fn(func) => expand_item_fn(func, Args::parse(args)?),
        Item::Impl(imp) => expand_impl(imp, Args::parse(args)?),
        Item::Verbatim(tokens) => match syn::parse2::<TraitItemFn>(tokens.clone()) {
            Ok(decl) => Err(syn::Error::new(
                decl.sig.ident.span(),
                format_args!(
                    "`#[nosplit]` needs a function with a body: `{}` is only declared here, so \
                     it has no code to register; annotate its implementations instead",
                    decl.sig.ident
                ),
            )),
            Err(_) => Err(syn::Error::new(
                tokens.span(),
                "`#[nosplit]` applies to functions and `impl` blocks",
            )),
        },
        other => Err(not_a_function(&other)),
    }
}

/// The error followed by the input with every `#[nosplit]` removed, so that the rest of the
/// crate still compiles and the user sees only the attribute's own error.
pub fn with_fallback(error: syn::Error, input: TokenStream) -> TokenStream {
    let error = error.to_compile_error();
    if syn::parse2::<Item>(input.clone()).is_err()
        && syn::parse2::<syn::Expr>(input.clone()).is_ok()
    {
        // An expression (a closure): keep it one expression.
        return quote!({ #error #input });
    }
    let mut out = error;
    out.extend(fallback(input));
    out
}

fn fallback(input: TokenStream) -> TokenStream {
    match syn::parse2::<Item>(input.clone()) {
        Ok(Item::Fn(mut f)) => {
            f.attrs.retain(|a| !is_nosplit(a));
            f.into_token_stream()
        }
        Ok(Item::Impl(mut imp)) => {
            imp.attrs.retain(|a| !is_nosplit(a));
            for item in &mut imp.items {
                if let Some(attrs) = impl_item_attrs(item) {
                    attrs.retain(|a| !is_nosplit(a));
                }
            }
            imp.into_token_stream()
        }
        _ => input,
    }
}

/// What the function belongs to, as far as the attribute can see.
enum Owner<'a> {
    /// A free function (or an associated function that never mentions `Self`).
    Free,
    /// A method or associated function whose impl is not annotated: its type is unknown.
    Method,
    /// A method of an `impl` annotated with `#[nosplit]`.
    Impl(&'a ImplCtx),
}

struct ImplCtx {
    self_ty: Type,
    trait_: Option<Path>,
    /// The impl has type or const parameters: no single address exists.
    generic: bool,
}

fn expand_item_fn(mut func: ItemFn, args: Args) -> syn::Result<TokenStream> {
    if let Some(second) = func.attrs.iter().find(|a| is_nosplit(a)) {
        return Err(applied_twice(second));
    }
    let owner = if is_method(&func.sig) {
        Owner::Method
    } else {
        Owner::Free
    };
    *func.block = expand_body(&func.attrs, &func.sig, &func.block, &owner, args.budget)?;
    Ok(func.into_token_stream())
}

fn expand_impl(mut imp: ItemImpl, args: Args) -> syn::Result<TokenStream> {
    if let Some(second) = imp.attrs.iter().find(|a| is_nosplit(a)) {
        return Err(applied_twice(second));
    }
    let ctx = ImplCtx {
        self_ty: (*imp.self_ty).clone(),
        trait_: imp.trait_.as_ref().map(|(_, path, _)| path.clone()),
        generic: has_type_params(&imp.generics),
    };
    let mut errors: Option<syn::Error> = None;
    let mut push = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    let mut marked = 0usize;
    for item in &mut imp.items {
        let ImplItem::Fn(func) = item else {
            if let Some(attr) = impl_item_attrs(item).and_then(|a| a.iter().find(|a| is_nosplit(a)))
            {
                push(syn::Error::new_spanned(
                    attr,
                    "`#[nosplit]` applies to functions; only the methods of an `impl` can be \
                     annotated",
                ));
            }
            continue;
        };
        let mut found = func.attrs.iter().filter(|a| is_nosplit(a));
        let (Some(first), second) = (found.next(), found.next()) else {
            continue;
        };
        marked += 1;
        if let Some(second) = second {
            push(applied_twice(second));
            continue;
        }
        let method_args = match attr_args(first) {
            Ok(a) => a,
            Err(e) => {
                push(e);
                continue;
            }
        };
        func.attrs.retain(|a| !is_nosplit(a));
        let budget = method_args.budget.or(args.budget);
        match expand_body(
            &func.attrs,
            &func.sig,
            &func.block,
            &Owner::Impl(&ctx),
            budget,
        ) {
            Ok(block) => func.block = block,
            Err(e) => push(e),
        }
    }
    if marked == 0 {
        push(syn::Error::new(
            imp.impl_token.span,
            "`#[nosplit]` on an `impl` registers the methods marked `#[nosplit]` in it, and none \
             is: mark the methods to register",
        ));
    }
    match errors {
        Some(e) => Err(e),
        None => Ok(imp.into_token_stream()),
    }
}

/// The new body: the registry entry, the guard hook, then the original statements.
fn expand_body(
    attrs: &[Attribute],
    sig: &Signature,
    block: &Block,
    owner: &Owner,
    budget: Option<u32>,
) -> syn::Result<Block> {
    if let Some(token) = &sig.asyncness {
        return Err(syn::Error::new(
            token.span,
            "`#[nosplit]` cannot apply to an `async fn`: its body runs inside the future's \
             `poll`, not in the call; annotate a synchronous function instead",
        ));
    }
    let name = &sig.ident;
    let name_str = unraw(name);

    let names = SelfNames {
        name: name_str.clone(),
        free: matches!(owner, Owner::Free),
        method: !matches!(owner, Owner::Free),
        type_name: match owner {
            Owner::Impl(ctx) => type_last_segment(&ctx.self_ty),
            _ => None,
        },
    };
    let found = callees::collect(block, &names);
    if let Some(callee) = found.recursion {
        return Err(syn::Error::new_spanned(
            callee,
            format_args!(
                "`{name_str}` calls itself: recursion has no bounded stack depth, so no budget \
                 can hold it; rewrite it as a loop, or run the recursive part inside \
                 `systemstack!` and bound its depth with a checker assumption"
            ),
        ));
    }
    let callees = found.list.join("\n");

    let mut pieces = Vec::new();
    // A `#[track_caller]` function's pointer is a shim that supplies the caller's location,
    // not the function's own code: leave the address out.
    let fn_generic = has_type_params(&sig.generics)
        || has_impl_trait_arg(sig)
        || attrs.iter().any(|a| has_attr(a, "track_caller"));
    let addr = match owner {
        Owner::Free => {
            pieces.push(Piece::ModulePath);
            push_text(&mut pieces, "::");
            push_text(&mut pieces, &name_str);
            if fn_generic {
                None
            } else if param_named(sig, &name_str) {
                // A parameter shadows the function's name in the body.
                Some(quote!(self::#name))
            } else {
                Some(quote!(#name))
            }
        }
        Owner::Method => {
            pieces.push(Piece::ModulePath);
            push_text(&mut pieces, "::_::");
            push_text(&mut pieces, &name_str);
            None
        }
        Owner::Impl(ctx) => {
            impl_path(ctx, &name_str, &mut pieces);
            (!ctx.generic && !fn_generic).then(|| {
                let mut ty = ctx.self_ty.clone();
                EraseLifetimes.visit_type_mut(&mut ty);
                match &ctx.trait_ {
                    Some(tr) => {
                        let mut tr = tr.clone();
                        EraseLifetimes.visit_path_mut(&mut tr);
                        quote!(<#ty as #tr>::#name)
                    }
                    None => quote!(<#ty>::#name),
                }
            })
        }
    };
    let addr = match addr {
        Some(f) => quote_spanned!(name.span()=> #f as *const ()),
        None => quote!(::core::ptr::null()),
    };
    let path = concat(&pieces);
    let budget = Literal::u32_unsuffixed(budget.unwrap_or(0));
    let line = match name.span().start().line {
        0 => quote!(::core::line!()),
        n => Literal::u32_unsuffixed(u32::try_from(n).unwrap_or(0)).into_token_stream(),
    };
    // A guard cannot run in const context, nor in a naked function (whose body must be a
    // single `naked_asm!`): those get only their registry entry.
    let naked = attrs.iter().any(|a| has_attr(a, "naked"));
    let guard = (sig.constness.is_none() && !naked)
        .then(|| quote!(::nosplit::__private::guard!(&__NOSPLIT_ENTRY);));
    let stmts = &block.stmts;
    let body = quote!({
        #[::nosplit::__private::linkme::distributed_slice(::nosplit::__private::NOSPLIT_REGISTRY)]
        #[linkme(crate = ::nosplit::__private::linkme)]
        static __NOSPLIT_ENTRY: ::nosplit::__private::Entry = ::nosplit::__private::Entry::new(
            #budget,
            #addr,
            #path,
            ::core::file!(),
            #line,
            #callees,
        );
        #guard
        #(#stmts)*
    });
    let mut new = syn::parse2::<Block>(body)?;
    new.brace_token = block.brace_token;
    Ok(new)
}

/// `module::Type::name` or `<module::Type as Trait>::name`.
fn impl_path(ctx: &ImplCtx, name: &str, pieces: &mut Vec<Piece>) {
    let plain_path = matches!(&ctx.self_ty, Type::Path(p) if p.qself.is_none());
    match &ctx.trait_ {
        Some(tr) => {
            push_text(pieces, "<");
            self_type_pieces(&ctx.self_ty, pieces);
            push_text(pieces, " as ");
            push_text(pieces, &tokens_text(tr.to_token_stream()));
            push_text(pieces, ">");
        }
        None if plain_path => self_type_pieces(&ctx.self_ty, pieces),
        None => {
            push_text(pieces, "<");
            self_type_pieces(&ctx.self_ty, pieces);
            push_text(pieces, ">");
        }
    }
    push_text(pieces, "::");
    push_text(pieces, name);
}

/// Whether the attribute is `#[nosplit]`, `#[nosplit(..)]` or `#[path::to::nosplit..]`.
fn is_nosplit(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "nosplit")
}

/// Whether the attribute is `#[name..]` or `#[unsafe(name..)]`.
fn has_attr(attr: &Attribute, name: &str) -> bool {
    if attr.path().is_ident(name) {
        return true;
    }
    match &attr.meta {
        Meta::List(list) if list.path.is_ident("unsafe") => list
            .tokens
            .clone()
            .into_iter()
            .next()
            .is_some_and(|t| matches!(t, proc_macro2::TokenTree::Ident(i) if i == name)),
        _ => false,
    }
}

fn applied_twice(attr: &Attribute) -> syn::Error {
    syn::Error::new_spanned(
        attr,
        "`#[nosplit]` is applied twice: keep one attribute (with the budget, if any)",
    )
}

/// The arguments of a `#[nosplit..]` attribute found on a method.
fn attr_args(attr: &Attribute) -> syn::Result<Args> {
    match &attr.meta {
        Meta::Path(_) => Ok(Args::default()),
        Meta::List(list) => Args::parse(list.tokens.clone()),
        Meta::NameValue(nv) => Err(syn::Error::new(
            nv.eq_token.span,
            "expected `#[nosplit]`, `#[nosplit(512)]` or `#[nosplit(budget = 512)]`",
        )),
    }
}

fn impl_item_attrs(item: &mut ImplItem) -> Option<&mut Vec<Attribute>> {
    match item {
        ImplItem::Const(i) => Some(&mut i.attrs),
        ImplItem::Fn(i) => Some(&mut i.attrs),
        ImplItem::Type(i) => Some(&mut i.attrs),
        ImplItem::Macro(i) => Some(&mut i.attrs),
        _ => None,
    }
}

/// A `self` receiver or a mention of `Self` in the signature: this function sits in an impl
/// or a trait, whose type the attribute cannot see.
fn is_method(sig: &Signature) -> bool {
    struct FindSelf(bool);
    impl Visit<'_> for FindSelf {
        fn visit_ident(&mut self, i: &proc_macro2::Ident) {
            self.0 |= i == "Self";
        }
    }
    if sig.receiver().is_some() {
        return true;
    }
    let mut v = FindSelf(false);
    v.visit_signature(sig);
    v.0
}

fn has_type_params(generics: &Generics) -> bool {
    generics
        .params
        .iter()
        .any(|p| !matches!(p, GenericParam::Lifetime(_)))
}

/// An `impl Trait` argument makes the function generic.
fn has_impl_trait_arg(sig: &Signature) -> bool {
    struct FindImpl(bool);
    impl Visit<'_> for FindImpl {
        fn visit_type_impl_trait(&mut self, _: &syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut v = FindImpl(false);
    for arg in &sig.inputs {
        if let FnArg::Typed(t) = arg {
            v.visit_type(&t.ty);
        }
    }
    v.0
}

/// Whether a parameter binds `name`.
fn param_named(sig: &Signature, name: &str) -> bool {
    struct FindBinding<'a>(&'a str, bool);
    impl Visit<'_> for FindBinding<'_> {
        fn visit_pat(&mut self, pat: &Pat) {
            if let Pat::Ident(p) = pat {
                self.1 |= unraw(&p.ident) == self.0;
            }
            syn::visit::visit_pat(self, pat);
        }
    }
    let mut v = FindBinding(name, false);
    for arg in &sig.inputs {
        if let FnArg::Typed(t) = arg {
            v.visit_pat(&t.pat);
        }
    }
    v.1
}

fn type_last_segment(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last().map(|s| unraw(&s.ident)),
        Type::Reference(r) => type_last_segment(&r.elem),
        Type::Paren(p) => type_last_segment(&p.elem),
        Type::Group(g) => type_last_segment(&g.elem),
        _ => None,
    }
}

/// Replaces named lifetimes by `'_`: the impl's lifetime parameters are not in scope in the
/// registry entry, and the function pointer's lifetimes are inferred there.
struct EraseLifetimes;
impl VisitMut for EraseLifetimes {
    fn visit_lifetime_mut(&mut self, lt: &mut Lifetime) {
        if lt.ident != "static" {
            *lt = Lifetime::new("'_", lt.span());
        }
    }
}

/// The attribute on something that is not an item; rustc only lets that happen on
/// expressions and statements, after its own error.
fn not_an_item(input: TokenStream) -> syn::Error {
    let closure = matches!(syn::parse2(input.clone()), Ok(syn::Expr::Closure(_)));
    let msg = if closure {
        "`#[nosplit]` cannot apply to a closure: its code runs in the function that calls it; \
         annotate that function, or move the closure's body into a function"
    } else {
        "`#[nosplit]` applies to functions and `impl` blocks"
    };
    syn::Error::new_spanned(input, msg)
}

fn not_a_function(item: &Item) -> syn::Error {
    let (span, what, hint): (Span, &str, &str) = match item {
        Item::Struct(i) => (i.struct_token.span, "a struct", ""),
        Item::Enum(i) => (i.enum_token.span, "an enum", ""),
        Item::Union(i) => (i.union_token.span, "a union", ""),
        Item::Const(i) => (
            i.const_token.span,
            "a const",
            "; annotate the function it refers to",
        ),
        Item::Static(i) => (
            i.static_token.span,
            "a static",
            "; annotate the function it refers to",
        ),
        Item::Mod(i) => (
            i.mod_token.span,
            "a module",
            "; annotate the functions in it",
        ),
        Item::Trait(i) => (
            i.trait_token.span,
            "a trait",
            "; annotate the methods where they have a body: in each `impl` (with `#[nosplit]` \
             on the `impl` too) or on a default body",
        ),
        Item::TraitAlias(i) => (i.trait_token.span, "a trait alias", ""),
        Item::Type(i) => (i.type_token.span, "a type alias", ""),
        Item::Use(i) => (i.use_token.span, "a `use` declaration", ""),
        Item::ExternCrate(i) => (i.extern_token.span, "an `extern crate`", ""),
        Item::ForeignMod(i) => (
            i.abi.extern_token.span,
            "an `extern` block",
            "; foreign functions have no body to register",
        ),
        Item::Macro(i) => (
            i.mac.path.span(),
            "a macro invocation",
            "; annotate the functions it expands to",
        ),
        other => (other.span(), "this item", ""),
    };
    syn::Error::new(
        span,
        format_args!("`#[nosplit]` applies to functions and `impl` blocks, not to {what}{hint}"),
    )
}
