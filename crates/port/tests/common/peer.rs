//! Running a real peer process (Python or Java runtime) over stdin/stdout, line by line.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use bytes::Bytes;

/// How long a peer may take to answer everything.
const DEADLINE: Duration = Duration::from_secs(120);

/// Runs `command` with `input` on stdin and returns its stdout lines; fails when the process
/// fails or has not finished within the deadline.
pub fn run(command: &mut Command, input: &str) -> Vec<String> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?} (scripts/test.sh installs it): {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let (done, output) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let read = stdout.read_to_string(&mut text).map(|_| text);
        let _ = done.send(read);
    });
    let Ok(text) = output.recv_timeout(DEADLINE) else {
        child.kill().unwrap();
        panic!("{command:?} did not finish within {DEADLINE:?}");
    };
    writer.join().unwrap().unwrap();
    assert!(child.wait().unwrap().success(), "{command:?} failed");
    text.unwrap().lines().map(str::to_owned).collect()
}

/// Lower-case hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes from lower- or upper-case hex without separators.
pub fn from_hex(text: &str) -> Bytes {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}
