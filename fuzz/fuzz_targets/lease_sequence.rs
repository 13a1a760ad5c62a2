#![no_main]
//! cargo fuzz target: see `dnsrace_fuzzcases::lease_sequence`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| dnsrace_fuzzcases::lease_sequence(data));
