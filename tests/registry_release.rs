//! An annotated function that nothing calls is still in a release build's registry, and its
//! code in the binary: `examples/registry.rs` is built with `--release` (into the shared
//! `<workspace>/target/nosplit-fixtures`) and run; its printed registry must list
//! `never_called` with an address, and the ELF file must hold the function's symbol.
//!
//! The same binary checks `docs/REGISTRY.md`: decoding the `linkme_NOSPLIT_REGISTRY` section
//! by the documented layout and relocation rules gives exactly the entries the program
//! printed, with addresses equal to the functions' symbol values.

mod support;

use std::collections::HashMap;
use std::path::Path;

use object::{Object, ObjectSection, ObjectSymbol, RelocationFlags};

#[test]
fn uncalled_function_is_registered_in_release() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = root.join("target/nosplit-fixtures");
    let out = support::fixture_cargo(None, &target)
        .args(["run", "--release", "--quiet", "--example", "registry"])
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .output()
        .expect("run cargo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "cargo run --release --example registry failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("release build,"),
        "not a release build:\n{stdout}"
    );

    // The line of `never_called`'s name, from the example's text.
    let source = std::fs::read_to_string(root.join("examples/registry.rs")).unwrap();
    let line = source
        .lines()
        .position(|l| l.contains("pub fn never_called("))
        .expect("never_called in the example")
        + 1;
    let head = format!("registry::never_called (examples/registry.rs:{line}) budget 1024 addr=0x");
    let entry = stdout
        .lines()
        .position(|l| l.starts_with(&head))
        .unwrap_or_else(|| panic!("no `{head}…` line in:\n{stdout}"));
    let callees: Vec<&str> = stdout
        .lines()
        .skip(entry + 1)
        .take_while(|l| l.starts_with("    calls "))
        .collect();
    assert_eq!(callees, ["    calls leaf"]);

    // Its code is in the file: a defined function symbol.
    let binary = std::fs::read(target.join("release/examples/registry")).expect("example binary");
    let file = object::File::parse(&*binary).expect("ELF");
    let code = function_symbol(&file, "never_called");
    assert!(
        code.is_some(),
        "no code symbol for never_called in the release binary"
    );

    // docs/REGISTRY.md: the section decodes to the printed entries.
    let decoded = decode_registry(&file);
    let mut printed: Vec<String> = stdout
        .lines()
        .filter(|l| l.starts_with("registry::"))
        .map(|l| l[..l.find(" addr=").expect("addr= on every entry line")].to_owned())
        .collect();
    let mut from_file: Vec<String> = decoded
        .iter()
        .map(|e| {
            let budget = match e.budget {
                0 => "default".to_owned(),
                b => b.to_string(),
            };
            format!("{} ({}:{}) budget {budget}", e.path, e.file, e.line)
        })
        .collect();
    printed.sort();
    from_file.sort();
    assert_eq!(from_file, printed);
    assert_eq!(from_file.len(), 4);
    let never = decoded
        .iter()
        .find(|e| e.path == "registry::never_called")
        .unwrap();
    assert_eq!(never.callees, "leaf");
    assert_eq!(
        Some(never.addr),
        code,
        "addr of never_called is its symbol's value"
    );
    let push = decoded
        .iter()
        .find(|e| e.path == "registry::Ring::push")
        .unwrap();
    assert_eq!(Some(push.addr), function_symbol(&file, "Ring4push"));
    assert_eq!(push.callees, ".wrapping_add");
    let generic = decoded
        .iter()
        .find(|e| e.path == "registry::generic")
        .unwrap();
    assert_eq!((generic.addr, generic.callees.as_str()), (0, ""));
}

/// The value of the defined function symbol whose (mangled) name contains `name`.
fn function_symbol(file: &object::File, name: &str) -> Option<u64> {
    file.symbols()
        .find(|s| {
            s.kind() == object::SymbolKind::Text
                && s.is_definition()
                && s.size() > 0
                && s.name().is_ok_and(|n| n.contains(name))
        })
        .map(|s| s.address())
}

struct Decoded {
    budget: u32,
    line: u32,
    addr: u64,
    path: String,
    file: String,
    callees: String,
}

/// Decodes the registry section as docs/REGISTRY.md describes it (x86_64, 72-byte entries).
fn decode_registry(file: &object::File) -> Vec<Decoded> {
    const R_X86_64_RELATIVE: u32 = 8;
    let section = file
        .section_by_name("linkme_NOSPLIT_REGISTRY")
        .expect("registry section");
    let data = section.data().unwrap();
    assert_eq!(data.len() % 72, 0, "section size is a multiple of 72");
    let relative: HashMap<u64, u64> = file
        .dynamic_relocations()
        .expect("a PIE has dynamic relocations")
        .filter_map(|(offset, r)| match r.flags() {
            RelocationFlags::Elf { r_type } if r_type == R_X86_64_RELATIVE => {
                Some((offset, r.addend() as u64))
            }
            _ => None,
        })
        .collect();
    let u32_at = |b: &[u8], o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let u64_at = |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
    let string = |ptr: u64, len: u64| -> String {
        if len == 0 {
            return String::new();
        }
        let s = file
            .sections()
            .find(|s| s.address() <= ptr && ptr + len <= s.address() + s.size())
            .expect("string inside a section");
        let start = (ptr - s.address()) as usize;
        String::from_utf8(s.data().unwrap()[start..start + len as usize].to_vec()).unwrap()
    };
    data.chunks(72)
        .enumerate()
        .map(|(i, e)| {
            let at = section.address() + (i * 72) as u64;
            let pointer = |o: usize| {
                relative
                    .get(&(at + o as u64))
                    .copied()
                    .unwrap_or(u64_at(e, o))
            };
            assert_eq!(&e[0..4], b"NSPL", "magic of entry {i}");
            assert_eq!(u32_at(e, 4), 1, "version of entry {i}");
            Decoded {
                budget: u32_at(e, 8),
                line: u32_at(e, 12),
                addr: pointer(16),
                path: string(pointer(24), u64_at(e, 32)),
                file: string(pointer(40), u64_at(e, 48)),
                callees: string(pointer(56), u64_at(e, 64)),
            }
        })
        .collect()
}
