//! Free functions of every visibility at any module depth.
mod outer {
    use nosplit::nosplit;

    #[nosplit(8192)]
    pub fn public() -> u32 {
        private() + inner::deeper::crate_visible()
    }

    #[nosplit(8192)]
    fn private() -> u32 {
        1
    }

    pub mod inner {
        pub mod deeper {
            #[nosplit::nosplit(8192)]
            pub(crate) fn crate_visible() -> u32 {
                2
            }

            #[nosplit::nosplit(8192)]
            pub(super) fn super_visible() {}
        }

        pub fn call() {
            deeper::super_visible();
        }
    }
}

fn main() {
    assert_eq!(outer::public(), 3);
    outer::inner::call();
    let paths: Vec<&str> = nosplit::registry().iter().map(|e| e.path()).collect();
    for p in [
        "outer::public",
        "outer::private",
        "outer::inner::deeper::crate_visible",
        "outer::inner::deeper::super_visible",
    ] {
        let p = format!("{}::{p}", module_path!());
        assert!(paths.contains(&p.as_str()), "{p} missing from {paths:?}");
    }
    let public = nosplit::find("outer::public").unwrap();
    assert_eq!(
        public.callees().collect::<Vec<_>>(),
        ["private", "inner::deeper::crate_visible"]
    );
}
