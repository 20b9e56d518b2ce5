//! The `port_batch` target: what the port drivers make of a runtime's answer to a batch of calls
//! (hookmq's batched protocol). The first input byte says how many calls batch 1 holds (its low
//! three bits, plus one) and the second which of them are observe-only (one bit each); the rest
//! is one frame payload from the worker. When it decodes as a batch answer
//! `{'R', Id, Results, Errors, Observed}` it goes to that batch, at most four calls per batch:
//!
//! - an answer to another id touches no call and is reported as unknown;
//! - an answer to batch 1 settles every call of it: all fail with the reported reason when the
//!   answer does not fit (a result count other than the calls that want one, an index out of
//!   range or repeated, an observed value for a call that is not observe-only, parts that are not
//!   lists); otherwise a call listed in `Errors` failed, a call that wants a result got it, and an
//!   observe-only call got its value from `Observed` if it is there, an acknowledgement if not.

use std::collections::HashSet;

use bytes::Bytes;
use hookmq_port::etf::Term;
use hookmq_port::fuzzing::{CallOutcome, answer_batch};
use hookmq_port::message::{BatchReply, Incoming};

/// Most calls in the checked batch (so that `max_batch` is exceeded too).
const MAX_BATCH: usize = 4;

/// Checks one input (see the module documentation).
pub fn check(data: &[u8]) {
    let [shape, mask, payload @ ..] = data else {
        return;
    };
    let calls = usize::from(shape & 7) + 1;
    let observe: Vec<bool> = (0..calls.min(MAX_BATCH))
        .map(|i| mask & (1 << i) != 0)
        .collect();
    let Ok(Incoming::BatchReply(reply)) = Incoming::decode(&Bytes::copy_from_slice(payload)) else {
        return;
    };
    let (outcomes, fault) = answer_batch(&observe, MAX_BATCH, reply.clone());
    assert_eq!(outcomes.len(), observe.len());
    if reply.id != 1 {
        let fault = fault.unwrap_or_default();
        assert!(
            fault.contains("awaits none"),
            "unknown id reported as {fault:?}"
        );
        assert!(outcomes.iter().all(|o| *o == CallOutcome::Waiting));
        return;
    }
    match fits(&reply, &observe) {
        false => {
            let fault = fault.unwrap_or_else(|| panic!("accepted a bad answer {reply:?}"));
            for o in &outcomes {
                assert!(
                    matches!(o, CallOutcome::Malformed(m) if m.contains(&fault)),
                    "{o:?} / {fault}"
                );
            }
        }
        true => {
            assert_eq!(fault, None, "refused a good answer {reply:?}");
            let errors: HashSet<u64> = reply.errors.iter().map(|(i, _)| *i).collect();
            let observed: HashSet<u64> = reply.observed.iter().map(|(i, _)| *i).collect();
            for (i, (o, &obs)) in outcomes.iter().zip(&observe).enumerate() {
                let i = i as u64;
                let expected = if errors.contains(&i) {
                    CallOutcome::Error
                } else if !obs || observed.contains(&i) {
                    CallOutcome::Value
                } else {
                    CallOutcome::Acknowledged
                };
                assert_eq!(*o, expected, "call {i} of {reply:?}");
            }
        }
    }
}

/// Whether `reply` fits a batch of calls whose observe-only flags are `observe`.
fn fits(reply: &BatchReply, observe: &[bool]) -> bool {
    let n = observe.len() as u64;
    let wanting = observe.iter().filter(|o| !**o).count();
    let unique = |list: &[(u64, Term)], ok: &dyn Fn(u64) -> bool| {
        let mut seen = HashSet::new();
        list.iter().all(|(i, _)| ok(*i) && seen.insert(*i))
    };
    reply.malformed.is_none()
        && reply.results.len() <= MAX_BATCH
        && reply.results.len() == wanting
        && unique(&reply.errors, &|i| i < n)
        && unique(&reply.observed, &|i| i < n && observe[i as usize])
}
