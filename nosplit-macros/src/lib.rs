//! The `#[nosplit]` attribute. Re-exported by the `nosplit` crate; depend on that.
//!
//! The expansion and the registry paths are documented in `docs/REGISTRY.md`.
#![warn(missing_docs)]

mod args;
mod callees;
mod expand;
mod render;

use proc_macro::TokenStream;

/// Declares that a call to the function uses at most `budget` bytes of stack, and registers
/// the function in `nosplit::registry()`.
///
/// # Forms
///
/// - `#[nosplit]`: the configured default budget;
/// - `#[nosplit(512)]` or `#[nosplit(budget = 512)]`: a positive integer literal that fits in
///   `u32` (`0x200`, `4_096` are fine).
///
/// # Where it applies
///
/// On any function with a body: free functions at any depth and visibility, `unsafe`,
/// `extern "C"`, `#[no_mangle]`, `const` and generic functions. Not on `async fn`.
///
/// On methods, annotate the `impl` block too: the attribute on a method alone cannot see the
/// impl's type. `#[nosplit]` on an `impl` registers the methods marked `#[nosplit]` inside it
/// with their full path (`module::Type::name`, `<module::Type as Trait>::name`) and, when the
/// impl has no type or const parameters, their address. A budget on the `impl`
/// (`#[nosplit(budget = 256)] impl ...`) is the default of its methods; a method's own budget
/// wins.
///
/// ```ignore
/// // Compiled and run in `tests/ui/pass` (this crate cannot depend on `nosplit`).
/// use nosplit::nosplit;
///
/// #[nosplit(budget = 256)]
/// fn handler(x: u32) -> u32 {
///     x.wrapping_mul(3)
/// }
///
/// struct Ring;
///
/// #[nosplit]
/// impl Ring {
///     #[nosplit(128)]
///     fn push(&self) {}
/// }
/// ```
///
/// A method annotated without its `impl` still registers, as `module::_::name` (`_` stands for
/// the unknown type) and without an address, if it has a `self` receiver or mentions `Self` in
/// its signature; an associated function that does neither is taken for a free function and
/// fails to compile ("cannot find value"): annotate the `impl`.
///
/// # Expansion
///
/// The body gains, before the original statements, a `static` registry entry and the guard
/// hook `::nosplit::__private::guard!(..)` (omitted in a `const fn`: a guard cannot run in const
/// context). The hook expands to nothing when the guard is off, and the function's machine code
/// is then that of the unannotated function.
///
/// A direct call of the function to itself in its own body is a compile error: recursion has no
/// bounded stack depth.
#[proc_macro_attribute]
pub fn nosplit(args: TokenStream, input: TokenStream) -> TokenStream {
    let input = proc_macro2::TokenStream::from(input);
    match expand::attribute(args.into(), input.clone()) {
        Ok(tokens) => tokens.into(),
        Err(e) => expand::with_fallback(e, input).into(),
    }
}
