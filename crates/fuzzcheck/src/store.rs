//! Check for the persistence store's record decoders (`hookmq_broker`'s `persist::record`, reached
//! through `bench_api::StoredRecord`): what the broker reads back at start from a store that may
//! be corrupted, truncated, or written by an older version.

use hookmq_broker::bench_api::{RecordKind, StoredRecord};

/// The record kind a selector byte picks.
pub fn kind(selector: u8) -> RecordKind {
    match selector % 3 {
        0 => RecordKind::Retained,
        1 => RecordKind::QueueEntry,
        _ => RecordKind::Session,
    }
}

/// `store`: the first byte picks the record kind (retained message, queue entry, session), the
/// rest is the stored value. It either fails with an error naming that kind of record, or
/// decodes to a record that the store writes back in a form that decodes to the same record and
/// is written again byte for byte the same.
pub fn check(data: &[u8]) {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let kind = kind(selector);
    let record = match StoredRecord::decode(kind, bytes) {
        Ok(record) => record,
        Err(e) => {
            assert_eq!(e.kind, kind, "error names another kind of record: {e}");
            assert!(
                !e.problem.is_empty() && e.to_string().contains(&kind.to_string()),
                "error does not name the record: {e}"
            );
            return;
        }
    };
    let written = record.encode();
    let again = StoredRecord::decode(kind, &written)
        .unwrap_or_else(|e| panic!("a record the store wrote does not read back: {e}"));
    assert_eq!(again, record, "record changed by a write and read");
    assert_eq!(
        again.encode(),
        written,
        "record written differently the second time"
    );
}
