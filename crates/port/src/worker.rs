//! One worker process and its pipe. Calls are encoded into a shared write buffer under a short
//! lock, in the order they are made, and matched to replies by id; a writer task sends whatever
//! has accumulated in one write, a reader task splits stdout into frames and completes calls, and
//! a third task copies stderr into the log. The supervisor (`pool.rs`) owns the [`Process`] and
//! decides about exits, hangs and stopping.
//!
//! Once the runtime has agreed to hookmq's batched mode, hook calls go into [`Batches`] instead
//! of one frame each; the writer seals what is open into one frame whenever the window has
//! room, and one answer frame completes a whole batch.

use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use hookmq_hooks::{HookError, Hooks, MAX_HOPS};
use parking_lot::Mutex;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::batch::{Batches, Slot};
use crate::console::Console;
use crate::etf::{Atom, EtfError, RawTerm, Term};
use crate::frame::FrameDecoder;
use crate::message::{BatchReply, Incoming, Outgoing, encode_call};
use crate::runtimes::Launch;

/// Calls one worker may have outstanding before new ones are refused.
const MAX_INFLIGHT: usize = 65_536;

/// Bytes waiting to be written before new calls are refused.
const MAX_PENDING_BYTES: usize = 64 * 1024 * 1024;

/// Read size of the stdout reader.
const READ_CHUNK: usize = 64 * 1024;

/// A worker's answer to one call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reply {
    /// `{'r', Id, Result}`, with the result's bytes.
    Result {
        /// The result.
        result: Term,
        /// Its bytes as received.
        raw: RawTerm,
    },
    /// A call's result in a batch answer.
    Value(Term),
    /// An observe-only call of a batch that was answered.
    Acknowledged,
    /// `{'e', Id, Error}`, or an error in a batch answer: the call raised.
    Error(Term),
}

/// What a caller eventually gets.
pub(crate) type Answer = Result<Reply, HookError>;

struct Pending {
    id: u64,
    queued_at: Instant,
    reply: oneshot::Sender<Answer>,
}

struct Pipe {
    /// Frames not yet written.
    out: BytesMut,
    /// Calls without an answer, oldest first (workers answer in order).
    inflight: VecDeque<Pending>,
    next_id: u64,
    /// Set once the worker takes no more calls, with the reason.
    closed: Option<String>,
    /// Close stdin once `out` is written.
    end_input: bool,
    /// Hook calls in hookmq's batched mode, once the runtime agreed to it.
    batches: Option<Batches>,
}

/// The broker's side of one worker's pipe.
pub(crate) struct Worker {
    pipe: Mutex<Pipe>,
    wake: Notify,
    pid: Option<u32>,
    /// Where its output goes.
    pub(crate) console: Arc<Console>,
    /// The registry whose broker services the worker may call.
    hooks: Weak<Hooks>,
    /// Hop counts of the `message.publish` calls the worker is handling.
    pub(crate) hops: Arc<Hops>,
}

/// The hop counts of the messages whose `message.publish` a worker is handling. A service call
/// cannot say which of its calls it comes from (a batch holds many), so a republish is counted
/// from the highest: never lower than its true parent, and a loop still ends at
/// [`MAX_HOPS`].
#[derive(Default)]
pub(crate) struct Hops {
    /// Calls in flight per hop count.
    counts: Mutex<[u32; MAX_HOPS as usize + 1]>,
}

/// One `message.publish` call in flight; counted until dropped.
pub(crate) struct HopGuard {
    hops: Arc<Hops>,
    level: usize,
}

impl Hops {
    /// Counts a call for a message of `hops` until the guard is dropped.
    pub(crate) fn enter(self: &Arc<Self>, hops: u8) -> HopGuard {
        let level = usize::from(hops.min(MAX_HOPS));
        self.counts.lock()[level] += 1;
        HopGuard {
            hops: self.clone(),
            level,
        }
    }

    /// The highest hop count in flight (0 with none).
    pub(crate) fn current(&self) -> u8 {
        let counts = self.counts.lock();
        counts.iter().rposition(|n| *n > 0).map_or(0, |i| i as u8)
    }
}

impl Drop for HopGuard {
    fn drop(&mut self) {
        let mut counts = self.hops.counts.lock();
        counts[self.level] = counts[self.level].saturating_sub(1);
    }
}

/// How the stdout reader ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReadEnd {
    /// End of file.
    Eof,
    /// The stream cannot be read as frames any more.
    Broken(String),
}

/// The running process, owned by its supervisor.
pub(crate) struct Process {
    /// The child (killed when dropped).
    pub(crate) child: Child,
    /// The stdout reader.
    pub(crate) reader: JoinHandle<ReadEnd>,
    /// The stderr copier.
    pub(crate) stderr: JoinHandle<()>,
}

impl Process {
    /// Kills the process and waits for it; returns how it ended.
    pub(crate) async fn kill(&mut self) -> String {
        let _ = self.child.start_kill();
        match tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await {
            Ok(Ok(status)) => status.to_string(),
            Ok(Err(e)) => format!("wait failed: {e}"),
            Err(_) => "did not exit after SIGKILL".into(),
        }
    }

    /// Gives the output tasks a moment to take what the process wrote before it ended.
    pub(crate) async fn drain(&mut self) {
        let grace = Duration::from_secs(1);
        if !self.reader.is_finished() {
            let _ = tokio::time::timeout(grace, &mut self.reader).await;
        }
        if !self.stderr.is_finished() {
            let _ = tokio::time::timeout(grace, &mut self.stderr).await;
        }
    }
}

impl Pipe {
    /// Refuses a new call when the worker is gone or too far behind.
    fn admit(&self) -> Result<(), HookError> {
        if let Some(why) = &self.closed {
            return Err(HookError::Unavailable(why.clone()));
        }
        let batched = self.batches.as_ref().map_or(0, Batches::len);
        if self.inflight.len() + batched >= MAX_INFLIGHT || self.out.len() >= MAX_PENDING_BYTES {
            return Err(HookError::Unavailable(
                "the worker is overloaded (too many calls waiting)".into(),
            ));
        }
        Ok(())
    }
}

impl Worker {
    /// Starts the process of `launch` with its three pipe tasks.
    pub(crate) fn spawn(
        launch: &Launch,
        console: Arc<Console>,
        hooks: Weak<Hooks>,
    ) -> std::io::Result<(Arc<Worker>, Process)> {
        let mut cmd = Command::new(&launch.program);
        cmd.args(&launch.args)
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&launch.cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group: a Ctrl-C at the broker's terminal must not kill the
            // workers before the broker has run deinit().
            .process_group(0)
            .kill_on_drop(true);
        let mut child = cmd.spawn()?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(std::io::Error::other("the worker's pipes are missing"));
        };
        let worker = Arc::new(Worker {
            pipe: Mutex::new(Pipe {
                out: BytesMut::with_capacity(READ_CHUNK),
                inflight: VecDeque::new(),
                next_id: 1,
                closed: None,
                end_input: false,
                batches: None,
            }),
            wake: Notify::new(),
            pid: child.id(),
            console: console.clone(),
            hooks,
            hops: Arc::default(),
        });
        tokio::spawn(write_loop(worker.clone(), stdin));
        let reader = tokio::spawn(read_loop(worker.clone(), stdout));
        let stderr = tokio::spawn(stderr_loop(console, stderr));
        Ok((
            worker,
            Process {
                child,
                reader,
                stderr,
            },
        ))
    }

    /// The process id.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Queues `Module:Function(Args)` and returns where its answer will arrive. The call's
    /// place in the pipe is fixed when this returns.
    pub(crate) fn call(
        &self,
        module: &Atom,
        function: &Atom,
        args: Vec<Term>,
    ) -> Result<oneshot::Receiver<Answer>, HookError> {
        self.call_with(module, function, |buf| crate::etf::put_list(buf, &args))
    }

    /// Like [`Worker::call`], with `args` writing the argument list straight into the frame.
    pub(crate) fn call_with(
        &self,
        module: &Atom,
        function: &Atom,
        args: impl FnOnce(&mut BytesMut) -> Result<(), EtfError>,
    ) -> Result<oneshot::Receiver<Answer>, HookError> {
        let (tx, rx) = oneshot::channel();
        {
            let mut pipe = self.pipe.lock();
            pipe.admit()?;
            let id = pipe.next_id;
            encode_call(&mut pipe.out, id, module, function, args)
                .map_err(|e| HookError::Failed(format!("cannot encode the call: {e}")))?;
            pipe.next_id += 1;
            pipe.inflight.push_back(Pending {
                id,
                queued_at: Instant::now(),
                reply: tx,
            });
        }
        self.wake.notify_one();
        Ok(rx)
    }

    /// Puts a hook call into the open batch: `target` is its index in the registered targets,
    /// `args` writes its argument list. Observe-only calls get [`Reply::Acknowledged`] once the
    /// runtime answered their batch.
    pub(crate) fn call_batched(
        &self,
        target: u32,
        observe: bool,
        args: impl FnOnce(&mut BytesMut) -> Result<(), EtfError>,
    ) -> Result<oneshot::Receiver<Answer>, HookError> {
        let (reply, rx) = oneshot::channel();
        {
            let mut pipe = self.pipe.lock();
            pipe.admit()?;
            let batches = pipe
                .batches
                .as_mut()
                .ok_or_else(|| HookError::Unavailable("the worker does not batch".into()))?;
            batches
                .push(target, args, Slot { reply, observe }, Instant::now())
                .map_err(|e| HookError::Failed(format!("cannot encode the call: {e}")))?;
        }
        self.wake.notify_one();
        Ok(rx)
    }

    /// Switches hook calls to hookmq's batched mode, at most `max_items` calls per batch.
    pub(crate) fn enable_batches(&self, max_items: usize) {
        self.pipe.lock().batches = Some(Batches::new(max_items));
    }

    /// Calls waiting for an answer.
    pub(crate) fn inflight(&self) -> usize {
        let pipe = self.pipe.lock();
        pipe.inflight.len() + pipe.batches.as_ref().map_or(0, Batches::len)
    }

    /// How long the oldest unanswered call has waited.
    pub(crate) fn oldest_wait(&self) -> Option<Duration> {
        let pipe = self.pipe.lock();
        let single = pipe.inflight.front().map(|p| p.queued_at);
        let batched = pipe.batches.as_ref().and_then(Batches::oldest);
        single.into_iter().chain(batched).min().map(|t| t.elapsed())
    }

    /// Takes no more calls and fails the waiting ones with [`HookError::Unavailable`].
    pub(crate) fn close(&self, why: &str) {
        let (waiting, batched): (Vec<Pending>, Vec<Slot>) = {
            let mut pipe = self.pipe.lock();
            pipe.closed.get_or_insert_with(|| why.to_owned());
            let batched = pipe
                .batches
                .as_mut()
                .map(Batches::drain)
                .unwrap_or_default();
            (pipe.inflight.drain(..).collect(), batched)
        };
        let failed = || Err(HookError::Unavailable(format!("worker {why}")));
        for p in waiting {
            let _ = p.reply.send(failed());
        }
        for s in batched {
            let _ = s.reply.send(failed());
        }
        self.wake.notify_one();
    }

    /// Takes no more calls and closes the worker's stdin once everything queued is written,
    /// which makes the runtimes exit.
    pub(crate) fn end_input(&self) {
        {
            let mut pipe = self.pipe.lock();
            pipe.closed.get_or_insert_with(|| "is stopping".to_owned());
            pipe.end_input = true;
        }
        self.wake.notify_one();
    }

    /// Queues a message for the worker; false if it cannot be encoded.
    fn send(&self, message: &Outgoing) -> bool {
        let mut pipe = self.pipe.lock();
        let encoded = message.encode_frame(&mut pipe.out);
        drop(pipe);
        self.wake.notify_one();
        if let Err(e) = &encoded {
            tracing::debug!(error = %e, "cannot encode a message for the worker");
        }
        encoded.is_ok()
    }

    /// Completes the calls of an answered batch.
    fn complete_batch(&self, reply: BatchReply) {
        let (done, fault) = {
            let mut pipe = self.pipe.lock();
            match pipe.batches.as_mut() {
                Some(batches) => batches.complete(reply),
                None => (Vec::new(), None),
            }
        };
        // The window has room again.
        self.wake.notify_one();
        for (slot, answer) in done {
            let _ = slot.reply.send(answer);
        }
        if let Some(fault) = fault {
            tracing::warn!(pid = ?self.pid, "{fault}");
        }
    }

    fn complete(&self, id: u64, answer: Answer) {
        let pending = {
            let mut pipe = self.pipe.lock();
            let at = pipe.inflight.iter().position(|p| p.id == id);
            at.and_then(|i| pipe.inflight.remove(i))
        };
        match pending {
            Some(p) => {
                let _ = p.reply.send(answer);
            }
            None => {
                tracing::warn!(pid = ?self.pid, id, "an answer to call {id}, which awaits none (answered twice, or never sent)")
            }
        }
    }

    /// Serves a worker's call to `hookmq:Function(Args)` in a task of its own (the reader
    /// goes on completing the worker's answers meanwhile) and writes the `r`/`e` reply.
    fn serve_service(self: &Arc<Self>, id: Term, function: &Term, args: &Term) {
        let call = match self.hooks.upgrade() {
            None => Err(hookmq_hooks::ServiceError::Unavailable),
            Some(hooks) => crate::service::decode(function, args, self.hops.current())
                .map(|call| (hooks, call)),
        };
        let (hooks, call) = match call {
            Ok(ok) => ok,
            Err(e) => {
                tracing::debug!(pid = ?self.pid, code = e.code(), error = %e, "a worker's service call refused");
                let error = crate::service::encode_error(&e);
                let _ = self.send(&Outgoing::ErrorReply { id, error });
                return;
            }
        };
        let worker = self.clone();
        tokio::spawn(async move {
            let reply = match hooks.call_service(call).await {
                Ok(reply) => Outgoing::Reply {
                    id,
                    result: crate::service::encode_reply(&reply),
                },
                Err(e) => Outgoing::ErrorReply {
                    id,
                    error: crate::service::encode_error(&e),
                },
            };
            if !worker.send(&reply) {
                let error = crate::service::encode_error(&hookmq_hooks::ServiceError::Failed(
                    "the answer cannot be encoded for the worker".into(),
                ));
                let id = match reply {
                    Outgoing::Reply { id, .. } | Outgoing::ErrorReply { id, .. } => id,
                    _ => return,
                };
                let _ = worker.send(&Outgoing::ErrorReply { id, error });
            }
        });
    }

    /// Handles one frame from the worker.
    fn handle(self: &Arc<Self>, frame: &Bytes) {
        let message = match Incoming::decode(frame) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(pid = ?self.pid, error = %e, "undecodable term from a worker; skipped");
                return;
            }
        };
        match message {
            Incoming::Result { id, result, raw } => {
                self.complete(id, Ok(Reply::Result { result, raw }))
            }
            Incoming::Error { id, error } => self.complete(id, Ok(Reply::Error(error))),
            Incoming::BatchReply(reply) => self.complete_batch(reply),
            Incoming::Print(text) => self.console.print(&text),
            Incoming::Call {
                id,
                module,
                function,
                args,
                ..
            } if module.as_atom() == Some(crate::service::MODULE) => {
                self.serve_service(id, &function, &args)
            }
            Incoming::Call {
                id,
                module,
                function,
                ..
            } => {
                tracing::debug!(%module, %function, "the worker called the broker; answered undef");
                let _ = self.send(&Outgoing::undef_reply(id));
            }
            Incoming::ErrorNoId(error) => tracing::warn!(
                pid = ?self.pid,
                "worker reported an error outside any call: {}",
                crate::verdict::error_text(&error)
            ),
            Incoming::Message { .. } => tracing::debug!("cast from a worker ignored"),
            Incoming::Unknown(term) => {
                tracing::debug!(term = %crate::verdict::shown(&term), "unknown term from a worker ignored");
            }
        }
    }
}

async fn write_loop(worker: Arc<Worker>, mut stdin: ChildStdin) {
    loop {
        let (chunk, end) = {
            let mut pipe = worker.pipe.lock();
            let pipe = &mut *pipe;
            if let Some(batches) = pipe.batches.as_mut() {
                batches.flush_into(&mut pipe.out);
            }
            (pipe.out.split(), pipe.end_input)
        };
        if !chunk.is_empty() {
            if let Err(e) = stdin.write_all(&chunk).await {
                worker.close(&format!("stopped reading its input ({e})"));
                return;
            }
            continue;
        }
        if end {
            let _ = stdin.shutdown().await;
            return;
        }
        let finished = {
            let pipe = worker.pipe.lock();
            pipe.closed.is_some() && pipe.out.is_empty()
        };
        if finished {
            return;
        }
        worker.wake.notified().await;
    }
}

async fn read_loop(worker: Arc<Worker>, mut stdout: ChildStdout) -> ReadEnd {
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut decoder = FrameDecoder::default();
    loop {
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => worker.handle(&frame),
                Ok(None) => break,
                Err(e) => return ReadEnd::Broken(format!("sent a bad frame ({e})")),
            }
        }
        if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK);
        }
        match stdout.read_buf(&mut buf).await {
            Ok(0) if buf.is_empty() => return ReadEnd::Eof,
            Ok(0) => return ReadEnd::Broken("closed its output inside a frame".into()),
            Ok(_) => {}
            Err(e) => return ReadEnd::Broken(format!("output cannot be read ({e})")),
        }
    }
}

async fn stderr_loop(console: Arc<Console>, stderr: ChildStderr) {
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                console.stderr(text.trim_end_matches(['\n', '\r']));
            }
        }
    }
}
