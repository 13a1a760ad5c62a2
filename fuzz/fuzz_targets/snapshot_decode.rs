#![no_main]
//! cargo fuzz target: see `dnsrace_fuzzcases::snapshot_decode`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| dnsrace_fuzzcases::snapshot_decode(data));
