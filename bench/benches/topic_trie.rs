//! Topic tree match with 100,000 filters, through the broker's own tree (the `bench_api` shim):
//! exact filters, `+` and `#` filters mixed the way device fleets subscribe. Run by
//! `bench/run.sh` through `cargo bench`.

#![allow(missing_docs, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use hookmq_broker::bench_api::FilterTree;

/// 100k filters: 90k exact device topics, 9k per-device `+` filters, 1k per-site `#` filters.
fn tree() -> FilterTree {
    let mut t = FilterTree::new();
    for i in 0..90_000 {
        t.insert(&format!("site/{}/device/{i}/telemetry", i % 1000));
    }
    for i in 0..9_000 {
        t.insert(&format!("site/{}/device/{i}/+", i % 1000));
    }
    for s in 0..1_000 {
        t.insert(&format!("site/{s}/#"));
    }
    t
}

fn bench(c: &mut Criterion) {
    let t = tree();
    let mut g = c.benchmark_group("topic_trie_100k");
    // Matches the exact filter, the device's `+` filter and the site's `#` filter.
    let hit = "site/123/device/1123/telemetry";
    assert_eq!(t.count_matches(hit), 3);
    g.bench_function("match_3_of_100k", |b| {
        b.iter(|| t.count_matches(black_box(hit)))
    });
    let miss = "other/123/device/1123/telemetry";
    assert_eq!(t.count_matches(miss), 0);
    g.bench_function("match_none_of_100k", |b| {
        b.iter(|| t.count_matches(black_box(miss)))
    });
    let sys = "$SYS/brokers/node/uptime";
    g.bench_function("match_dollar_topic", |b| {
        b.iter(|| t.count_matches(black_box(sys)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
