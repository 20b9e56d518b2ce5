//! A worker cannot make the decoder reserve memory by announcing a large container: a frame
//! whose tuple, list or map header claims a million elements, followed by bytes that are not
//! terms, costs next to nothing to refuse. (Found while fuzzing: the decoders reserved room for
//! the announced count, capped only by the frame's length, before reading any element, up to 72
//! bytes per byte of frame.)

// Test code: a failed unwrap is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::alloc::System;

use bytes::Bytes;
use hookmq_port::etf;
use hookmq_port::message::Incoming;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Elements announced, and bytes of garbage after the header.
const ANNOUNCED: u32 = 1 << 20;

/// 131, a container header announcing [`ANNOUNCED`] elements, then that many bytes of an
/// unknown tag.
fn hostile(header: &[u8]) -> Bytes {
    let mut frame = vec![131];
    frame.extend_from_slice(header);
    frame.extend_from_slice(&ANNOUNCED.to_be_bytes());
    frame.resize(frame.len() + ANNOUNCED as usize, 0xff);
    Bytes::from(frame)
}

/// One test, so that no other test allocates while this one counts.
#[test]
fn announced_sizes_reserve_nothing() {
    let cases = [
        ("large tuple", hostile(&[105])),
        ("list", hostile(&[108])),
        ("map", hostile(&[116])),
    ];
    for (what, frame) in &cases {
        let region = Region::new(GLOBAL);
        assert!(etf::decode(frame).is_err());
        let etf_bytes = region.change().bytes_allocated;
        let region = Region::new(GLOBAL);
        assert!(Incoming::decode(frame).is_err());
        let incoming_bytes = region.change().bytes_allocated;
        assert!(
            etf_bytes < 256 * 1024 && incoming_bytes < 256 * 1024,
            "{what}: etf::decode allocated {etf_bytes} bytes, Incoming::decode {incoming_bytes}"
        );
    }
}
