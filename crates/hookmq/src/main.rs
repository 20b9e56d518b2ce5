//! The `hookmq` command: `hookmq start` runs the broker; `hookmq ctl ...` talks to a running
//! broker's management API; `hookmq config default|check` print and validate configuration;
//! `hookmq passwd` manages password files.
//! Exit codes: 0 ok, 1 runtime failure (ctl: not found / refused), 2 (ctl) broker unreachable,
//! 64 usage or configuration error.

// A command-line tool prints its answers on stdout.
#![allow(clippy::print_stdout)]

mod config_docs;
mod fd_limit;
mod logging;
mod passwd;
mod replay;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use hookmq_broker::Broker;
use hookmq_hooks::Hooks;

use hookmq::config;
use hookmq::config::{DEFAULT_TOML, LogFormat};

/// Exit code for usage and configuration errors (EX_USAGE).
const EXIT_USAGE: u8 = 64;

#[derive(Parser)]
#[command(
    name = "hookmq",
    version,
    about = "An MQTT broker whose hooks run in Python, Java or any gRPC language"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the broker (runs with built-in defaults when no configuration file is given).
    Start {
        /// Configuration file (TOML). Also read from HOOKMQ_CONFIG.
        #[arg(short, long, env = "HOOKMQ_CONFIG")]
        config: Option<PathBuf>,
        /// Log level or tracing filter; overrides [log] level.
        #[arg(long)]
        log_level: Option<String>,
        /// Log format; overrides [log] format.
        #[arg(long, value_enum)]
        log_format: Option<LogFormat>,
    },
    /// Manage a running broker through its management API.
    Ctl(hookmq_ctl::client::CtlArgs),
    /// Add, change or delete a user of a password file ([auth.password_file]).
    Passwd(passwd::PasswdArgs),
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Tools for hook authors.
    Hooks {
        #[command(subcommand)]
        command: HooksCommand,
    },
}

#[derive(Subcommand)]
enum HooksCommand {
    /// Run handlers (port drivers, gRPC servers) against recorded or hand-written events,
    /// without a broker; print each answer, or compare with `--expect`.
    Replay(replay::ReplayArgs),
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the default configuration file, every key documented.
    Default,
    /// Print the configuration reference (docs/config.md) in Markdown.
    Docs,
    /// Validate a configuration file without starting the broker.
    Check {
        /// The file.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Config {
            command: ConfigCommand::Default,
        } => {
            print!("{DEFAULT_TOML}");
            ExitCode::SUCCESS
        }
        Command::Config {
            command: ConfigCommand::Docs,
        } => {
            print!("{}", config_docs::render(DEFAULT_TOML));
            ExitCode::SUCCESS
        }
        Command::Config {
            command: ConfigCommand::Check { file },
        } => match check(&file) {
            Ok(()) => {
                println!("{}: ok", file.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("hookmq: {e}");
                ExitCode::from(EXIT_USAGE)
            }
        },
        Command::Hooks {
            command: HooksCommand::Replay(args),
        } => ExitCode::from(replay::run(args)),
        Command::Passwd(args) => match passwd::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("hookmq passwd: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::Ctl(args) => ExitCode::from(hookmq_ctl::client::run(
            args,
            &mut std::io::stdout(),
            &mut std::io::stderr(),
        )),
        Command::Start {
            config,
            log_level,
            log_format,
        } => {
            let cfg = match config::load(config.as_deref(), std::env::vars()) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("hookmq: {e}");
                    return ExitCode::from(EXIT_USAGE);
                }
            };
            // Cannot fail where `load` succeeded; the API then just has no configuration to show.
            let effective = config::effective(config.as_deref(), std::env::vars())
                .ok()
                .map(Arc::new);
            let level = log_level.unwrap_or_else(|| cfg.log.level.clone());
            let log = match logging::init(&level, log_format.unwrap_or(cfg.log.format)) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("hookmq: invalid configuration key log.level: {e}");
                    return ExitCode::from(EXIT_USAGE);
                }
            };
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("hookmq: cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(run(cfg, effective, log)) {
                Ok(()) => ExitCode::SUCCESS,
                // A bad password/ACL file or auth key is a configuration error, like a bad key.
                Err(e) if e.downcast_ref::<hookmq_auth::AuthError>().is_some() => {
                    tracing::error!("{e:#}");
                    eprintln!("hookmq: {e:#}");
                    ExitCode::from(EXIT_USAGE)
                }
                Err(e) => {
                    tracing::error!("{e:#}");
                    eprintln!("hookmq: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// `hookmq config check`: the file's keys, then the files the built-in auth sources would
/// read at start (relative to the working directory, as `hookmq start` reads them), each error
/// naming the key and, for a file, its line.
fn check(file: &std::path::Path) -> anyhow::Result<()> {
    let cfg = config::load(Some(file), std::env::vars())?;
    hookmq_auth::AuthSources::check(&cfg.auth, &std::env::current_dir()?)?;
    Ok(())
}

async fn run(
    cfg: config::Config,
    effective: Option<Arc<serde_json::Value>>,
    log: Arc<logging::Reloadable>,
) -> anyhow::Result<()> {
    match fd_limit::raise() {
        fd_limit::Raised::AlreadyAtMax(n) => tracing::debug!(limit = ?n, "open file limit"),
        fd_limit::Raised::From(from, to) => {
            tracing::info!(from = ?from, to = ?to, "raised the open file limit")
        }
        fd_limit::Raised::Refused(n, e) => {
            tracing::warn!(limit = ?n, error = %e, "cannot raise the open file limit")
        }
    }
    let hooks = Arc::new(Hooks::new());
    let base_dir = std::env::current_dir()?;
    // Built-in sources first: a bad file must stop the start before anything listens.
    let auth = Arc::new(hookmq_auth::AuthSources::start(
        &cfg.auth, &hooks, &base_dir,
    )?);
    let broker = Broker::new(cfg.broker(), hooks.clone())?;
    {
        // A reload that takes a user's password away ends that user's connections.
        let broker = broker.clone();
        auth.on_revoked(Box::new(move |users| {
            let n = broker.disconnect_users(users);
            tracing::info!(users = ?users, clients = n, "disconnected clients of revoked users");
        }));
    }
    if broker.config().authorization.recheck != hookmq_broker::config::Recheck::Subscribe {
        // New ACL rules reach the subscriptions already granted (recheck = "resume" or
        // "deliver"; "subscribe" keeps EMQX's behaviour of checking at SUBSCRIBE only).
        let broker = broker.clone();
        let runtime = tokio::runtime::Handle::current();
        auth.on_acl_reload(Box::new(move || {
            let broker = broker.clone();
            runtime.spawn(async move {
                let checked = broker.reauthorize_all().await;
                let removed: usize = checked.iter().map(|(_, r)| r.unsubscribed.len()).sum();
                tracing::info!(
                    sessions = checked.len(),
                    removed,
                    "ACL file reloaded: sessions re-authorized"
                );
            });
        }));
    }
    let info = hookmq_exhook::BrokerInfo {
        node: cfg.node.name.clone(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        sysdescr: "hookmq".to_owned(),
        started_at: std::time::SystemTime::now(),
        cluster_name: "hookmq".to_owned(),
    };
    let exhook = hookmq_exhook::ExhookManager::start(
        cfg.exhook.servers.clone(),
        hooks.clone(),
        info.clone(),
    )
    .await?;
    let ext =
        hookmq_ext_client::ExtManager::start(cfg.ext.servers.clone(), hooks.clone(), info).await?;
    let node = hookmq_hooks::NodeName::new(cfg.node.name.clone());
    let port =
        hookmq_port::PortDrivers::start(cfg.exhook.drivers.clone(), hooks, base_dir, node).await?;
    let cluster = if cfg.cluster.enable {
        let cluster =
            hookmq_cluster::NatsCluster::start(cfg.cluster.clone(), &cfg.node.name, broker.clone())
                .await?;
        Some(cluster)
    } else {
        None
    };
    let running = broker.start().await?;
    if cfg.api.enable {
        let state = hookmq_api::ApiState {
            broker: broker.clone(),
            exhook: exhook.clone(),
            ext: ext.clone(),
            port: port.clone(),
            log: Some(log),
            token: (!cfg.api.token.is_empty()).then(|| cfg.api.token.clone()),
            listeners: running.listeners.clone(),
            config: effective,
        };
        let addr = hookmq_api::serve(state, cfg.api.bind).await.map_err(|e| {
            anyhow::anyhow!("management API cannot listen on {}: {e}", cfg.api.bind)
        })?;
        let name = "api";
        if let Some(cluster) = &cluster {
            cluster.set_api(addr);
        }
        tracing::info!(listener = %name, %addr, "hookmq ready");
    }
    for l in &running.listeners {
        // A machine-readable line tests and scripts wait for.
        tracing::info!(listener = %l.name, addr = %l.local_addr, "hookmq ready");
    }
    // Installed before the line scripts wait for: a SIGHUP sent right after it must reload,
    // not take the default action (which ends the process).
    let signals = Signals::install();
    tracing::info!("hookmq started");
    signals.wait(&auth).await;
    tracing::info!("shutting down");
    broker.stop(Duration::from_secs(5)).await;
    if let Some(cluster) = &cluster {
        cluster.stop().await;
    }
    exhook.stop().await;
    ext.stop().await;
    port.stop().await;
    Ok(())
}

/// The signals the broker handles: SIGTERM and SIGINT stop it, SIGHUP re-reads the built-in
/// sources' files.
struct Signals(Option<[tokio::signal::unix::Signal; 3]>);

impl Signals {
    fn install() -> Signals {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) {
            (Ok(term), Ok(int), Ok(hup)) => Signals(Some([term, int, hup])),
            _ => Signals(None),
        }
    }

    /// Waits for SIGTERM or SIGINT, reloading on SIGHUP meanwhile.
    async fn wait(self, auth: &Arc<hookmq_auth::AuthSources>) {
        let Some([mut term, mut int, mut hup]) = self.0 else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        loop {
            tokio::select! {
                _ = term.recv() => return,
                _ = int.recv() => return,
                _ = hup.recv() => {
                    tracing::info!("SIGHUP: reloading the built-in sources' files");
                    let auth = auth.clone();
                    let _ = tokio::task::spawn_blocking(move || auth.reload()).await;
                }
            }
        }
    }
}
