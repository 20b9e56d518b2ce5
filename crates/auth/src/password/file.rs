//! The password file: one `user:hash[:flags]` line per user, `#` comments and blank lines
//! allowed. Mosquitto's `mosquitto_passwd` files are valid as they are; `hookmq passwd` writes
//! argon2id lines and the `superuser` flag. Parsing never hashes (see `hash.rs`), so a large or
//! hostile file costs only its reading.

use std::collections::HashMap;
use std::sync::Arc;

use super::hash::PasswordHash;
use crate::error::LineError;

/// One user's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordEntry {
    /// The stored hash.
    pub hash: PasswordHash,
    /// Whether the user is a superuser (authorization is skipped for them).
    pub superuser: bool,
}

/// A parsed password file: users in file order, and an index by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PasswordFile {
    order: Vec<String>,
    users: HashMap<String, Arc<PasswordEntry>>,
}

/// Why a user name cannot be stored: `:` separates fields, and control characters would make
/// lines ambiguous or invisible.
pub fn check_username(user: &str) -> Result<(), String> {
    if user.is_empty() {
        return Err("empty user name".into());
    }
    if user.contains(':') {
        return Err(format!("user name {user:?} contains ':'"));
    }
    if user.chars().any(char::is_control) {
        return Err(format!("user name {user:?} contains a control character"));
    }
    if user.len() > usize::from(u16::MAX) {
        return Err("user name longer than 65535 bytes".into());
    }
    Ok(())
}

impl PasswordFile {
    /// Parses a whole file; the first bad line is the error.
    pub fn parse(text: &str) -> Result<PasswordFile, LineError> {
        let mut file = PasswordFile::default();
        for (i, raw) in text.lines().enumerate() {
            let n = i + 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let mut fields = line.splitn(3, ':');
            let user = fields.next().unwrap_or_default();
            let Some(hash) = fields.next() else {
                return Err(LineError::new(n, "expected user:hash"));
            };
            check_username(user).map_err(|m| LineError::new(n, m))?;
            let hash = PasswordHash::parse(hash)
                .map_err(|m| LineError::new(n, format!("user {user:?}: {m}")))?;
            let mut superuser = false;
            for flag in fields.next().unwrap_or("").split(',') {
                match flag.trim() {
                    "" => {}
                    "superuser" => superuser = true,
                    other => {
                        return Err(LineError::new(
                            n,
                            format!("user {user:?}: unknown flag {other:?} (known: superuser)"),
                        ));
                    }
                }
            }
            if file.users.contains_key(user) {
                return Err(LineError::new(n, format!("user {user:?} appears twice")));
            }
            file.order.push(user.to_owned());
            file.users
                .insert(user.to_owned(), Arc::new(PasswordEntry { hash, superuser }));
        }
        Ok(file)
    }

    /// The file's text: one line per user, in order.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for user in &self.order {
            if let Some(e) = self.users.get(user) {
                out.push_str(user);
                out.push(':');
                out.push_str(&e.hash.to_text());
                if e.superuser {
                    out.push_str(":superuser");
                }
                out.push('\n');
            }
        }
        out
    }

    /// A user's entry.
    pub fn get(&self, user: &str) -> Option<Arc<PasswordEntry>> {
        self.users.get(user).cloned()
    }

    /// Adds a user or replaces its entry (keeping its place).
    pub fn set(&mut self, user: &str, entry: PasswordEntry) {
        if self
            .users
            .insert(user.to_owned(), Arc::new(entry))
            .is_none()
        {
            self.order.push(user.to_owned());
        }
    }

    /// Removes a user; false if there was none.
    pub fn remove(&mut self, user: &str) -> bool {
        let found = self.users.remove(user).is_some();
        self.order.retain(|u| u != user);
        found
    }

    /// The users of this file whose credentials `newer` took away: removed, given another
    /// hash, or no longer superuser. A client that logged in as one of them holds rights the
    /// file no longer grants (a user only made superuser keeps what it had). In file order.
    pub fn revoked_by(&self, newer: &PasswordFile) -> Vec<String> {
        self.order
            .iter()
            .filter(|user| {
                let (Some(old), new) = (self.users.get(*user), newer.users.get(*user)) else {
                    return false;
                };
                match new {
                    None => true,
                    Some(new) => old.hash != new.hash || (old.superuser && !new.superuser),
                }
            })
            .cloned()
            .collect()
    }

    /// Number of users.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// True without users.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIX: &str = "$6$c2FsdHNhbHRzYWx0$upfVVfdk1wuq4oaO0WskiLMD8f29DsnYAbie2XwdOw4NXP6IO55bx2FJikHnOlHKP4NSNTDTTlFFWzDMm6RxhA==";

    #[test]
    fn lines_comments_flags_and_round_trip() {
        let text = format!("# users\n\nalice:{SIX}\r\nroot:{SIX}:superuser\n");
        let f = PasswordFile::parse(&text).unwrap();
        assert_eq!(f.len(), 2);
        assert!(!f.get("alice").unwrap().superuser);
        assert!(f.get("root").unwrap().superuser);
        assert!(f.get("alice").unwrap().hash.verify(b"pw"));
        assert_eq!(PasswordFile::parse(&f.to_text()).unwrap(), f);
    }

    #[test]
    fn removed_rehashed_and_demoted_users_are_revoked() {
        const OTHER: &str = "$7$101$c2FsdHNhbHRzYWx0$LLKkEbEE6A0ZzBgDD1a8DxtZgwjUsWayIyP80udI8/oy/V5JrBisQZnPkSqa7DTcD2GFAT9Bqc/9Z8XDXv/2PA==";
        let old = PasswordFile::parse(&format!(
            "gone:{SIX}\nsame:{SIX}\nnewpw:{SIX}\nroot:{SIX}:superuser\npromoted:{SIX}\n"
        ))
        .unwrap();
        let new = PasswordFile::parse(&format!(
            "same:{SIX}\nnewpw:{OTHER}\nroot:{SIX}\npromoted:{SIX}:superuser\nadded:{SIX}\n"
        ))
        .unwrap();
        assert_eq!(old.revoked_by(&new), ["gone", "newpw", "root"]);
        assert!(old.revoked_by(&old).is_empty());
        assert!(PasswordFile::default().revoked_by(&new).is_empty());
    }

    #[test]
    fn bad_lines_are_named() {
        for (text, line, needle) in [
            (format!("a:{SIX}\nb\n"), 2, "user:hash"),
            (format!("a:{SIX}\na:{SIX}\n"), 2, "twice"),
            ("a:secret\n".to_owned(), 1, "plain-text"),
            (format!(":{SIX}\n"), 1, "empty user"),
            (format!("a:{SIX}:admin\n"), 1, "unknown flag"),
            (format!("a\u{7}:{SIX}\n"), 1, "control"),
        ] {
            let e = PasswordFile::parse(&text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}");
            assert!(e.message.contains(needle), "{e}");
        }
    }
}
