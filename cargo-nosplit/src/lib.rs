//! The library behind `cargo nosplit`.
//!
//! - [`graph`]: the call graph, the one thing the analysis sees;
//! - the analysis core, which decides every root of a graph;
//! - front ends that build graphs: the call-graph description format and the ELF/x86_64 reader;
//! - reports, human and JSON.
//!
//! The binary `cargo-nosplit` only parses arguments and prints.
#![warn(missing_docs)]

pub mod graph;
