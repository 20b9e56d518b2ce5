//! Batches: what a sealed frame holds, the window, and how answers (good and bad) map to calls.

use bytes::{Bytes, BytesMut};
use hookmq_hooks::HookError;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::*;
use crate::etf::{Term, put_list};
use crate::frame::FrameDecoder;
use crate::message::BatchReply;

fn slot(observe: bool) -> (Slot, oneshot::Receiver<Answer>) {
    let (reply, rx) = oneshot::channel();
    (Slot { reply, observe }, rx)
}

/// Pushes a call whose single argument is `n`.
fn push(b: &mut Batches, target: u32, n: i64, observe: bool) -> oneshot::Receiver<Answer> {
    let (s, rx) = slot(observe);
    b.push(
        target,
        |buf| put_list(buf, &[Term::Int(n)]),
        s,
        Instant::now(),
    )
    .unwrap();
    rx
}

/// The batch frames in `out`: (id, [(target, args)]).
fn frames(out: &mut BytesMut) -> Vec<(u64, Vec<(i64, Term)>)> {
    let mut decoder = FrameDecoder::default();
    let mut found = Vec::new();
    while let Some(frame) = decoder.decode(out).unwrap() {
        let t = crate::etf::decode(&frame).unwrap();
        let [tag, id, items] = t.as_tuple().unwrap() else {
            panic!("{t}")
        };
        assert_eq!(tag.as_atom(), Some("B"));
        let items = items
            .as_list()
            .unwrap()
            .iter()
            .map(|i| match i.as_tuple().unwrap() {
                [target, args] => (target.as_int().unwrap(), args.clone()),
                _ => panic!("{i}"),
            })
            .collect();
        found.push((id.as_int().unwrap() as u64, items));
    }
    found
}

fn reply(id: u64, results: Vec<Term>, errors: Vec<(u64, Term)>) -> BatchReply {
    BatchReply {
        id,
        results,
        errors,
        observed: vec![],
        malformed: None,
    }
}

#[test]
fn a_batch_holds_the_calls_in_order_and_the_window_bounds_batches() {
    let mut b = Batches::new(DEFAULT_MAX_BATCH);
    let _a = push(&mut b, 0, 1, false);
    let _o = push(&mut b, 3, 2, true);
    let mut out = BytesMut::new();
    assert!(b.flush_into(&mut out));
    let f = frames(&mut out);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].0, 1);
    assert_eq!(
        f[0].1,
        [
            (0, Term::list([Term::Int(1)])),
            (3, Term::list([Term::Int(2)]))
        ]
    );
    // Nothing open: nothing to send.
    assert!(!b.flush_into(&mut out));
    let _c = push(&mut b, 0, 3, false);
    assert!(b.flush_into(&mut out));
    assert_eq!(frames(&mut out)[0].0, 2);
    // Two batches await their answers: the third waits, however long it gets.
    let _d = push(&mut b, 0, 4, false);
    let _e = push(&mut b, 0, 5, false);
    assert!(!b.flush_into(&mut out) && out.is_empty());
    assert_eq!(b.len(), 5);
    let (done, fault) = b.complete(reply(2, vec![Term::atom("ok")], vec![]));
    assert!(fault.is_none());
    assert_eq!(done.len(), 1);
    assert!(b.flush_into(&mut out));
    let f = frames(&mut out);
    assert_eq!(
        (f[0].0, f[0].1.len()),
        (3, 2),
        "both waiting calls in one batch"
    );
}

#[test]
fn max_batch_splits_batches() {
    let mut b = Batches::new(2);
    let _rx: Vec<_> = (0..5).map(|n| push(&mut b, 0, n, false)).collect();
    let mut out = BytesMut::new();
    b.flush_into(&mut out);
    let f = frames(&mut out);
    let sizes: Vec<usize> = f.iter().map(|(_, items)| items.len()).collect();
    assert_eq!(sizes, [2, 2], "two batches in the window");
    assert_eq!(b.len(), 5);
}

#[tokio::test]
async fn answers_go_to_their_calls() {
    let mut b = Batches::new(DEFAULT_MAX_BATCH);
    let call = push(&mut b, 0, 1, false);
    let observed = push(&mut b, 1, 2, true);
    let failed = push(&mut b, 0, 3, false);
    let failed_observer = push(&mut b, 1, 4, true);
    let deciding_observer = push(&mut b, 1, 5, true);
    let mut out = BytesMut::new();
    b.flush_into(&mut out);
    let error = Term::binary("boom");
    let (done, fault) = b.complete(BatchReply {
        observed: vec![(4, Term::atom("nope"))],
        ..reply(
            1,
            vec![Term::atom("ok"), Term::atom("undefined")],
            vec![(2, error.clone()), (3, error.clone())],
        )
    });
    assert!(fault.is_none());
    for (slot, answer) in done {
        let _ = slot.reply.send(answer);
    }
    assert_eq!(call.await.unwrap(), Ok(Reply::Value(Term::atom("ok"))));
    assert_eq!(observed.await.unwrap(), Ok(Reply::Acknowledged));
    assert_eq!(failed.await.unwrap(), Ok(Reply::Error(error.clone())));
    assert_eq!(failed_observer.await.unwrap(), Ok(Reply::Error(error)));
    assert_eq!(
        deciding_observer.await.unwrap(),
        Ok(Reply::Value(Term::atom("nope")))
    );
    assert_eq!(b.len(), 0);
}

#[test]
fn bad_answers_fail_the_batch_and_say_why() {
    let cases: Vec<(BatchReply, &str)> = vec![
        (reply(9, vec![], vec![]), "awaits none"),
        (reply(1, vec![], vec![]), "0 results for the 2 calls"),
        (
            reply(1, vec![Term::nil(); 3], vec![]),
            "3 results for the 2 calls",
        ),
        (
            reply(1, vec![Term::nil(); 300], vec![]),
            "more than the 256 calls",
        ),
        (
            reply(1, vec![Term::nil(); 2], vec![(7, Term::nil())]),
            "an error for call 7 of a batch of 3",
        ),
        (
            reply(
                1,
                vec![Term::nil(); 2],
                vec![(0, Term::nil()), (0, Term::nil())],
            ),
            "two errors for call 0",
        ),
        (
            BatchReply {
                id: 1,
                results: vec![],
                errors: vec![],
                observed: vec![],
                malformed: Some("Results is not a list".into()),
            },
            "Results is not a list",
        ),
        (
            BatchReply {
                observed: vec![(0, Term::nil())],
                ..reply(1, vec![Term::nil(); 2], vec![])
            },
            "an observed value for call 0, which is not observe-only",
        ),
        (
            BatchReply {
                observed: vec![(1, Term::nil()), (1, Term::nil())],
                ..reply(1, vec![Term::nil(); 2], vec![])
            },
            "two observed values for call 1",
        ),
    ];
    for (bad, why) in cases {
        let mut b = Batches::new(DEFAULT_MAX_BATCH);
        let _rx: Vec<_> = [false, true, false]
            .into_iter()
            .map(|o| push(&mut b, 0, 1, o))
            .collect();
        b.flush_into(&mut BytesMut::new());
        let unknown = bad.id != 1;
        let (done, fault) = b.complete(bad);
        let fault = fault.expect("a fault").to_string();
        assert!(fault.contains(why), "{fault} / {why}");
        if unknown {
            assert!(done.is_empty());
            assert_eq!(b.len(), 3, "an unknown id leaves the batch waiting");
        } else {
            assert_eq!(done.len(), 3);
            for (_, answer) in done {
                assert!(
                    matches!(answer, Err(HookError::BadReply(ref m)) if m.contains(why)),
                    "{answer:?}"
                );
            }
            // A second answer to the same batch is unknown.
            let (again, fault) = b.complete(reply(1, vec![], vec![]));
            assert!(again.is_empty());
            assert!(matches!(fault, Some(BatchFault::Unknown { id: 1 })));
        }
    }
}

#[test]
fn a_failed_write_adds_nothing_and_drain_takes_everything() {
    let mut b = Batches::new(DEFAULT_MAX_BATCH);
    let (s, _rx) = slot(false);
    let too_long = "x".repeat(300);
    let err = b.push(
        0,
        |buf| crate::etf::put_atom(buf, &too_long),
        s,
        Instant::now(),
    );
    assert!(err.is_err());
    assert_eq!(b.len(), 0);
    assert!(b.oldest().is_none());
    let _a = push(&mut b, 0, 1, false);
    b.flush_into(&mut BytesMut::new());
    let _b = push(&mut b, 0, 2, true);
    assert!(b.oldest().is_some());
    assert_eq!(b.drain().len(), 2);
    assert_eq!(b.len(), 0);
    let _ = Bytes::new();
}
