//! Embeds `prompts.example/` into the library so `promptreg init --example DIR` works from any
//! directory, with no checkout of this repository at hand.

use std::path::{Path, PathBuf};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts.example");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    files.sort();
    let mut code = String::from("/// The files of `prompts.example/`: (relative path, content).\npub const EXAMPLE_FILES: &[(&str, &[u8])] = &[\n");
    for (relative, full) in files {
        println!("cargo:rerun-if-changed={}", full.display());
        code.push_str(&format!(
            "    ({relative:?}, include_bytes!({:?})),\n",
            full.display().to_string()
        ));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR is set by cargo"))
        .join("example_files.rs");
    std::fs::write(out, code).expect("cannot write example_files.rs");
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect(root, &path, out);
        } else {
            let relative = path
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .replace('\\', "/");
            out.push((relative, path));
        }
    }
}
