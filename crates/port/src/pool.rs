//! The `pool_size` workers of one driver and their supervision. Each worker slot has a
//! supervisor task that starts the process, runs `init()` within `init_timeout`, publishes the
//! ready worker, and watches it: on exit (crash, `kill -9`), on a broken pipe, or when the oldest
//! call has waited [`HANG_FACTOR`] × `call_timeout` (a hung worker, which is then killed), the
//! waiting calls fail with [`HookError::Unavailable`] (so `failed_action` applies) and the worker
//! is started again — `init()` included — after an exponential backoff (100 ms doubling to 30 s,
//! back to 100 ms once a worker has run for a minute). Stopping runs `deinit()` and closes stdin.
//!
//! A client's events always go to the same worker (a hash of its client id), so they stay in
//! order; while that worker restarts its calls fail at once rather than move elsewhere.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hookmq_hooks::{HookError, HookPoint};
use parking_lot::{Mutex, RwLock};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::arguments::shapes;
use crate::config::DriverConfig;
use crate::console::Console;
use crate::error::LoadError;
use crate::etf::{Atom, RawTerm, Term};
use crate::runtimes::Launch;
use crate::spec::{HookTarget, InitReply, parse_init};
use crate::status::WorkerStatus;
use crate::verdict::{error_text, shown, summary};
use crate::worker::{Process, ReadEnd, Reply, Worker};

/// First restart delay.
pub const BACKOFF_MIN: Duration = Duration::from_millis(100);
/// Longest restart delay.
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A worker that ran this long resets the backoff.
pub const STABLE_AFTER: Duration = Duration::from_secs(60);
/// A worker whose oldest call waited this many call timeouts is killed and restarted.
pub const HANG_FACTOR: u32 = 3;

/// What every worker of a driver shares.
pub(crate) struct DriverContext {
    /// The configuration.
    pub(crate) config: DriverConfig,
    /// How to start a worker.
    pub(crate) launch: Launch,
    /// `init_module` as an atom.
    pub(crate) init_module: Atom,
    /// The registry whose broker services the workers may call (held weakly: it holds the
    /// driver).
    pub(crate) hooks: std::sync::Weak<hookmq_hooks::Hooks>,
}

/// A started worker whose `init()` answered.
pub(crate) struct Conn {
    /// Its pipe.
    pub(crate) worker: Arc<Worker>,
    /// Where each hook's calls go.
    pub(crate) targets: [Option<HookTarget>; HookPoint::COUNT],
    /// The state from `init()`.
    pub(crate) state: RawTerm,
    /// In hookmq's batched mode: each hook's place among the targets registered with the
    /// runtime. `None`: one call per frame.
    pub(crate) batched: Option<[Option<BatchTarget>; HookPoint::COUNT]>,
}

/// A hook as the batched mode calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchTarget {
    /// Its index among the registered targets.
    pub(crate) index: u32,
    /// The worker only observes it: no result is asked for.
    pub(crate) observe: bool,
}

#[derive(Default)]
struct Slot {
    conn: RwLock<Option<Arc<Conn>>>,
    restarts: AtomicU64,
    info: Mutex<SlotInfo>,
}

#[derive(Default)]
struct SlotInfo {
    state: &'static str,
    last_error: Option<String>,
    since_ms: Option<u64>,
}

impl Slot {
    fn note(&self, state: &'static str, error: Option<String>) {
        let mut info = self.info.lock();
        info.state = state;
        if error.is_some() {
            info.last_error = error;
        }
        info.since_ms = (state == "running").then(now_ms);
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The workers of one loaded driver.
pub(crate) struct Pool {
    ctx: Arc<DriverContext>,
    slots: Vec<Arc<Slot>>,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Pool {
    /// Starts every worker and waits for their first `init()`; any failure stops them all and
    /// is returned. On success, the answer of worker 0's `init()`.
    pub(crate) async fn start(
        ctx: Arc<DriverContext>,
    ) -> Result<(Arc<Pool>, InitReply), LoadError> {
        let (stop, _) = watch::channel(false);
        let n = ctx.config.pool_size.max(1);
        let pool = Arc::new(Pool {
            ctx: ctx.clone(),
            slots: (0..n).map(|_| Arc::new(Slot::default())).collect(),
            stop,
            tasks: Mutex::new(Vec::new()),
        });
        let mut firsts = Vec::new();
        for (index, slot) in pool.slots.iter().enumerate() {
            let (tx, rx) = oneshot::channel();
            let task = tokio::spawn(supervise(
                ctx.clone(),
                slot.clone(),
                index,
                pool.stop.subscribe(),
                tx,
            ));
            pool.tasks.lock().push(task);
            firsts.push(rx);
        }
        let mut first_reply = None;
        let mut error = None;
        for (index, rx) in firsts.into_iter().enumerate() {
            match rx.await {
                Ok(Ok(reply)) => {
                    first_reply.get_or_insert(reply);
                }
                Ok(Err(e)) => {
                    error.get_or_insert(e.of_worker(index, n));
                }
                Err(_) => {
                    error.get_or_insert(LoadError::Abandoned { index });
                }
            }
        }
        match (error, first_reply) {
            (None, Some(reply)) => Ok((pool, reply)),
            (e, _) => {
                pool.stop().await;
                Err(e.unwrap_or(LoadError::NoWorker))
            }
        }
    }

    /// The ready worker for `clientid`'s events.
    pub(crate) fn conn_for(&self, clientid: &str) -> Result<Arc<Conn>, HookError> {
        let mut h = DefaultHasher::new();
        ("hookmq-port", clientid).hash(&mut h);
        let index = (h.finish() % self.slots.len() as u64) as usize;
        self.slots[index].conn.read().clone().ok_or_else(|| {
            HookError::Unavailable(format!(
                "worker {index} of driver {} is restarting",
                self.ctx.config.name
            ))
        })
    }

    /// Stops every worker: `deinit()`, stdin closed, process gone.
    pub(crate) async fn stop(&self) {
        let _ = self.stop.send(true);
        let tasks: Vec<JoinHandle<()>> = std::mem::take(&mut *self.tasks.lock());
        for t in tasks {
            let _ = t.await;
        }
    }

    /// Restarts summed over the workers.
    pub(crate) fn restarts(&self) -> u64 {
        self.slots
            .iter()
            .map(|s| s.restarts.load(Ordering::Relaxed))
            .sum()
    }

    /// Each worker's status.
    pub(crate) fn workers(&self) -> Vec<WorkerStatus> {
        self.slots
            .iter()
            .enumerate()
            .map(|(index, slot)| {
                let conn = slot.conn.read().clone();
                let info = slot.info.lock();
                WorkerStatus {
                    index,
                    state: info.state,
                    pid: conn.as_ref().and_then(|c| c.worker.pid()),
                    protocol: conn.as_ref().map(|c| match c.batched {
                        Some(_) => "batched",
                        None => "single",
                    }),
                    restarts: slot.restarts.load(Ordering::Relaxed),
                    inflight: conn.as_ref().map_or(0, |c| c.worker.inflight()),
                    last_error: info.last_error.clone(),
                    since_ms: info.since_ms,
                }
            })
            .collect()
    }
}

/// Waits until the pool is told to stop (or is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// `500ms`, `5s`: a duration for messages.
pub(crate) fn show(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

async fn supervise(
    ctx: Arc<DriverContext>,
    slot: Arc<Slot>,
    index: usize,
    mut stop: watch::Receiver<bool>,
    first: oneshot::Sender<Result<InitReply, LoadError>>,
) {
    let name = ctx.config.name.clone();
    let mut first = Some(first);
    let mut backoff = BACKOFF_MIN;
    loop {
        slot.note("starting", None);
        let started = Instant::now();
        let outcome = tokio::select! {
            r = start_worker(&ctx, index) => r,
            () = stopped(&mut stop) => break,
        };
        match outcome {
            Ok((conn, mut process, reply)) => {
                let pid = conn.worker.pid();
                match first.take() {
                    Some(tx) => {
                        let _ = tx.send(Ok(reply));
                    }
                    None => {
                        tracing::info!(driver = %name, worker = index, ?pid, "worker restarted; init() ran again")
                    }
                }
                *slot.conn.write() = Some(conn.clone());
                slot.note("running", None);
                let end = watch_worker(&ctx, &conn, &mut process, &mut stop).await;
                *slot.conn.write() = None;
                let why = end.unwrap_or_else(|| "stopped".into());
                conn.worker.close(&why);
                conn.worker.console.flush();
                if *stop.borrow() {
                    break;
                }
                if started.elapsed() >= STABLE_AFTER {
                    backoff = BACKOFF_MIN;
                }
                tracing::warn!(driver = %name, worker = index, ?pid, "worker {why}; restarting in {}", show(backoff));
                slot.note("restarting", Some(why));
            }
            Err(e) => {
                if let Some(tx) = first.take() {
                    let _ = tx.send(Err(e));
                    break;
                }
                tracing::warn!(driver = %name, worker = index, "worker restart failed: {e}; next attempt in {}", show(backoff));
                slot.note("restarting", Some(e.to_string()));
            }
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = stopped(&mut stop) => break,
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
        slot.restarts.fetch_add(1, Ordering::Relaxed);
    }
    slot.note("stopped", None);
}

/// Starts one worker: offers hookmq's batched protocol (when configured), runs `init()`, and in
/// batched mode registers the hooks `init()` named with the runtime.
async fn start_worker(
    ctx: &DriverContext,
    index: usize,
) -> Result<(Arc<Conn>, Process, InitReply), LoadError> {
    let config = &ctx.config;
    let console = Arc::new(Console::new(&config.name, index));
    let (worker, mut process) = Worker::spawn(&ctx.launch, console.clone(), ctx.hooks.clone())
        .map_err(|source| LoadError::Spawn {
            program: ctx.launch.program.display().to_string(),
            source,
        })?;
    match prepare(ctx, &worker, &mut process).await {
        Ok((reply, batched)) => {
            let conn = Arc::new(Conn {
                worker,
                targets: reply.targets.clone(),
                state: reply.state.clone(),
                batched,
            });
            Ok((conn, process, reply))
        }
        Err(failure) => {
            process.kill().await;
            Err(failure)
        }
    }
}

/// The worker's side of [`start_worker`], once the process runs.
async fn prepare(
    ctx: &DriverContext,
    worker: &Worker,
    process: &mut Process,
) -> Result<(InitReply, Option<[Option<BatchTarget>; HookPoint::COUNT]>), LoadError> {
    let config = &ctx.config;
    let module = config.init_module.clone();
    let batching = match config.batch {
        true => negotiate(ctx, worker, process).await?,
        false => false,
    };
    let init = Atom::from_static("init");
    let answer = ask(worker, process, &ctx.init_module, &init, Vec::new(), ctx).await;
    let mut reply = match answer {
        Err(Refused::Exited { status, stderr }) => {
            return Err(LoadError::Exited {
                module,
                status,
                stderr,
            });
        }
        Err(Refused::Timeout) => {
            return Err(LoadError::InitTimeout {
                module,
                after: config.init_timeout,
            });
        }
        Err(Refused::Stopped) => return Err(LoadError::Stopped { module }),
        Err(Refused::Call(e)) => return Err(LoadError::Call(e)),
        Ok(Reply::Error(e)) => {
            return Err(LoadError::InitRaised {
                module,
                trace: error_text(&e),
            });
        }
        Ok(Reply::Result { result, raw }) => {
            parse_init(&result, &raw).map_err(|source| LoadError::BadInit { module, source })?
        }
        Ok(other) => {
            return Err(LoadError::BadInit {
                module,
                source: crate::spec::InitError::Unexpected {
                    returned: format!("{other:?}"),
                },
            });
        }
    };
    mark_observed(config, &mut reply);
    if !batching {
        return Ok((reply, None));
    }
    let batched = register_targets(ctx, worker, process, &mut reply).await?;
    worker.enable_batches(config.max_batch);
    Ok((reply, Some(batched)))
}

/// Marks the points the configuration's `observe` lists (`init()` may have marked others);
/// warns about listed hooks `init()` did not register.
fn mark_observed(config: &DriverConfig, reply: &mut InitReply) {
    for &point in &config.observe {
        match reply.points.iter_mut().find(|p| p.point == point) {
            Some(p) => p.observe = true,
            None => reply.warnings.push(format!(
                "observe lists {}, which init() did not register",
                point.port_name()
            )),
        }
    }
}

/// Why a call made while starting a worker got no usable answer.
enum Refused {
    /// The process ended first.
    Exited { status: String, stderr: String },
    /// No answer within `init_timeout`.
    Timeout,
    /// The worker stopped taking calls.
    Stopped,
    /// The call could not be made.
    Call(HookError),
}

/// Calls `module:function(args)` and waits for the answer within `init_timeout`, or for the
/// process to end.
async fn ask(
    worker: &Worker,
    process: &mut Process,
    module: &Atom,
    function: &Atom,
    args: Vec<Term>,
    ctx: &DriverContext,
) -> Result<Reply, Refused> {
    let rx = worker.call(module, function, args).map_err(Refused::Call)?;
    let answer = tokio::select! {
        a = tokio::time::timeout(ctx.config.init_timeout, rx) => a,
        status = process.child.wait() => {
            process.drain().await;
            let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
            return Err(Refused::Exited { status, stderr: worker.console.stderr_tail() });
        }
    };
    match answer {
        Err(_) => Err(Refused::Timeout),
        Ok(Err(_)) | Ok(Ok(Err(_))) => Err(Refused::Stopped),
        Ok(Ok(Ok(reply))) => Ok(reply),
    }
}

/// The module of hookmq's own calls to its runtimes; no Python module or Java class has this
/// name, so any other runtime answers with an error.
const CONTROL: Atom = Atom::from_static("$hookmq");

/// Offers the batched protocol: `'$hookmq':batch(Version)`. hookmq's runtimes answer the version
/// they speak; any other runtime (EMQX's erlport) answers with an error, and the worker gets
/// one call per frame.
async fn negotiate(
    ctx: &DriverContext,
    worker: &Worker,
    process: &mut Process,
) -> Result<bool, LoadError> {
    let step = "offering the batched protocol";
    let args = vec![Term::Int(i64::from(BATCH_VERSION))];
    let batch = Atom::from_static("batch");
    match ask(worker, process, &CONTROL, &batch, args, ctx).await {
        Ok(Reply::Result { result, .. }) if result.as_int() == Some(i64::from(BATCH_VERSION)) => {
            Ok(true)
        }
        Ok(answer) => {
            tracing::debug!(driver = %ctx.config.name, ?answer, "the runtime does not batch; one call per frame");
            Ok(false)
        }
        Err(Refused::Timeout) => Err(LoadError::Batch {
            step,
            why: format!(
                "no answer within {} (init_timeout)",
                show(ctx.config.init_timeout)
            ),
        }),
        Err(Refused::Exited { status, stderr }) => Err(LoadError::Exited {
            module: ctx.config.init_module.clone(),
            status,
            stderr,
        }),
        Err(Refused::Stopped) => Err(LoadError::Batch {
            step,
            why: "the worker stopped".into(),
        }),
        Err(Refused::Call(e)) => Err(LoadError::Call(e)),
    }
}

/// The batched protocol's version hookmq speaks.
const BATCH_VERSION: u8 = 1;

/// Registers the hooks of `reply` with the runtime: `'$hookmq':targets(Targets, State)`, each
/// target `{Module, Function, Shapes, Observe}`. The runtime answers, per target, whether it is
/// observe-only: what the broker said, or what the hook code declares (Python's
/// `hookmq_port.observe` decorator). Marks those points in `reply`.
async fn register_targets(
    ctx: &DriverContext,
    worker: &Worker,
    process: &mut Process,
    reply: &mut InitReply,
) -> Result<[Option<BatchTarget>; HookPoint::COUNT], LoadError> {
    let step = "registering the hooks init() named with the runtime";
    let targets: Vec<Term> = reply
        .points
        .iter()
        .filter_map(|p| {
            let target = reply.targets[p.point.index()].as_ref()?;
            let shapes = shapes(p.point).iter().map(|shape| match shape {
                Some(keys) => Term::list(keys.iter().map(|k| Term::atom(Atom::from_static(k)))),
                None => Term::nil(),
            });
            Some(Term::tuple([
                Term::Atom(target.module.clone()),
                Term::Atom(target.function.clone()),
                Term::list(shapes),
                Term::bool(p.observe),
            ]))
        })
        .collect();
    let args = vec![Term::List(targets), Term::Raw(reply.state.clone())];
    let function = Atom::from_static("targets");
    let flags = match ask(worker, process, &CONTROL, &function, args, ctx).await {
        Ok(Reply::Result { result, .. }) => result
            .as_list()
            .map(|l| l.iter().map(Term::as_bool).collect::<Option<Vec<bool>>>())
            .and_then(|flags| flags.filter(|f| f.len() == reply.points.len()))
            .ok_or_else(|| LoadError::Batch {
                step,
                why: format!("the runtime answered {}", shown(&result)),
            })?,
        Ok(Reply::Error(e)) => {
            return Err(LoadError::Batch {
                step,
                why: error_text(&e),
            });
        }
        Ok(other) => {
            return Err(LoadError::Batch {
                step,
                why: format!("the runtime answered {other:?}"),
            });
        }
        Err(Refused::Exited { status, stderr }) => {
            return Err(LoadError::Exited {
                module: ctx.config.init_module.clone(),
                status,
                stderr,
            });
        }
        Err(Refused::Timeout) => {
            return Err(LoadError::Batch {
                step,
                why: format!(
                    "no answer within {} (init_timeout)",
                    show(ctx.config.init_timeout)
                ),
            });
        }
        Err(Refused::Stopped) => {
            return Err(LoadError::Batch {
                step,
                why: "the worker stopped".into(),
            });
        }
        Err(Refused::Call(e)) => return Err(LoadError::Call(e)),
    };
    let mut batched = [None; HookPoint::COUNT];
    for (index, (point, observe)) in reply.points.iter_mut().zip(flags).enumerate() {
        point.observe = observe;
        batched[point.point.index()] = Some(BatchTarget {
            index: index as u32,
            observe,
        });
    }
    Ok(batched)
}

/// Watches a running worker; `None` when told to stop (after `deinit()`), otherwise why it
/// ended.
async fn watch_worker(
    ctx: &DriverContext,
    conn: &Conn,
    process: &mut Process,
    stop: &mut watch::Receiver<bool>,
) -> Option<String> {
    let hang_after = ctx.config.call_timeout * HANG_FACTOR;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            status = process.child.wait() => {
                process.drain().await;
                let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
                return Some(format!("exited ({status})"));
            }
            end = &mut process.reader => {
                let why = match end {
                    Ok(ReadEnd::Broken(e)) => e,
                    _ => "closed its output".into(),
                };
                let status = process.kill().await;
                return Some(format!("{why}; killed ({status})"));
            }
            () = stopped(stop) => {
                shut_down(ctx, conn, process).await;
                return None;
            }
            _ = tick.tick() => {
                if conn.worker.oldest_wait().is_some_and(|w| w >= hang_after) {
                    let status = process.kill().await;
                    return Some(format!(
                        "hung: no answer for {} ({HANG_FACTOR} x call_timeout); killed ({status})",
                        show(hang_after)
                    ));
                }
            }
        }
    }
}

/// `deinit()` (no arguments, no state; the answer is only logged), then end of input.
async fn shut_down(ctx: &DriverContext, conn: &Conn, process: &mut Process) {
    let name = &ctx.config.name;
    let deinit = Atom::from_static("deinit");
    if let Ok(rx) = conn.worker.call(&ctx.init_module, &deinit, Vec::new()) {
        match tokio::time::timeout(ctx.config.call_timeout, rx).await {
            // Its answer is ignored, as in EMQX, and a module without deinit() is fine.
            Ok(Ok(Ok(Reply::Error(e)))) => {
                let text = error_text(&e);
                tracing::info!(driver = %name, trace = ?text, "deinit() failed: {}", summary(&text));
            }
            Err(_) => tracing::warn!(driver = %name, "deinit() did not answer within call_timeout"),
            _ => {}
        }
    }
    conn.worker.end_input();
    let exited = tokio::time::timeout(Duration::from_secs(5), process.child.wait()).await;
    if exited.is_err() {
        tracing::warn!(driver = %name, "worker did not exit after its input closed; killing it");
        process.kill().await;
    }
    process.drain().await;
}
