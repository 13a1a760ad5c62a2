//! Check a jsonl history file and print the verdict and timings (a profiling aid).
//! `cargo run --release -p dnsrace-core --example check_file -- HISTORY`

use std::time::Instant;

use dnsrace_core::history::{check, parse_jsonl};

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: check_file HISTORY");
        std::process::exit(2);
    };
    let t = Instant::now();
    let bytes = std::fs::read(&path).expect("readable history");
    let h = match parse_jsonl(&bytes) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let parsed = t.elapsed();
    let r = check(&h);
    println!(
        "{} ops, parse {:.2?}, check {:.2?}: {}",
        h.ops.len(),
        parsed,
        t.elapsed() - parsed,
        r.verdict.name()
    );
}
