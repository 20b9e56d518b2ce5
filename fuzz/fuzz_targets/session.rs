//! libFuzzer target `session`: the input goes to `hookmq_fuzzcheck::session::check`, which says what is
//! checked (the corpus replay test runs the same function).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hookmq_fuzzcheck::session::check(data));
