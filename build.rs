//! Embeds `prompts.example/` into the library so `promptreg init --example DIR` works from any
//! directory, with no checkout of this repository at hand; and names the source the library is
//! built from (`PROMPTREG_SOURCE_ID`, a hash of `src/`, `Cargo.toml` and `Cargo.lock`), so a
//! cache of what this build's checks found is never read by a build whose checks differ.

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
    source_id();
}

/// Emits `PROMPTREG_SOURCE_ID`: two 64-bit FNV-1a hashes (different offsets) over every source
/// file's path and content, in path order. Not cryptographic: it only has to change when the
/// source does.
fn source_id() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    let src = manifest.join("src");
    println!("cargo:rerun-if-changed={}", src.display());
    collect(&src, &src, &mut files);
    for top in ["Cargo.toml", "Cargo.lock"] {
        let path = manifest.join(top);
        println!("cargo:rerun-if-changed={}", path.display());
        files.push((top.to_owned(), path));
    }
    files.sort();
    let mut hashes = [0xcbf2_9ce4_8422_2325_u64, 0x6c62_272e_07bb_0142_u64];
    for (relative, full) in files {
        let content = std::fs::read(&full).unwrap_or_default();
        for bytes in [relative.as_bytes(), &[0], &content, &[0]] {
            for hash in &mut hashes {
                for byte in bytes {
                    *hash ^= u64::from(*byte);
                    *hash = hash.wrapping_mul(0x0100_0000_01b3);
                }
            }
        }
    }
    println!(
        "cargo:rustc-env=PROMPTREG_SOURCE_ID={:016x}{:016x}",
        hashes[0], hashes[1]
    );
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
