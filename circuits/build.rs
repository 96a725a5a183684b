//! Computes `CIRCUITS_SOURCE_HASH`: a hash of every circuit source file, the plan encoding
//! (query-lang/src/plan.rs, columns.rs) and the plonky2 version, so that cached circuit keys
//! are tied to the exact code that built them.

use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// 64-bit FNV-1a with a seed, applied twice for a 128-bit fingerprint.
fn fnv(seed: u64, data: &[u8]) -> u64 {
    let mut h = 0xcbf29ce484222325u64 ^ seed;
    for b in data {
        h ^= *b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let mut files = Vec::new();
    collect(&manifest.join("src"), &mut files);
    let ql = manifest.join("../query-lang/src");
    files.push(ql.join("plan.rs"));
    files.push(ql.join("columns.rs"));
    let mut data = Vec::new();
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        data.extend_from_slice(f.strip_prefix(&manifest).unwrap_or(f).to_string_lossy().as_bytes());
        data.extend_from_slice(&std::fs::read(f).unwrap());
    }
    println!("cargo:rerun-if-changed=src");
    data.extend_from_slice(b"plonky2=1.1.0");
    let hash = format!("{:016x}{:016x}", fnv(1, &data), fnv(2, &data));
    println!("cargo:rustc-env=CIRCUITS_SOURCE_HASH={hash}");
}
