//! The attribute's arguments: `#[nosplit]`, `#[nosplit(512)]`, `#[nosplit(budget = 512)]`.

use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Ident, Lit, Token, UnOp};

/// What the attribute says.
#[derive(Clone, Copy, Default)]
pub struct Args {
    /// The declared budget; `None` means the configured default.
    pub budget: Option<u32>,
}

impl Args {
    pub fn parse(tokens: TokenStream) -> syn::Result<Args> {
        if tokens.is_empty() {
            return Ok(Args::default());
        }
        syn::parse2(tokens)
    }
}

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut args = Args::default();
        let mut seen_key = false;
        while !input.is_empty() {
            let budget_span;
            if input.peek(Ident) && input.peek2(Token![=]) && !input.peek2(Token![==]) {
                let key: Ident = input.parse()?;
                input.parse::<Token![=]>()?;
                if key != "budget" {
                    return Err(syn::Error::new(
                        key.span(),
                        format_args!("unknown key `{key}`: the only key is `budget`, e.g. `#[nosplit(budget = 512)]`"),
                    ));
                }
                if seen_key {
                    return Err(syn::Error::new(
                        key.span(),
                        "duplicate key `budget`: give the budget once",
                    ));
                }
                budget_span = key.span();
                seen_key = true;
            } else {
                budget_span = input.span();
            }
            let expr: Expr = input.parse()?;
            let value = budget_value(&expr)?;
            if args.budget.is_some() {
                return Err(syn::Error::new(
                    budget_span,
                    "the budget is given twice: keep one, e.g. `#[nosplit(budget = 512)]`",
                ));
            }
            args.budget = Some(value);
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(args)
    }
}

/// Validates one budget expression: a positive integer literal that fits in `u32`.
fn budget_value(expr: &Expr) -> syn::Result<u32> {
    let lit = match expr {
        Expr::Lit(ExprLit { lit, .. }) => lit,
        Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => {
            return Err(syn::Error::new_spanned(
                expr,
                "the budget must be a positive number of bytes, not a negative one",
            ))
        }
        Expr::Path(p) if p.path.is_ident("budget") => {
            return Err(error(expr.span(), "`budget` needs a value: `budget = 512`"))
        }
        Expr::Group(g) => return budget_value(&g.expr),
        Expr::Paren(p) => return budget_value(&p.expr),
        _ => {
            return Err(syn::Error::new_spanned(
                expr,
                "the budget must be an integer literal: the attribute runs before constants \
                 and expressions are evaluated; write the number of bytes, e.g. `budget = 4096`",
            ))
        }
    };
    match lit {
        Lit::Int(int) => {
            if !matches!(int.suffix(), "" | "u32" | "usize") {
                return Err(error(
                    int.span(),
                    format!(
                        "the budget is a number of bytes as a `u32`; drop the `{}` suffix",
                        int.suffix()
                    ),
                ));
            }
            let value: u64 = int.base10_parse().map_err(|_| too_large(int.span()))?;
            match u32::try_from(value) {
                Ok(0) => Err(error(
                    int.span(),
                    "the budget must be at least 1 byte; for the configured default budget \
                     write `#[nosplit]` without a number",
                )),
                Ok(v) => Ok(v),
                Err(_) => Err(too_large(int.span())),
            }
        }
        Lit::Str(s) => {
            let hint = match s.value().trim().parse::<u32>() {
                Ok(n) if n > 0 => format!("write `budget = {n}`"),
                _ => "e.g. `budget = 4096`".to_owned(),
            };
            Err(error(
                s.span(),
                format!("the budget must be an integer literal, not a string: {hint}"),
            ))
        }
        Lit::Float(f) => Err(error(
            f.span(),
            "the budget must be a whole number of bytes, not a float",
        )),
        other => Err(error(
            other.span(),
            "the budget must be an integer literal, e.g. `budget = 4096`",
        )),
    }
}

fn too_large(span: Span) -> syn::Error {
    error(
        span,
        format!(
            "the budget does not fit in `u32`: at most {} bytes",
            u32::MAX
        ),
    )
}

fn error(span: Span, msg: impl std::fmt::Display) -> syn::Error {
    syn::Error::new(span, msg)
}
