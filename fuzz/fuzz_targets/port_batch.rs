//! libFuzzer target `port_batch`: the input goes to `hookmq_fuzzcheck::port_batch::check`, which
//! says what is checked (the corpus replay test runs the same function).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hookmq_fuzzcheck::port_batch::check(data));
