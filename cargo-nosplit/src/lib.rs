//! The library behind `cargo nosplit`.
//!
//! - [`graph`]: the call graph, the one thing the analysis sees;
//! - [`analysis`]: the core, which computes worst(f) and decides every root of a graph;
//! - front ends that build graphs: [`describe`] (the call-graph description format) and the
//!   ELF/x86_64 reader;
//! - [`report`]: human (Go-linker traces, tables) and JSON;
//! - [`config`]: `[package.metadata.nosplit]`; [`cli`]: the command line.
//!
//! The binary `cargo-nosplit` only parses arguments and prints.
#![warn(missing_docs)]

pub mod analysis;
pub mod build;
pub mod cli;
pub mod config;
pub mod describe;
pub mod elf;
pub mod graph;
pub mod report;
