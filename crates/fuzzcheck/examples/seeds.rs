//! Writes the seed inputs of every fuzz target (`hookmq_fuzzcheck::seeds`) under a corpus
//! directory, as `<dir>/<target>/seed-<name>`:
//!
//! ```text
//! cargo run -p hookmq-fuzzcheck --example seeds -- fuzz/corpus
//! ```

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let root = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/corpus".into()),
    );
    for target in hookmq_fuzzcheck::TARGETS {
        let dir = root.join(target.name);
        std::fs::create_dir_all(&dir)?;
        let seeds = hookmq_fuzzcheck::seeds::for_target(target.name);
        for seed in &seeds {
            std::fs::write(dir.join(format!("seed-{}", seed.name)), &seed.bytes)?;
        }
        eprintln!(
            "{}: {} seeds in {}",
            target.name,
            seeds.len(),
            dir.display()
        );
    }
    Ok(())
}
