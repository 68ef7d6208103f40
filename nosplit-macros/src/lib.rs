//! The `#[nosplit]` attribute. Re-exported by the `nosplit` crate; depend on that.
#![warn(missing_docs)]

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::quote;
use syn::{parse_macro_input, ItemFn, LitInt};

/// Declares that a call to the function uses at most `budget` bytes of stack.
///
/// Forms: `#[nosplit]`, `#[nosplit(512)]`, `#[nosplit(budget = 512)]`.
#[proc_macro_attribute]
pub fn nosplit(args: TokenStream, input: TokenStream) -> TokenStream {
    let budget = match parse_budget(args.into()) {
        Ok(b) => b,
        Err(e) => return e.to_compile_error().into(),
    };
    let mut func = parse_macro_input!(input as ItemFn);
    let name = &func.sig.ident;
    let name_str = name.to_string();
    let addr = if func.sig.generics.params.is_empty() {
        quote!(#name as *const ())
    } else {
        quote!(::core::ptr::null())
    };
    let stmts = &func.block.stmts;
    let body = quote!({
        #[::nosplit::__private::linkme::distributed_slice(::nosplit::__private::NOSPLIT_REGISTRY)]
        #[linkme(crate = ::nosplit::__private::linkme)]
        static __NOSPLIT_ENTRY: ::nosplit::__private::Entry = ::nosplit::__private::Entry::new(
            #budget,
            #addr,
            ::core::concat!(::core::module_path!(), "::", #name_str),
            ::core::file!(),
            ::core::line!(),
            "",
        );
        ::nosplit::__private::guard!(&__NOSPLIT_ENTRY);
        #(#stmts)*
    });
    func.block = Box::new(syn::parse2(body).expect("block"));
    quote!(#func).into()
}

fn parse_budget(args: TokenStream2) -> syn::Result<u32> {
    if args.is_empty() {
        return Ok(0);
    }
    let lit: LitInt = syn::parse2(args)?;
    let v: u32 = lit.base10_parse()?;
    if v == 0 {
        return Err(syn::Error::new(Span::call_site(), "budget must be positive"));
    }
    Ok(v)
}
