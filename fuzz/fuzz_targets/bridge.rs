#![no_main]
//! libFuzzer entry point of the `bridge` target (see src/lib.rs and docs/FUZZING.md).

libfuzzer_sys::fuzz_target!(|data: &[u8]| promptreg_fuzz::bridge(data));
