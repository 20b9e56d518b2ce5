//! Hook variants: the same broker with one no-op hook on `message.publish` or
//! `client.authenticate`, in each driver: Python over the port protocol (1 and 2 workers), Java
//! over the port protocol (each batched, one call per frame as with EMQX, and observe-only), and a
//! gRPC `HookProvider` server in Python, hookmq's stream protocol (Rust and Python SDKs), and the
//! built-in ACL file source with and without the per-delivery read check. Builds the hookmq
//! configuration (`[exhook.drivers.<name>]`, `[[exhook.servers]]`) and the helper command the
//! launcher starts. The no-op hook programs live in `bench/hooks/` and
//! `bench/exhook_noop_server.py`.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::target::Variant;

/// Which driver carries the no-op hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Driver {
    /// No hook at all (the baseline).
    None,
    /// Python over the port protocol, one worker (hookmq's batched mode).
    Python1,
    /// Python, one worker, one call per frame (`batch = false`: the EMQX-compatible mode).
    Python1Single,
    /// Python, one worker, the hook declared observe-only (`observe = [...]`).
    PythonObserve,
    /// Python over the port protocol, two workers.
    Python2,
    /// Java over the port protocol, one worker (hookmq's batched mode).
    Java,
    /// Java, one worker, one call per frame (`batch = false`).
    JavaSingle,
    /// Java, one worker, the hook declared observe-only.
    JavaObserve,
    /// gRPC `HookProvider` server in Python.
    Grpc,
    /// hookmq's stream protocol, a server built with the Rust SDK (`sdk/rust/examples/noop.rs`).
    StreamRust,
    /// hookmq's stream protocol, a server built with the Python SDK (`bench/hooks/python/ext_noop.py`).
    StreamPython,
    /// The Python SDK server with the point registered observe-only.
    StreamObserve,
    /// No hook process: the built-in ACL file source (`[auth.acl_file]`, one allow rule) with
    /// the default `authorization.recheck = "resume"` (checked at PUBLISH and SUBSCRIBE).
    Acl,
    /// The ACL file source with `authorization.recheck = "deliver"`: read access checked again
    /// for every delivered message, through the authorization cache (Mosquitto's behaviour).
    AclDeliver,
    /// No hook: a full session queue drops the newest message (Mosquitto's behaviour) instead
    /// of the oldest (the default).
    DropNewest,
    /// No hook: `queue_drop = "backpressure"`, publishers held back instead of QoS 1/2 messages
    /// dropped (slow consumers disconnected after 60 s).
    Backpressure,
}

impl Driver {
    /// Whether the variant adds a hook (a program answering a hook point), rather than only
    /// broker settings or a built-in source.
    pub fn is_hook(self) -> bool {
        !matches!(
            self,
            Driver::None
                | Driver::Acl
                | Driver::AclDeliver
                | Driver::DropNewest
                | Driver::Backpressure
        )
    }

    /// Name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Driver::None => "none",
            Driver::Python1 => "python1",
            Driver::Python1Single => "python1-single",
            Driver::PythonObserve => "python-observe",
            Driver::Python2 => "python2",
            Driver::Java => "java",
            Driver::JavaSingle => "java-single",
            Driver::JavaObserve => "java-observe",
            Driver::Grpc => "grpc",
            Driver::StreamRust => "stream-rust",
            Driver::StreamPython => "stream-python",
            Driver::StreamObserve => "stream-observe",
            Driver::Acl => "acl",
            Driver::AclDeliver => "acl-deliver",
            Driver::DropNewest => "drop-newest",
            Driver::Backpressure => "backpressure",
        }
    }
}

/// Which hook point the no-op hook is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HookOn {
    /// `message.publish` (measured with a pub/sub scenario).
    Publish,
    /// `client.authenticate` (measured with the conn scenario).
    Authenticate,
}

impl HookOn {
    /// The EMQX hook name.
    pub fn point(self) -> &'static str {
        match self {
            HookOn::Publish => "message.publish",
            HookOn::Authenticate => "client.authenticate",
        }
    }

    /// The port drivers' name of the hook point (for `observe = [...]`).
    fn port_name(self) -> &'static str {
        match self {
            HookOn::Publish => "message_publish",
            HookOn::Authenticate => "client_authenticate",
        }
    }

    /// Python module / Java class suffix of the no-op hook program.
    fn program(self) -> (&'static str, &'static str) {
        match self {
            HookOn::Publish => ("noop_publish", "NoopPublish"),
            HookOn::Authenticate => ("noop_auth", "NoopAuth"),
        }
    }
}

/// Where the hook programs and interpreters are.
#[derive(Debug, Clone)]
pub struct HookFiles {
    /// The repository root.
    pub repo: PathBuf,
    /// Python interpreter with `grpcio` (the test venv's).
    pub python: PathBuf,
}

impl HookFiles {
    fn dir(&self, sub: &str) -> PathBuf {
        self.repo.join("bench").join("hooks").join(sub)
    }

    /// The Rust SDK's no-op extension, built by `cargo build --release -p hookmq-ext --examples`.
    fn rust_noop(&self) -> PathBuf {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| self.repo.join("target"), PathBuf::from);
        target.join("release").join("examples").join("noop")
    }

    /// The ACL file of the `acl` variants.
    fn acl_file(&self) -> PathBuf {
        self.dir("acl").join("allow-all.acl")
    }

    /// `[exhook.drivers]`: the repository's runtimes, no EMQX-style plugin file.
    fn drivers_table(&self) -> String {
        format!(
            "[exhook.drivers]\nruntimes_dir = {}\nconf_file = \"\"\n\n",
            toml_string(&self.repo.join("runtimes").display().to_string())
        )
    }

    /// Whether the files a driver needs are present (the drivers land separately).
    pub fn check(&self, driver: Driver, hook: HookOn) -> Result<()> {
        let (module, class) = hook.program();
        let need: Option<PathBuf> = match driver {
            Driver::None | Driver::DropNewest | Driver::Backpressure => None,
            Driver::Python1 | Driver::Python2 | Driver::Python1Single | Driver::PythonObserve => {
                Some(self.dir("python").join(format!("{module}.py")))
            }
            // Compiled by bench/run.sh (javac) into bench/hooks/java/classes.
            Driver::Java | Driver::JavaSingle | Driver::JavaObserve => Some(
                self.dir("java")
                    .join("classes")
                    .join(format!("{class}.class")),
            ),
            Driver::Grpc => Some(self.repo.join("bench").join("exhook_noop_server.py")),
            Driver::StreamRust => Some(self.rust_noop()),
            Driver::StreamPython | Driver::StreamObserve => {
                Some(self.dir("python").join("ext_noop.py"))
            }
            Driver::Acl | Driver::AclDeliver => Some(self.acl_file()),
        };
        match need {
            Some(p) if !p.exists() => bail!(
                "{} is missing (driver {} pending)",
                p.display(),
                driver.name()
            ),
            _ => Ok(()),
        }
    }

    /// The variant for `driver` with a no-op hook on `hook`.
    pub fn variant(&self, driver: Driver, hook: HookOn) -> Variant {
        let (module, class) = hook.program();
        let quoted = |p: &Path| toml_string(&p.display().to_string());
        let (hookmq_toml, helper) = match driver {
            Driver::None | Driver::DropNewest | Driver::Backpressure => (String::new(), None),
            Driver::Python1 | Driver::Python2 | Driver::Python1Single | Driver::PythonObserve => {
                let workers = if driver == Driver::Python2 { 2 } else { 1 };
                let toml = format!(
                    "{}[exhook.drivers.python3]\npath = {}\ninit_module = \"{module}\"\n\
                     pool_size = {workers}\ncall_timeout = \"5s\"\n{}",
                    self.drivers_table(),
                    quoted(&self.dir("python")),
                    port_mode(driver, hook)
                );
                (toml, None)
            }
            Driver::Java | Driver::JavaSingle | Driver::JavaObserve => {
                let toml = format!(
                    "{}[exhook.drivers.java]\npath = {}\ninit_module = \"{class}\"\n\
                     pool_size = 1\ncall_timeout = \"5s\"\n{}",
                    self.drivers_table(),
                    quoted(&self.dir("java").join("classes")),
                    port_mode(driver, hook)
                );
                (toml, None)
            }
            Driver::Grpc => {
                let toml = "[[exhook.servers]]\nname = \"bench\"\n\
                            url = \"http://127.0.0.1:{helper_port}\"\n"
                    .to_owned();
                let helper = vec![
                    self.python.display().to_string(),
                    self.repo
                        .join("bench")
                        .join("exhook_noop_server.py")
                        .display()
                        .to_string(),
                    "--port".into(),
                    "{helper_port}".into(),
                    "--hooks".into(),
                    hook.point().into(),
                ];
                (toml, Some(helper))
            }
            Driver::StreamRust | Driver::StreamPython | Driver::StreamObserve => {
                let toml = "[[ext.servers]]\nname = \"bench\"\n\
                            url = \"http://127.0.0.1:{helper_port}\"\n"
                    .to_owned();
                let mut helper = match driver {
                    Driver::StreamRust => vec![self.rust_noop().display().to_string()],
                    _ => vec![
                        self.python.display().to_string(),
                        self.dir("python").join("ext_noop.py").display().to_string(),
                    ],
                };
                helper.extend([
                    "--listen".into(),
                    "127.0.0.1:{helper_port}".into(),
                    "--hook".into(),
                    hook.point().into(),
                ]);
                if driver == Driver::StreamObserve {
                    helper.extend(["--observe".into(), "yes".into()]);
                }
                (toml, Some(helper))
            }
            Driver::Acl | Driver::AclDeliver => {
                let recheck = if driver == Driver::AclDeliver {
                    "deliver"
                } else {
                    "resume"
                };
                let toml = format!(
                    "[authorization]\nrecheck = \"{recheck}\"\n\n\
                     [auth.acl_file]\nenable = true\npath = {}\nformat = \"mosquitto\"\n\
                     reload_interval = \"0s\"\n",
                    quoted(&self.acl_file())
                );
                (toml, None)
            }
        };
        let mqtt_toml = match driver {
            Driver::DropNewest => "queue_drop = \"newest\"\n".to_owned(),
            Driver::Backpressure => {
                "queue_drop = \"backpressure\"\nslow_consumer_timeout = \"60s\"\n".to_owned()
            }
            _ => String::new(),
        };
        Variant {
            name: driver.name().to_owned(),
            hookmq_toml,
            mqtt_toml,
            helper,
        }
    }
}

/// The port driver settings of `driver`'s mode: one call per frame, or the hook observe-only.
fn port_mode(driver: Driver, hook: HookOn) -> String {
    match driver {
        Driver::Python1Single | Driver::JavaSingle => "batch = false\n".to_owned(),
        Driver::PythonObserve | Driver::JavaObserve => {
            format!("observe = [\"{}\"]\n", hook.port_name())
        }
        _ => String::new(),
    }
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
