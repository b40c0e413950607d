#![no_main]
//! libFuzzer entry point of the `results_yaml` target (see src/lib.rs and docs/FUZZING.md).

libfuzzer_sys::fuzz_target!(|data: &[u8]| promptreg_fuzz::results_yaml(data));
