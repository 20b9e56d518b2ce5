//! hookmq's batched mode of the port protocol, broker side and sans-IO: which calls go into the
//! next batch frame, which batches wait for their answer, and what an answer means for each
//! call. The worker (`worker.rs`) keeps one [`Batches`] under its pipe lock once the runtime
//! has agreed to batch.
//!
//! Hook calls are written as items `{Target, Args}` into the open batch as they are made, so
//! each client's order is the order of the items. The writer seals whatever is open into one
//! frame `{'B', BatchId, [Item, ...]}` as soon as fewer than [`WINDOW`] batches await their
//! answer: nothing ever waits to fill a batch, and while the runtime works on one batch the
//! next one fills. The runtime answers each batch with one frame `{'R', BatchId, Results,
//! Errors, Observed}` ([`crate::message::BatchReply`]): one result per call that is not
//! observe-only, in order; `{Index, Error}` for each call that raised; `{Index, Value}` for each
//! observe-only call that returned a value anyway (counted, never used). Other observe-only
//! calls get nothing: the answer acknowledges them, which is what bounds how many are on their
//! way.

use std::collections::VecDeque;

use bytes::{BufMut, BytesMut};
use hookmq_hooks::HookError;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::etf::{self, EtfError, Term, put_int, put_tuple_header, put_u64, tag};
use crate::frame::encode_frame_with;
use crate::message::BatchReply;
use crate::worker::{Answer, Reply};

/// Batches that may await their answer at once: one being worked on, one ready behind it.
pub(crate) const WINDOW: usize = 2;

/// The default `max_batch`: the most calls in one batch.
pub(crate) const DEFAULT_MAX_BATCH: usize = 256;

/// One call in a batch and where its answer goes.
pub(crate) struct Slot {
    /// The caller.
    pub(crate) reply: oneshot::Sender<Answer>,
    /// Observe-only: no result is asked for, the batch's answer acknowledges it.
    pub(crate) observe: bool,
}

/// A batch on its way: its id, its calls in order, and since when its oldest call waits.
struct Batch {
    id: u64,
    slots: Vec<Slot>,
    since: Instant,
}

/// The batches of one worker.
pub(crate) struct Batches {
    /// Items written since the last batch was sealed (without any header).
    open: BytesMut,
    open_slots: Vec<Slot>,
    open_since: Option<Instant>,
    /// Sealed frames waiting for room in the window.
    ready: VecDeque<(BytesMut, Batch)>,
    /// Sent, awaiting their answer, oldest first.
    sent: VecDeque<Batch>,
    next_id: u64,
    max_items: usize,
}

/// Why an answer to a batch was not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BatchFault {
    /// No batch with this id awaits an answer: a second answer, or one to a batch never sent.
    #[error("an answer to batch {id}, which awaits none (answered twice, or never sent)")]
    Unknown {
        /// The id in the answer.
        id: u64,
    },
    /// An answer that does not fit its batch; the batch's calls failed with it.
    #[error("a malformed answer to batch {id}: {why}")]
    Malformed {
        /// The batch.
        id: u64,
        /// What does not fit.
        why: String,
    },
}

impl Batches {
    /// No batch yet; at most `max_items` calls per batch.
    pub(crate) fn new(max_items: usize) -> Batches {
        Batches {
            open: BytesMut::with_capacity(16 * 1024),
            open_slots: Vec::new(),
            open_since: None,
            ready: VecDeque::new(),
            sent: VecDeque::new(),
            next_id: 1,
            max_items: max_items.max(1),
        }
    }

    /// Writes the item `{target, Args}` (`args` writes the argument list) into the open batch.
    /// On error nothing is added.
    pub(crate) fn push(
        &mut self,
        target: u32,
        args: impl FnOnce(&mut BytesMut) -> Result<(), EtfError>,
        slot: Slot,
        now: Instant,
    ) -> Result<(), EtfError> {
        let start = self.open.len();
        let written = put_tuple_header(&mut self.open, 2).and_then(|()| {
            put_int(&mut self.open, i64::from(target));
            args(&mut self.open)
        });
        if let Err(e) = written {
            self.open.truncate(start);
            return Err(e);
        }
        self.open_slots.push(slot);
        self.open_since.get_or_insert(now);
        if self.open_slots.len() >= self.max_items {
            self.seal()?;
        }
        Ok(())
    }

    /// Closes the open batch into a frame waiting for the window.
    fn seal(&mut self) -> Result<(), EtfError> {
        if self.open_slots.is_empty() {
            return Ok(());
        }
        let count = u32::try_from(self.open_slots.len()).map_err(|_| EtfError::TooLong {
            what: "batch",
            len: self.open_slots.len(),
        })?;
        let slots = std::mem::take(&mut self.open_slots);
        let since = self.open_since.take().unwrap_or_else(Instant::now);
        let items = self.open.split();
        let id = self.next_id;
        self.next_id += 1;
        let mut frame = BytesMut::with_capacity(items.len() + 32);
        encode_frame_with(&mut frame, items.len() + 24, |buf| {
            put_tuple_header(buf, 3)?;
            etf::put_atom(buf, "B")?;
            put_u64(buf, id);
            buf.put_u8(tag::LIST);
            buf.put_u32(count);
            buf.put_slice(&items);
            buf.put_u8(tag::NIL);
            Ok(())
        })?;
        self.ready.push_back((frame, Batch { id, slots, since }));
        Ok(())
    }

    /// Appends to `out` every batch the window has room for, sealing the open one when there is
    /// room left for it; returns whether anything was appended.
    pub(crate) fn flush_into(&mut self, out: &mut BytesMut) -> bool {
        let mut any = false;
        while self.sent.len() < WINDOW {
            if self.ready.is_empty()
                && !self.open_slots.is_empty()
                && let Err(e) = self.seal()
            {
                // Cannot happen below u32::MAX calls; fail them rather than lose them.
                for slot in std::mem::take(&mut self.open_slots) {
                    let _ = slot.reply.send(Err(HookError::Failed(e.to_string())));
                }
                self.open.clear();
                self.open_since = None;
            }
            let Some((frame, batch)) = self.ready.pop_front() else {
                break;
            };
            out.unsplit(frame);
            self.sent.push_back(batch);
            any = true;
        }
        any
    }

    /// Calls not answered yet, sent or not.
    pub(crate) fn len(&self) -> usize {
        self.open_slots.len()
            + self.ready.iter().map(|(_, b)| b.slots.len()).sum::<usize>()
            + self.sent.iter().map(|b| b.slots.len()).sum::<usize>()
    }

    /// Since when the oldest unanswered call waits.
    pub(crate) fn oldest(&self) -> Option<Instant> {
        self.sent
            .front()
            .map(|b| b.since)
            .or_else(|| self.ready.front().map(|(_, b)| b.since))
            .or(self.open_since)
    }

    /// Takes every call not answered yet (the worker is gone).
    pub(crate) fn drain(&mut self) -> Vec<Slot> {
        let mut slots: Vec<Slot> = self.sent.drain(..).flat_map(|b| b.slots).collect();
        slots.extend(self.ready.drain(..).flat_map(|(_, b)| b.slots));
        slots.append(&mut self.open_slots);
        self.open.clear();
        self.open_since = None;
        slots
    }

    /// Matches `reply` to its batch and pairs each call with its answer. A malformed answer
    /// fails every call of its batch with the reason (returned too); an unknown id touches no
    /// call.
    pub(crate) fn complete(
        &mut self,
        reply: BatchReply,
    ) -> (Vec<(Slot, Answer)>, Option<BatchFault>) {
        let Some(at) = self.sent.iter().position(|b| b.id == reply.id) else {
            return (Vec::new(), Some(BatchFault::Unknown { id: reply.id }));
        };
        let Some(batch) = self.sent.remove(at) else {
            return (Vec::new(), None);
        };
        match answers(&batch, reply, self.max_items) {
            Ok(answers) => (batch.slots.into_iter().zip(answers).collect(), None),
            Err(why) => {
                let fault = BatchFault::Malformed { id: batch.id, why };
                let failed = batch
                    .slots
                    .into_iter()
                    .map(|s| (s, Err(HookError::BadReply(fault.to_string()))))
                    .collect();
                (failed, Some(fault))
            }
        }
    }
}

/// The answer of each call of `batch`, in order, from `reply`; or why `reply` does not fit.
fn answers(batch: &Batch, reply: BatchReply, max_items: usize) -> Result<Vec<Answer>, String> {
    if let Some(why) = reply.malformed {
        return Err(why);
    }
    let n = batch.slots.len();
    let calls = batch.slots.iter().filter(|s| !s.observe).count();
    let results = reply.results.len();
    if results > max_items {
        return Err(format!(
            "{results} results, more than the {max_items} calls a batch may hold (max_batch)"
        ));
    }
    if results != calls {
        return Err(format!(
            "{results} results for the {calls} calls of the batch that want one"
        ));
    }
    let mut errors: Vec<Option<Term>> = vec![None; n];
    for (index, error) in reply.errors {
        let slot = usize::try_from(index)
            .ok()
            .and_then(|i| errors.get_mut(i))
            .ok_or_else(|| format!("an error for call {index} of a batch of {n}"))?;
        if slot.replace(error).is_some() {
            return Err(format!("two errors for call {index}"));
        }
    }
    let mut observed: Vec<Option<Term>> = vec![None; n];
    for (index, value) in reply.observed {
        let at = usize::try_from(index).ok().filter(|&i| i < n);
        let at = at.filter(|&i| batch.slots[i].observe).ok_or_else(|| {
            format!("an observed value for call {index}, which is not observe-only")
        })?;
        if observed[at].replace(value).is_some() {
            return Err(format!("two observed values for call {index}"));
        }
    }
    let mut results = reply.results.into_iter();
    let out = batch
        .slots
        .iter()
        .zip(errors.into_iter().zip(observed))
        .map(|(slot, (error, value))| {
            let result = if slot.observe { value } else { results.next() };
            match (error, result) {
                (Some(error), _) => Ok(Reply::Error(error)),
                (None, Some(result)) => Ok(Reply::Value(result)),
                (None, None) => Ok(Reply::Acknowledged),
            }
        })
        .collect();
    Ok(out)
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
