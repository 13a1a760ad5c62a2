#![no_main]
//! cargo fuzz target: see `dnsrace_fuzzcases::plan_construction`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| dnsrace_fuzzcases::plan_construction(data));
