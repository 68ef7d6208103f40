//! Text forms of paths and types, for registry paths and callee lists.

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use quote::{quote, ToTokens};
use syn::{Path, QSelf, Type};

/// A piece of a registry path: text, or the `module_path!()` of the expansion site (known only
/// to the compiler, so the path is assembled with `concat!`).
pub enum Piece {
    Text(String),
    ModulePath,
}

/// Appends text to a piece list, merging with the last text piece.
pub fn push_text(pieces: &mut Vec<Piece>, text: &str) {
    if let Some(Piece::Text(last)) = pieces.last_mut() {
        last.push_str(text);
    } else {
        pieces.push(Piece::Text(text.to_owned()));
    }
}

/// `concat!(...)` of the pieces: a `&'static str` expression.
pub fn concat(pieces: &[Piece]) -> TokenStream {
    let parts = pieces.iter().map(|p| match p {
        Piece::Text(t) => quote!(#t),
        Piece::ModulePath => quote!(::core::module_path!()),
    });
    quote!(::core::concat!(#(#parts),*))
}

/// Tokens as compact text: `Foo<'a, u8>`, `&mut dyn Tr + Send`, `[u8; 4]`.
pub fn tokens_text(tokens: TokenStream) -> String {
    let mut out = String::new();
    write_tokens(&mut out, tokens);
    out
}

fn write_tokens(out: &mut String, tokens: TokenStream) {
    // Whether the previous token was a word (ident or literal): two words need a space.
    let mut prev_word = false;
    for tt in tokens {
        match tt {
            TokenTree::Ident(i) => {
                if prev_word {
                    out.push(' ');
                }
                out.push_str(&i.to_string());
                prev_word = true;
            }
            TokenTree::Literal(l) => {
                if prev_word {
                    out.push(' ');
                }
                out.push_str(&l.to_string());
                prev_word = true;
            }
            TokenTree::Punct(p) => {
                let c = p.as_char();
                match c {
                    ',' | ';' => {
                        out.push(c);
                        out.push(' ');
                    }
                    '+' | '=' if p.spacing() == Spacing::Alone => {
                        out.push(' ');
                        out.push(c);
                        out.push(' ');
                    }
                    _ => out.push(c),
                }
                // A lifetime's quote joins the following ident (`'a`).
                prev_word = false;
            }
            TokenTree::Group(g) => {
                let (open, close) = match g.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Brace => ("{", "}"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::None => ("", ""),
                };
                out.push_str(open);
                write_tokens(out, g.stream());
                out.push_str(close);
                prev_word = false;
            }
        }
    }
    // `&'a T` and `dyn 'a` keep their spaces through the word rule; trim stray ones.
    while out.ends_with(' ') {
        out.pop();
    }
}

/// A path's segments joined by `::`, generic arguments dropped (`Vec::<u8>::new` → `Vec::new`).
pub fn path_text(path: &Path) -> String {
    let mut out = String::new();
    if path.leading_colon.is_some() {
        out.push_str("::");
    }
    for (i, seg) in path.segments.iter().enumerate() {
        if i > 0 {
            out.push_str("::");
        }
        out.push_str(&unraw(&seg.ident));
    }
    out
}

/// A type with the generic arguments of its paths dropped: `Vec<u8>` → `Vec`, `&mut Foo<'a>`
/// → `&mut Foo`; other types (slices, tuples, `dyn`) as written.
pub fn type_text(ty: &Type) -> String {
    match ty {
        Type::Path(p) if p.qself.is_none() => path_text(&p.path),
        Type::Reference(r) => {
            let m = if r.mutability.is_some() { "mut " } else { "" };
            format!("&{m}{}", type_text(&r.elem))
        }
        Type::Paren(p) => type_text(&p.elem),
        Type::Group(g) => type_text(&g.elem),
        other => tokens_text(other.to_token_stream()),
    }
}

/// The text of a called path: `foo`, `a::b`, `Type::f`, `<T as Tr>::f`, `<[u8]>::len`, with
/// generic arguments dropped.
pub fn call_text(qself: Option<&QSelf>, path: &Path) -> String {
    let Some(q) = qself else {
        return path_text(path);
    };
    let segs: Vec<String> = path.segments.iter().map(|s| unraw(&s.ident)).collect();
    let (tr, rest) = segs.split_at(q.position.min(segs.len()));
    let ty = type_text(&q.ty);
    let lead = if path.leading_colon.is_some() {
        "::"
    } else {
        ""
    };
    if tr.is_empty() {
        format!("<{ty}>::{}", rest.join("::"))
    } else {
        format!("<{ty} as {lead}{}>::{}", tr.join("::"), rest.join("::"))
    }
}

/// The pieces of a self type in a registry path: relative paths get the module path in front
/// (see docs/REGISTRY.md, "Paths"), generic arguments are dropped.
pub fn self_type_pieces(ty: &Type, pieces: &mut Vec<Piece>) {
    match ty {
        Type::Path(p) if p.qself.is_none() => {
            let path = &p.path;
            let segs: Vec<String> = path.segments.iter().map(|s| unraw(&s.ident)).collect();
            let first = segs.first().map(String::as_str).unwrap_or("");
            if path.leading_colon.is_some() || matches!(first, "std" | "core" | "alloc") {
                push_text(pieces, &segs.join("::"));
            } else if first == "crate" {
                // The crate's name as cargo passes it; `crate` outside cargo.
                let krate = std::env::var("CARGO_CRATE_NAME").unwrap_or_else(|_| "crate".into());
                push_text(pieces, &krate);
                for s in &segs[1..] {
                    push_text(pieces, "::");
                    push_text(pieces, s);
                }
            } else {
                pieces.push(Piece::ModulePath);
                let skip = usize::from(first == "self");
                for s in &segs[skip..] {
                    push_text(pieces, "::");
                    push_text(pieces, s);
                }
            }
        }
        Type::Reference(r) => {
            push_text(pieces, if r.mutability.is_some() { "&mut " } else { "&" });
            self_type_pieces(&r.elem, pieces);
        }
        Type::Paren(p) => self_type_pieces(&p.elem, pieces),
        Type::Group(g) => self_type_pieces(&g.elem, pieces),
        other => push_text(pieces, &tokens_text(other.to_token_stream())),
    }
}

/// An identifier without its `r#` prefix.
pub fn unraw(ident: &proc_macro2::Ident) -> String {
    let s = ident.to_string();
    match s.strip_prefix("r#") {
        Some(rest) => rest.to_owned(),
        None => s,
    }
}
