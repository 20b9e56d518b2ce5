//! Where hookmq finds its own port runtimes (`runtimes/python/erlport`, `runtimes/java/.../
//! erlport.jar`) and the command line that starts a worker, exactly as the runtimes' READMEs
//! say: Python with `-u -m erlport.cli ...` and `PYTHONPATH=<runtime>:<driver path>:<inherited>`,
//! Java with `-cp <erlport.jar>:<hookmq-sdk.jar>:<path dirs and their jars> erlport.CLI ...`.
//! The working directory is the broker's, so relative paths resolve as in EMQX.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::config::{DriverConfig, DriverKind};
use crate::error::RuntimeError;

/// The options every worker is started with (`--compressed=0`: the broker refuses compressed
/// terms).
pub const PORT_OPTIONS: [&str; 4] = [
    "--packet=4",
    "--use_stdio",
    "--compressed=0",
    "--buffer_size=65536",
];

/// A located runtimes directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runtimes {
    /// The directory holding `python/` and `java/`.
    pub dir: PathBuf,
}

/// How to start one worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// The executable (absolute).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Environment variables to set on top of the broker's.
    pub env: Vec<(OsString, OsString)>,
    /// The working directory.
    pub cwd: PathBuf,
}

impl Runtimes {
    /// Finds the runtimes: `configured` (`[exhook.drivers] runtimes_dir`, relative to
    /// `base_dir`) if set; else `$HOOKMQ_RUNTIMES`; else `<exe dir>/../../runtimes` (a build
    /// tree: `target/debug/hookmq`); else `<exe dir>/../share/hookmq/runtimes` (an install).
    pub fn locate(configured: &str, base_dir: &Path) -> Result<Runtimes, RuntimeError> {
        let exe = std::env::current_exe()
            .ok()
            .map(|p| std::fs::canonicalize(&p).unwrap_or(p));
        let env = std::env::var_os("HOOKMQ_RUNTIMES");
        Runtimes::locate_from(configured, env, exe.as_deref(), base_dir)
    }

    /// [`Runtimes::locate`] with its inputs given.
    pub fn locate_from(
        configured: &str,
        env: Option<OsString>,
        exe: Option<&Path>,
        base_dir: &Path,
    ) -> Result<Runtimes, RuntimeError> {
        let mut candidates: Vec<PathBuf> = Vec::new();
        if !configured.is_empty() {
            candidates.push(base_dir.join(configured));
        } else if let Some(dir) = env.filter(|v| !v.is_empty()) {
            candidates.push(base_dir.join(dir));
        } else if let Some(exe_dir) = exe.and_then(Path::parent) {
            candidates.push(exe_dir.join("../../runtimes"));
            candidates.push(exe_dir.join("../share/hookmq/runtimes"));
        }
        for dir in &candidates {
            if dir.join("python/erlport/cli.py").is_file() || dir.join("java").is_dir() {
                let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.clone());
                return Ok(Runtimes { dir });
            }
        }
        Err(RuntimeError::NotFound { looked: candidates })
    }

    /// `<dir>/python`, holding our `erlport` package.
    pub fn python(&self) -> Result<PathBuf, RuntimeError> {
        let dir = self.dir.join("python");
        let script = dir.join("erlport/cli.py");
        if script.is_file() {
            Ok(dir)
        } else {
            Err(RuntimeError::PythonMissing { script })
        }
    }

    /// `erlport.jar` and `hookmq-sdk.jar`, from `<dir>/java/` (an install) or
    /// `<dir>/java/build/` (a build tree).
    pub fn java_jars(&self) -> Result<[PathBuf; 2], RuntimeError> {
        for sub in ["java", "java/build"] {
            let dir = self.dir.join(sub);
            let (runtime, sdk) = (dir.join("erlport.jar"), dir.join("hookmq-sdk.jar"));
            if runtime.is_file() && sdk.is_file() {
                return Ok([runtime, sdk]);
            }
        }
        Err(RuntimeError::JavaMissing {
            dir: self.dir.clone(),
        })
    }

    /// The command that starts a worker of `driver`, run in `base_dir` with the broker's
    /// environment (`path_env` is its `PATH`, `inherited` the `PYTHONPATH` it has).
    pub fn launch(&self, driver: &DriverConfig, base_dir: &Path) -> Result<Launch, RuntimeError> {
        let path_env = std::env::var_os("PATH");
        let java_home = std::env::var_os("JAVA_HOME");
        let inherited = std::env::var_os("PYTHONPATH");
        let entries = search_path(driver, base_dir)?;
        let mut args: Vec<OsString> = Vec::new();
        let mut env = Vec::new();
        let program = match driver.kind {
            DriverKind::Python3 | DriverKind::Python => {
                let exe = driver.kind.name();
                let program = find_program(exe, path_env.as_deref())
                    .ok_or(RuntimeError::InterpreterNotFound { exe })?;
                let mut pythonpath = vec![self.python()?];
                pythonpath.extend(entries);
                if let Some(inherited) = &inherited {
                    pythonpath.extend(std::env::split_paths(inherited));
                }
                env.push(("PYTHONPATH".into(), join(pythonpath)?));
                args.extend(["-u", "-m", "erlport.cli"].map(OsString::from));
                program
            }
            DriverKind::Java => {
                let program = find_program("java", path_env.as_deref())
                    .or_else(|| {
                        let home = PathBuf::from(java_home?).join("bin/java");
                        home.is_file().then_some(home)
                    })
                    .ok_or(RuntimeError::JavaNotFound)?;
                let mut classpath: Vec<PathBuf> = self.java_jars()?.into();
                for entry in entries {
                    let jars = jars_in(&entry);
                    classpath.push(entry);
                    classpath.extend(jars);
                }
                args.push("-cp".into());
                args.push(join(classpath)?);
                args.push("erlport.CLI".into());
                program
            }
        };
        args.extend(PORT_OPTIONS.map(OsString::from));
        Ok(Launch {
            program,
            args,
            env,
            cwd: base_dir.to_owned(),
        })
    }
}

/// The driver's path entries made absolute; each must exist.
fn search_path(driver: &DriverConfig, base_dir: &Path) -> Result<Vec<PathBuf>, RuntimeError> {
    driver
        .path
        .iter()
        .map(|entry| {
            let abs = base_dir.join(entry);
            if abs.exists() {
                Ok(abs)
            } else {
                Err(RuntimeError::PathMissing {
                    entry: entry.clone(),
                    looked: abs,
                })
            }
        })
        .collect()
}

/// Every `*.jar` and `*.zip` directly inside `dir`, sorted (EMQX's expansion).
fn jars_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut jars: Vec<PathBuf> = read
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .is_some_and(|x| x.eq_ignore_ascii_case("jar") || x.eq_ignore_ascii_case("zip"))
        })
        .collect();
    jars.sort();
    jars
}

/// `name` in the directories of `path` (a `PATH` value), as an absolute file.
pub fn find_program(name: &str, path: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    std::env::split_paths(path?)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Joins paths with `:`, keeping the first of any repeats.
fn join(paths: Vec<PathBuf>) -> Result<OsString, RuntimeError> {
    let mut unique: Vec<PathBuf> = Vec::new();
    for p in paths {
        if !unique.contains(&p) {
            unique.push(p);
        }
    }
    std::env::join_paths(unique).map_err(|source| RuntimeError::Join { source })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_runtimes() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../runtimes")
    }

    /// A fresh directory holding `layout` (relative paths of empty files and of directories
    /// ending in `/`), under the system temp dir.
    fn fake_tree(name: &str, layout: &[&str]) -> PathBuf {
        let root =
            std::env::temp_dir().join(format!("hookmq-runtimes-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for entry in layout {
            let path = root.join(entry);
            if entry.ends_with('/') {
                std::fs::create_dir_all(&path).unwrap();
            } else {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, b"").unwrap();
            }
        }
        std::fs::canonicalize(root).unwrap()
    }

    #[test]
    fn a_build_tree_is_found_next_to_the_executable() {
        // <repo>/target/release/hookmq finds <repo>/runtimes, wherever the repo is.
        let root = fake_tree(
            "build",
            &["target/release/", "runtimes/python/erlport/cli.py"],
        );
        let exe = root.join("target/release/hookmq");
        let found = Runtimes::locate_from("", None, Some(&exe), Path::new("/")).unwrap();
        assert_eq!(found.dir, root.join("runtimes"));
        assert!(found.python().is_ok());
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn an_installed_tree_is_found_under_share() {
        // <prefix>/bin/hookmq finds <prefix>/share/hookmq/runtimes.
        let root = fake_tree("install", &["bin/", "share/hookmq/runtimes/java/"]);
        let exe = root.join("bin/hookmq");
        let found = Runtimes::locate_from("", None, Some(&exe), Path::new("/")).unwrap();
        assert_eq!(found.dir, root.join("share/hookmq/runtimes"));
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn configured_and_environment_win_and_failures_say_where() {
        let base = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let found = Runtimes::locate_from("../../runtimes", None, None, &base).unwrap();
        assert!(found.python().is_ok());
        let env = Some(repo_runtimes().into_os_string());
        assert!(Runtimes::locate_from("", env, None, Path::new("/")).is_ok());
        let err = Runtimes::locate_from("nowhere", None, None, Path::new("/tmp"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/tmp/nowhere") && err.contains("runtimes_dir"),
            "{err}"
        );
    }

    #[test]
    fn python_command_follows_the_readme() {
        let runtimes = Runtimes {
            dir: repo_runtimes(),
        };
        let mut driver = DriverConfig::new("python3", DriverKind::Python3);
        driver.path = vec!["runtimes".into()];
        let base = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let Ok(launch) = runtimes.launch(&driver, &base) else {
            return; // no python3 on PATH here: nothing to check
        };
        assert!(launch.program.ends_with("python3"));
        let args: Vec<_> = launch.args.iter().map(|a| a.to_string_lossy()).collect();
        assert_eq!(
            args,
            [
                "-u",
                "-m",
                "erlport.cli",
                "--packet=4",
                "--use_stdio",
                "--compressed=0",
                "--buffer_size=65536"
            ]
        );
        let (name, value) = &launch.env[0];
        assert_eq!(name, "PYTHONPATH");
        let parts: Vec<_> = std::env::split_paths(value).collect();
        assert_eq!(parts[0], repo_runtimes().join("python"));
        assert_eq!(parts[1], base.join("runtimes"));
        driver.path = vec!["no/such/dir".into()];
        let err = runtimes.launch(&driver, &base).unwrap_err().to_string();
        assert!(err.contains("no/such/dir does not exist"), "{err}");
    }

    #[test]
    fn java_classpath_lists_runtime_sdk_dirs_and_jars() {
        let dir = std::env::temp_dir().join(format!("hookmq-cp-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("java")).unwrap();
        std::fs::create_dir_all(dir.join("ext")).unwrap();
        for f in [
            "java/erlport.jar",
            "java/hookmq-sdk.jar",
            "ext/b.jar",
            "ext/a.zip",
            "ext/c.txt",
        ] {
            std::fs::write(dir.join(f), b"").unwrap();
        }
        let runtimes = Runtimes { dir: dir.clone() };
        let mut driver = DriverConfig::new("java", DriverKind::Java);
        driver.path = vec!["ext".into()];
        if let Ok(launch) = runtimes.launch(&driver, &dir) {
            let cp: Vec<_> = std::env::split_paths(&launch.args[1]).collect();
            assert_eq!(
                cp,
                [
                    dir.join("java/erlport.jar"),
                    dir.join("java/hookmq-sdk.jar"),
                    dir.join("ext"),
                    dir.join("ext/a.zip"),
                    dir.join("ext/b.jar")
                ]
            );
            assert_eq!(launch.args[2], "erlport.CLI");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
