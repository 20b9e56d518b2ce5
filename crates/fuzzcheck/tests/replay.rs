//! The corpus replay: every kept input of every fuzz target (`fuzz/corpus/<target>/`, the
//! crashes that were fixed in `fuzz/regressions/<target>/`, and the generated seeds) goes through
//! the target's check, without libFuzzer. A failure names the file.

// Test code: a failed unwrap is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use hookmq_fuzzcheck::{TARGETS, Target, seeds};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files of `dir`, sorted; none if it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn run(target: &Target, what: &str, input: &[u8]) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| (target.check)(input))) {
        let message = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("(no message)");
        panic!("{} target fails on {what}: {message}", target.name);
    }
}

fn replay(target: &Target) -> usize {
    let mut n = 0;
    for kind in ["corpus", "regressions"] {
        for file in files(&fuzz_dir().join(kind).join(target.name)) {
            run(
                target,
                &file.display().to_string(),
                &std::fs::read(&file).unwrap(),
            );
            n += 1;
        }
    }
    n
}

#[test]
fn every_target_has_a_kept_corpus_that_passes() {
    for target in &TARGETS {
        let n = replay(target);
        assert!(n >= 10, "{}: only {n} kept inputs", target.name);
    }
}

#[test]
fn the_seeds_pass() {
    for target in &TARGETS {
        let seeds = seeds::for_target(target.name);
        assert!(!seeds.is_empty(), "{} has no seeds", target.name);
        for seed in seeds {
            run(target, &format!("seed {}", seed.name), &seed.bytes);
        }
    }
}
