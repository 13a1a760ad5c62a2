#![no_main]
//! cargo fuzz target: see `dnsrace_fuzzcases::batch_flips`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| dnsrace_fuzzcases::batch_flips(data));
