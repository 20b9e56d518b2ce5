//! Checks for the built-in auth sources' file parsers (`hookmq_auth`): the password file and
//! the ACL file (both syntaxes). Operators write these files, but a parser that panics or
//! misreads would lock everyone out or let someone in, and the files are reloaded while the
//! broker runs.

use hookmq_auth::acl::{Acl, Identity, Requester};
use hookmq_auth::config::AclFormat;
use hookmq_auth::password::PasswordFile;
use hookmq_hooks::Action;

/// `passwd_file`: any text either fails with a line inside the file, or parses to users whose
/// written form parses back to the same users. Nothing is hashed.
pub fn check_passwd_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match PasswordFile::parse(text) {
        Ok(file) => {
            let again = PasswordFile::parse(&file.to_text())
                .unwrap_or_else(|e| panic!("written file does not parse: {e}"));
            assert_eq!(again, file, "password file round trip changed it");
        }
        Err(e) => assert!(
            e.line >= 1 && e.line <= text.lines().count().max(1),
            "error line {} outside the file",
            e.line
        ),
    }
}

/// Identities that must never fill a placeholder.
const UNSAFE: [&str; 6] = ["+", "#", "a/b", "", "x\0y", "$SYS"];

/// `acl_file`: the first byte picks the syntax (auto, Mosquitto, EMQX), the rest is the file.
/// A file either fails with a line inside it or gives rules that decide without panicking, and
/// no allow rule with a placeholder ever matches for an identity holding a wildcard, a `/`, or
/// nothing.
pub fn check_acl_file(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let format = match selector % 3 {
        0 => AclFormat::Auto,
        1 => AclFormat::Mosquitto,
        _ => AclFormat::Emqx,
    };
    let acl = match Acl::parse(text, format) {
        Ok(acl) => acl,
        Err(e) => {
            // Line counting includes a final line without newline.
            assert!(
                e.line >= 1 && e.line <= text.split('\n').count(),
                "error line {} outside the file",
                e.line
            );
            return;
        }
    };
    let ip = std::net::IpAddr::from([127, 0, 0, 1]);
    for topic in ["a/b", "#", "+/x", "$SYS/x", "users/+/x", "users/#", ""] {
        for name in UNSAFE.iter().map(|n| Some(*n)).chain([None]) {
            let who = Requester {
                id: Identity {
                    username: name,
                    clientid: name.unwrap_or("+"),
                },
                ip,
            };
            for action in [Action::Publish, Action::Subscribe] {
                if let Some(rule) = acl.decide(&who, action, topic) {
                    let widened = rule.permission == hookmq_auth::acl::Permission::Allow
                        && !rule.topics.is_empty()
                        && rule.topics.iter().all(|t| t.has_placeholder());
                    assert!(
                        !widened,
                        "allow rule at line {} matched {topic:?} for {name:?} through a placeholder",
                        rule.line
                    );
                }
            }
        }
    }
}
