//! The measurement behind the persistence store choice (docs/reliability.md): fjall vs redb
//! inserting and deleting 4096 records of 256 bytes with an fsync per commit, in batches of 1, 16
//! and 128 (the broker's group commit). Writes under `$TMPDIR/hookmq-store-choice`.
//!
//! ```sh
//! cargo run --release -p hookmq-broker --example store_choice
//! ```

// An example reports on stdout.
#![allow(clippy::print_stdout)]

use std::time::Instant;
fn main() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join("hookmq-store-choice");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let payload = vec![7u8; 256];
    for batch in [1usize, 16, 128] {
        let n = 4096usize;
        let path = dir.join(format!("r{batch}.redb"));
        let db = redb::Database::create(&path)?;
        const T: redb::TableDefinition<'static, u64, &[u8]> = redb::TableDefinition::new("m");
        let t0 = Instant::now();
        let mut k = 0u64;
        for _ in 0..n / batch {
            let tx = db.begin_write()?;
            {
                let mut t = tx.open_table(T)?;
                for _ in 0..batch {
                    t.insert(k, payload.as_slice())?;
                    k += 1;
                }
            }
            tx.commit()?;
        }
        let ins = t0.elapsed();
        let t0 = Instant::now();
        let mut k = 0u64;
        for _ in 0..n / batch {
            let tx = db.begin_write()?;
            {
                let mut t = tx.open_table(T)?;
                for _ in 0..batch {
                    t.remove(k)?;
                    k += 1;
                }
            }
            tx.commit()?;
        }
        let del = t0.elapsed();
        println!(
            "redb  batch {batch:4}: insert {:8.0}/s delete {:8.0}/s",
            n as f64 / ins.as_secs_f64(),
            n as f64 / del.as_secs_f64()
        );
        let fpath = dir.join(format!("f{batch}"));
        let db = fjall::Database::builder(&fpath).open()?;
        let ks = db.keyspace("m", fjall::KeyspaceCreateOptions::default)?;
        let t0 = Instant::now();
        let mut k = 0u64;
        for _ in 0..n / batch {
            let mut b = db.batch();
            for _ in 0..batch {
                b.insert(&ks, k.to_be_bytes(), payload.as_slice());
                k += 1;
            }
            b.commit()?;
            db.persist(fjall::PersistMode::SyncAll)?;
        }
        let ins = t0.elapsed();
        let t0 = Instant::now();
        let mut k = 0u64;
        for _ in 0..n / batch {
            let mut b = db.batch();
            for _ in 0..batch {
                b.remove(&ks, k.to_be_bytes());
                k += 1;
            }
            b.commit()?;
            db.persist(fjall::PersistMode::SyncAll)?;
        }
        let del = t0.elapsed();
        println!(
            "fjall batch {batch:4}: insert {:8.0}/s delete {:8.0}/s",
            n as f64 / ins.as_secs_f64(),
            n as f64 / del.as_secs_f64()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
