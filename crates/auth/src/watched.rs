//! A file-backed value that reloads itself: read and parsed at start (an error there stops the
//! broker from starting), then re-read when its modification stamp changes (polled) or when the
//! operator sends SIGHUP. A file that fails to read or parse on reload leaves the previous value
//! in place and logs why, so a broken edit never locks everyone out. Polling reloads a changed
//! file only once its stamp has stayed the same for one interval: an editor that truncates and
//! rewrites in place would otherwise be caught half way, and an empty file is a valid one.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use parking_lot::Mutex;

use crate::error::{AuthError, LineError};

/// What identifies one version of a file without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt as _;
    let m = std::fs::metadata(path).ok()?;
    Some(Stamp {
        modified: m.modified().ok(),
        len: m.len(),
        inode: m.ino(),
    })
}

/// A parser of a whole file.
pub(crate) type Parser<T> = fn(&str) -> Result<T, LineError>;

/// Told the previous and the new value after each successful reload.
pub(crate) type OnReload<T> = Box<dyn Fn(&T, &T) + Send + Sync>;

/// A parsed file that can be reloaded.
pub(crate) struct Watched<T> {
    path: PathBuf,
    key: &'static str,
    what: &'static str,
    parse: Parser<T>,
    current: ArcSwap<T>,
    on_reload: OnceLock<OnReload<T>>,
    /// The stamp of the loaded version, and a newer one seen at the last poll.
    seen: Mutex<(Option<Stamp>, Option<Option<Stamp>>)>,
}

/// What a reload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reload {
    /// The stamp did not change (polling only).
    Unchanged,
    /// New contents are in use.
    Loaded,
    /// The file is bad; the previous contents stay.
    Kept,
}

/// Reads and parses the file `key` names.
pub(crate) fn read<T>(key: &'static str, path: &Path, parse: Parser<T>) -> Result<T, AuthError> {
    let text = std::fs::read_to_string(path).map_err(|source| AuthError::Read {
        key,
        path: path.into(),
        source,
    })?;
    parse(&text).map_err(|e| e.in_file(key, path.into()))
}

impl<T: Send + Sync + 'static> Watched<T> {
    /// Reads the file now; `key` is the configuration key that names it (in errors), `what`
    /// names it in logs ("password file").
    pub(crate) fn load(
        path: PathBuf,
        key: &'static str,
        what: &'static str,
        parse: Parser<T>,
    ) -> Result<Arc<Watched<T>>, AuthError> {
        let seen = stamp(&path);
        let value = read(key, &path, parse)?;
        Ok(Arc::new(Watched {
            path,
            key,
            what,
            parse,
            current: ArcSwap::from_pointee(value),
            on_reload: OnceLock::new(),
            seen: Mutex::new((seen, None)),
        }))
    }

    /// Sets what is told the previous and the new value after each successful reload (once;
    /// a second call is ignored).
    pub(crate) fn on_reload(&self, f: OnReload<T>) {
        let _ = self.on_reload.set(f);
    }

    /// The value in use.
    pub(crate) fn get(&self) -> Arc<T> {
        self.current.load_full()
    }

    /// Re-reads the file; with `only_if_changed` (polling), only when its stamp moved and then
    /// stayed put since the previous call.
    pub(crate) fn reload(&self, only_if_changed: bool) -> Reload {
        let now = stamp(&self.path);
        {
            let mut seen = self.seen.lock();
            let (loaded, pending) = &mut *seen;
            if only_if_changed {
                if *loaded == now {
                    *pending = None;
                    return Reload::Unchanged;
                }
                if *pending != Some(now) {
                    *pending = Some(now);
                    return Reload::Unchanged;
                }
            }
            *loaded = now;
            *pending = None;
        }
        match read(self.key, &self.path, self.parse) {
            Ok(value) => {
                let new = Arc::new(value);
                let old = self.current.swap(new.clone());
                tracing::info!(file = %self.path.display(), "{} reloaded", self.what);
                if let Some(f) = self.on_reload.get() {
                    f(&old, &new);
                }
                Reload::Loaded
            }
            Err(e) => {
                tracing::warn!(error = %e, "{} not reloaded; the previous one stays in use", self.what);
                Reload::Kept
            }
        }
    }

    /// Polls the file's stamp every `interval` until the value is dropped; zero: never.
    pub(crate) fn poll(self: &Arc<Self>, interval: Duration) {
        if interval.is_zero() {
            return;
        }
        let weak: Weak<Watched<T>> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(w) = weak.upgrade() else { return };
                // Reading and parsing is file I/O: keep it off the async threads.
                let _ = tokio::task::spawn_blocking(move || w.reload(true)).await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Result<Vec<String>, LineError> {
        text.lines()
            .enumerate()
            .map(|(i, l)| {
                if l == "bad" {
                    Err(LineError::new(i + 1, "bad line"))
                } else {
                    Ok(l.to_owned())
                }
            })
            .collect()
    }

    #[test]
    fn a_bad_reload_keeps_the_previous_value() {
        let dir = std::env::temp_dir().join(format!("hookmq-watched-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        std::fs::write(&path, "a\n").unwrap();
        let w = Watched::load(path.clone(), "test.path", "test file", lines).unwrap();
        let told = Arc::new(Mutex::new(Vec::new()));
        let t = told.clone();
        w.on_reload(Box::new(move |old: &Vec<String>, new: &Vec<String>| {
            t.lock().push((old.len(), new.len()))
        }));
        assert_eq!(*w.get(), vec!["a"]);
        assert_eq!(w.reload(true), Reload::Unchanged);
        // A change is picked up by the second poll that sees the same stamp.
        std::fs::write(&path, "a\nb\nc\n").unwrap();
        assert_eq!(w.reload(true), Reload::Unchanged);
        assert_eq!(w.reload(true), Reload::Loaded);
        assert_eq!(*w.get(), vec!["a", "b", "c"]);
        std::fs::write(&path, "a\nbad\nccc\n").unwrap();
        assert_eq!(w.reload(false), Reload::Kept);
        assert_eq!(*w.get(), vec!["a", "b", "c"]);
        std::fs::write(&path, "b\n").unwrap();
        assert_eq!(w.reload(false), Reload::Loaded);
        assert_eq!(*w.get(), vec!["b"]);
        // Told of each reload that took, with the value it replaced.
        assert_eq!(*told.lock(), [(1, 3), (3, 1)]);
        std::fs::write(&path, "bad\n").unwrap();
        let e = match Watched::load(path.clone(), "test.path", "test file", lines) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("loaded a bad file"),
        };
        assert!(
            e.starts_with("test.path: ") && e.contains("/f:1: bad line"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
