//! A worker's text output in the broker log, each line tagged with the driver and worker:
//! `{'P', Chars}` frames (`print()` in Python, `System.out` in Java) at `info`, the process's
//! stderr at `warn`, and hook errors (tracebacks, stack traces, on one line) at `warn` with a
//! rate limit so a hook that fails on every message cannot flood the log. The last stderr lines
//! are kept to explain a worker that dies while starting.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Longest partial line kept before it is logged anyway.
const MAX_LINE: usize = 16 * 1024;

/// How many stderr lines are kept for error messages.
const TAIL_LINES: usize = 30;

/// Hook errors logged at `warn` per window; the rest go to `debug`.
const ERRORS_PER_WINDOW: u32 = 10;

/// The rate-limit window for hook errors.
const ERROR_WINDOW: Duration = Duration::from_secs(10);

/// The log side of one worker.
#[derive(Debug)]
pub(crate) struct Console {
    driver: String,
    worker: usize,
    printed: Mutex<String>,
    tail: Mutex<VecDeque<String>>,
    errors: Mutex<(Instant, u32)>,
}

impl Console {
    /// The console of worker `worker` (0-based) of `driver`.
    pub(crate) fn new(driver: &str, worker: usize) -> Console {
        Console {
            driver: driver.to_owned(),
            worker,
            printed: Mutex::new(String::new()),
            tail: Mutex::new(VecDeque::new()),
            errors: Mutex::new((Instant::now(), 0)),
        }
    }

    /// Text from a `{'P', Chars}` frame: logged line by line (a `print()` may arrive in pieces).
    pub(crate) fn print(&self, text: &str) {
        let mut buf = self.printed.lock();
        buf.push_str(text);
        while let Some(end) = buf.find('\n') {
            let line: String = buf.drain(..=end).collect();
            self.print_line(line.trim_end_matches(['\n', '\r']));
        }
        if buf.len() > MAX_LINE {
            let line = std::mem::take(&mut *buf);
            self.print_line(&line);
        }
    }

    /// Logs what is left of a partial printed line (the worker ended).
    pub(crate) fn flush(&self) {
        let line = std::mem::take(&mut *self.printed.lock());
        if !line.is_empty() {
            self.print_line(&line);
        }
    }

    fn print_line(&self, line: &str) {
        tracing::info!(driver = %self.driver, worker = self.worker, "{line}");
    }

    /// One line the process wrote to stderr.
    pub(crate) fn stderr(&self, line: &str) {
        tracing::warn!(driver = %self.driver, worker = self.worker, "stderr: {line}");
        let mut tail = self.tail.lock();
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(line.to_owned());
    }

    /// The last stderr lines, joined.
    pub(crate) fn stderr_tail(&self) -> String {
        self.tail
            .lock()
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A hook call failed in the worker (an exception): logged with its text, rate-limited.
    pub(crate) fn hook_error(&self, hook: &str, text: &str) {
        let loud = {
            let mut e = self.errors.lock();
            if e.0.elapsed() > ERROR_WINDOW {
                *e = (Instant::now(), 0);
            }
            e.1 += 1;
            e.1 <= ERRORS_PER_WINDOW
        };
        // One line per failure: the exception's last line as the message, the whole text
        // (traceback, stack trace) escaped in a field.
        let summary = crate::verdict::summary(text);
        if loud {
            tracing::warn!(driver = %self.driver, worker = self.worker, hook, trace = ?text, "hook failed: {summary}");
        } else {
            tracing::debug!(driver = %self.driver, worker = self.worker, hook, trace = ?text, "hook failed: {summary}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_tail_keeps_the_last_lines() {
        let c = Console::new("python3", 0);
        for i in 0..40 {
            c.stderr(&format!("line {i}"));
        }
        let tail = c.stderr_tail();
        assert!(
            tail.starts_with("line 10\n") && tail.ends_with("line 39"),
            "{tail}"
        );
    }

    #[test]
    fn printed_pieces_become_lines() {
        let c = Console::new("python3", 0);
        c.print("hello");
        c.print(" world\nsecond");
        assert_eq!(*c.printed.lock(), "second");
        c.flush();
        assert!(c.printed.lock().is_empty());
    }
}
