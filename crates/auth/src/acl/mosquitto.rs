//! Mosquitto's `acl_file` syntax, read into first-match rules that decide as Mosquitto does:
//!
//! ```text
//! topic read public/#          # before any `user` line: anonymous clients
//! user alice
//! topic readwrite alice/#      # access: read, write, readwrite (the default) or deny
//! pattern write devices/%c/up  # every client; %u user name, %c client id
//! ```
//!
//! Mosquitto checks a client's own `topic` lines first, then the `pattern` lines, and within each
//! list a `deny` line wins over the others; nothing matching is a refusal. Here that becomes:
//! the client's deny lines, its other lines, the pattern deny lines, the other pattern lines,
//! in that order (the source's `no_match` answers the rest; `deny` is the default).

use super::{Access, Permission, Rule, TopicPattern, Who};
use crate::error::LineError;

/// Parses a whole file.
pub(super) fn parse(text: &str) -> Result<Vec<Rule>, LineError> {
    // Sections in file order: (who, deny rules, other rules); patterns kept apart.
    let mut sections: Vec<(Who, Vec<Rule>, Vec<Rule>)> = vec![(Who::Anonymous, vec![], vec![])];
    let (mut pattern_deny, mut pattern_allow) = (Vec::new(), Vec::new());
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (keyword, rest) = line.split_once([' ', '\t']).unwrap_or((line, ""));
        let rest = rest.trim();
        match keyword {
            "user" => {
                if rest.is_empty() {
                    return Err(LineError::new(n, "user without a name"));
                }
                sections.push((
                    Who::Username(super::who::TextMatch::Exact(rest.to_owned())),
                    vec![],
                    vec![],
                ));
            }
            "topic" | "pattern" => {
                let (first, after) = rest.split_once([' ', '\t']).unwrap_or((rest, ""));
                let (access, topic) = match first {
                    "read" => (Some(Access::Subscribe), after.trim()),
                    "write" => (Some(Access::Publish), after.trim()),
                    "readwrite" => (Some(Access::All), after.trim()),
                    "deny" => (None, after.trim()),
                    _ => (Some(Access::All), rest),
                };
                let pattern = keyword == "pattern";
                let topics =
                    vec![TopicPattern::parse(topic, false).map_err(|m| LineError::new(n, m))?];
                if !pattern && topics[0].has_placeholder() {
                    // Mosquitto substitutes only in `pattern` lines; `%u` in a `topic` line is
                    // literal text there, which is never what was meant.
                    return Err(LineError::new(n, "%u / %c only work in `pattern` lines"));
                }
                let rule = Rule {
                    permission: if access.is_some() {
                        Permission::Allow
                    } else {
                        Permission::Deny
                    },
                    who: Who::All,
                    access: access.unwrap_or(Access::All),
                    topics,
                    line: n,
                };
                let (deny, allow) = if pattern {
                    (&mut pattern_deny, &mut pattern_allow)
                } else {
                    let Some(last) = sections.last_mut() else {
                        continue;
                    };
                    (&mut last.1, &mut last.2)
                };
                if rule.permission == Permission::Deny {
                    deny.push(rule);
                } else {
                    allow.push(rule);
                }
            }
            other => {
                return Err(LineError::new(
                    n,
                    format!("unknown keyword {other:?} (user, topic or pattern)"),
                ));
            }
        }
    }
    let mut rules = Vec::new();
    for (who, deny, allow) in sections {
        for mut r in deny.into_iter().chain(allow) {
            r.who = who.clone();
            rules.push(r);
        }
    }
    rules.extend(pattern_deny);
    rules.extend(pattern_allow);
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::super::{Acl, Identity, Requester};
    use crate::config::AclFormat;
    use hookmq_hooks::Action;

    fn allowed(acl: &Acl, user: Option<&str>, action: Action, topic: &str) -> Option<bool> {
        let who = Requester {
            id: Identity {
                username: user,
                clientid: "dev1",
            },
            ip: "127.0.0.1".parse().unwrap(),
        };
        acl.decide(&who, action, topic)
            .map(|r| r.permission == super::Permission::Allow)
    }

    #[test]
    fn mosquitto_semantics() {
        let acl = Acl::parse(
            "# anonymous\ntopic read public/#\n\nuser alice\ntopic alice/#\ntopic deny alice/secret\n\
             topic read shared/+\nuser bob\ntopic write bob/in\n\
             pattern write devices/%c/up\npattern read users/%u/#\n",
            AclFormat::Auto,
        )
        .unwrap();
        use Action::*;
        assert_eq!(allowed(&acl, None, Subscribe, "public/x"), Some(true));
        assert_eq!(allowed(&acl, None, Publish, "public/x"), None);
        assert_eq!(allowed(&acl, Some("alice"), Subscribe, "public/x"), None);
        assert_eq!(allowed(&acl, Some("alice"), Publish, "alice/a"), Some(true));
        // A deny line wins though it comes after the broader grant.
        assert_eq!(
            allowed(&acl, Some("alice"), Publish, "alice/secret"),
            Some(false)
        );
        assert_eq!(allowed(&acl, Some("alice"), Publish, "shared/x"), None);
        assert_eq!(allowed(&acl, Some("bob"), Publish, "bob/in"), Some(true));
        assert_eq!(allowed(&acl, Some("bob"), Publish, "alice/a"), None);
        assert_eq!(
            allowed(&acl, Some("bob"), Publish, "devices/dev1/up"),
            Some(true)
        );
        assert_eq!(allowed(&acl, None, Publish, "devices/dev1/up"), Some(true));
        assert_eq!(
            allowed(&acl, Some("bob"), Subscribe, "users/bob/#"),
            Some(true)
        );
        assert_eq!(allowed(&acl, Some("bob"), Subscribe, "users/+/#"), None);
        // A user name that is a wildcard or several levels fills no pattern.
        assert_eq!(allowed(&acl, Some("+"), Subscribe, "users/+/x"), None);
        assert_eq!(allowed(&acl, Some("#"), Subscribe, "users/#"), None);
        assert_eq!(allowed(&acl, Some("a/b"), Subscribe, "users/a/b/x"), None);
    }

    #[test]
    fn bad_lines_are_named() {
        for (text, line) in [
            ("user alice\ntopic read a/#/b\n", 2),
            ("user\n", 1),
            ("topik read x\n", 1),
            ("topic read users/%u\n", 1),
        ] {
            let e = Acl::parse(text, AclFormat::Mosquitto).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
        }
    }
}
