//! libFuzzer target `config_toml`: the input goes to `hookmq_fuzzcheck::config::check_toml`, which says what is
//! checked (the corpus replay test runs the same function).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hookmq_fuzzcheck::config::check_toml(data));
