//! libFuzzer target `ext_reply`: the input goes to `hookmq_fuzzcheck::ext_reply::check`, which
//! says what is checked (the corpus replay test runs the same function).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hookmq_fuzzcheck::ext_reply::check(data));
