//! EMQX's `acl.conf`: Erlang terms, one rule per term, tried in order (EMQX 4.x and 5.x):
//!
//! ```text
//! %% comment
//! {allow, {username, "dashboard"}, subscribe, ["$SYS/#"]}.
//! {allow, {ipaddr, "127.0.0.1"}, all, ["$SYS/#", "#"]}.
//! {allow, all, all, ["users/%u/#", "devices/${clientid}/#"]}.
//! {deny, all, subscribe, ["$SYS/#", {eq, "#"}]}.
//! {allow, all}.
//! ```
//!
//! Who: `all`, `{user|username, "x" | {re, "..."}}`, `{client|clientid, ...}`,
//! `{ipaddr, "cidr"}`, `{ipaddrs, [...]}`, `{'and', [...]}`, `{'or', [...]}`. Action:
//! `publish`, `subscribe`, `pubsub` or `all`; EMQX 5's qos/retain conditions are refused (the
//! authorization event does not carry them, and ignoring them would widen an allow rule).

use super::who::{IpRange, TextMatch};
use super::{Access, Permission, Rule, TopicPattern, Who};
use crate::error::LineError;

/// How deep terms may nest (rules need four levels; the bound keeps hostile files cheap).
const MAX_DEPTH: usize = 16;

/// An Erlang term, as far as ACL files use them.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    Atom(String),
    Str(String),
    Int(i64),
    Tuple(Vec<Term>),
    List(Vec<Term>),
}

struct Lexer<'a> {
    text: &'a [u8],
    pos: usize,
    line: usize,
}

impl Lexer<'_> {
    fn err(&self, m: impl Into<String>) -> LineError {
        LineError::new(self.line, m)
    }

    /// Skips blanks and `%` comments.
    fn skip(&mut self) {
        while let Some(&c) = self.text.get(self.pos) {
            match c {
                b'\n' => {
                    self.line += 1;
                    self.pos += 1;
                }
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'%' => {
                    while self.text.get(self.pos).is_some_and(|&c| c != b'\n') {
                        self.pos += 1;
                    }
                }
                _ => return,
            }
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip();
        self.text.get(self.pos).copied()
    }

    fn expect(&mut self, c: u8) -> Result<(), LineError> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(format!("expected '{}'", c as char)))
        }
    }

    fn quoted(&mut self, quote: u8) -> Result<String, LineError> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.text.get(self.pos) else {
                return Err(self.err("unterminated string"));
            };
            self.pos += 1;
            match c {
                b'\\' => {
                    let Some(&e) = self.text.get(self.pos) else {
                        return Err(self.err("unterminated string"));
                    };
                    self.pos += 1;
                    out.push(match e {
                        b'n' => b'\n',
                        b't' => b'\t',
                        other => other,
                    });
                }
                b'\n' => {
                    self.line += 1;
                    out.push(c);
                }
                c if c == quote => break,
                c => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|_| self.err("string is not UTF-8"))
    }

    fn term(&mut self, depth: usize) -> Result<Term, LineError> {
        if depth > MAX_DEPTH {
            return Err(self.err("terms nested too deep"));
        }
        match self.peek() {
            Some(open @ (b'{' | b'[')) => {
                self.pos += 1;
                let close = if open == b'{' { b'}' } else { b']' };
                let mut items = Vec::new();
                if self.peek() == Some(close) {
                    self.pos += 1;
                } else {
                    loop {
                        items.push(self.term(depth + 1)?);
                        match self.peek() {
                            Some(b',') => self.pos += 1,
                            Some(c) if c == close => {
                                self.pos += 1;
                                break;
                            }
                            _ => {
                                return Err(
                                    self.err(format!("expected ',' or '{}'", close as char))
                                );
                            }
                        }
                    }
                }
                Ok(if open == b'{' {
                    Term::Tuple(items)
                } else {
                    Term::List(items)
                })
            }
            Some(b'"') => self.quoted(b'"').map(Term::Str),
            Some(b'\'') => self.quoted(b'\'').map(Term::Atom),
            Some(c) if c.is_ascii_lowercase() => {
                let start = self.pos;
                while self
                    .text
                    .get(self.pos)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'@')
                {
                    self.pos += 1;
                }
                Ok(Term::Atom(
                    String::from_utf8_lossy(&self.text[start..self.pos]).into_owned(),
                ))
            }
            Some(c) if c.is_ascii_digit() || c == b'-' => {
                let start = self.pos;
                self.pos += 1;
                while self.text.get(self.pos).is_some_and(u8::is_ascii_digit) {
                    self.pos += 1;
                }
                let s = String::from_utf8_lossy(&self.text[start..self.pos]).into_owned();
                s.parse()
                    .map(Term::Int)
                    .map_err(|_| self.err(format!("bad number {s:?}")))
            }
            Some(c) => Err(self.err(format!("unexpected '{}'", c as char))),
            None => Err(self.err("unexpected end of file")),
        }
    }
}

fn text_match(t: &Term) -> Result<TextMatch, String> {
    match t {
        Term::Str(s) => Ok(TextMatch::Exact(s.clone())),
        Term::Tuple(v) if matches!(v.as_slice(), [Term::Atom(a), Term::Str(_)] if a == "re") => {
            match &v[1] {
                Term::Str(re) => TextMatch::regex(re),
                _ => Err("bad {re, ...}".into()),
            }
        }
        other => Err(format!(
            "expected a string or {{re, \"...\"}}, got {other:?}"
        )),
    }
}

fn who(t: &Term) -> Result<Who, String> {
    match t {
        Term::Atom(a) if a == "all" => Ok(Who::All),
        Term::Tuple(v) if v.len() == 2 => {
            let Term::Atom(kind) = &v[0] else {
                return Err(format!("bad who {t:?}"));
            };
            match (kind.as_str(), &v[1]) {
                ("user" | "username", m) => Ok(Who::Username(text_match(m)?)),
                ("client" | "clientid", m) => Ok(Who::ClientId(text_match(m)?)),
                ("ipaddr", Term::Str(s)) => Ok(Who::Ip(vec![IpRange::parse(s)?])),
                ("ipaddrs", Term::List(l)) => Ok(Who::Ip(
                    l.iter()
                        .map(|x| match x {
                            Term::Str(s) => IpRange::parse(s),
                            other => Err(format!("bad address {other:?}")),
                        })
                        .collect::<Result<_, _>>()?,
                )),
                ("and" | "or", Term::List(l)) => {
                    let all = l.iter().map(who).collect::<Result<Vec<_>, _>>()?;
                    Ok(if kind == "and" {
                        Who::And(all)
                    } else {
                        Who::Or(all)
                    })
                }
                _ => Err(format!("unknown who {t:?}")),
            }
        }
        other => Err(format!("unknown who {other:?}")),
    }
}

fn access(t: &Term) -> Result<Access, String> {
    match t {
        Term::Atom(a) => match a.as_str() {
            "publish" => Ok(Access::Publish),
            "subscribe" => Ok(Access::Subscribe),
            "pubsub" | "all" => Ok(Access::All),
            other => Err(format!("unknown action {other:?}")),
        },
        Term::Tuple(_) => Err("qos / retain conditions on actions are not supported".into()),
        other => Err(format!("unknown action {other:?}")),
    }
}

fn topics(t: &Term) -> Result<Vec<TopicPattern>, String> {
    let Term::List(items) = t else {
        return Err("topics must be a list".into());
    };
    items
        .iter()
        .map(|i| match i {
            Term::Str(s) => TopicPattern::parse(s, false),
            Term::Tuple(v) => match v.as_slice() {
                [Term::Atom(eq), Term::Str(s)] if eq == "eq" => TopicPattern::parse(s, true),
                _ => Err(format!("bad topic {i:?}")),
            },
            other => Err(format!("bad topic {other:?}")),
        })
        .collect()
}

fn permission(t: &Term) -> Result<Permission, String> {
    match t {
        Term::Atom(a) if a == "allow" => Ok(Permission::Allow),
        Term::Atom(a) if a == "deny" => Ok(Permission::Deny),
        other => Err(format!("expected allow or deny, got {other:?}")),
    }
}

fn rule(t: &Term, line: usize) -> Result<Rule, String> {
    match t {
        Term::Tuple(v) if v.len() == 2 && v[1] == Term::Atom("all".into()) => Ok(Rule {
            permission: permission(&v[0])?,
            who: Who::All,
            access: Access::All,
            topics: Vec::new(),
            line,
        }),
        Term::Tuple(v) if v.len() == 4 => Ok(Rule {
            permission: permission(&v[0])?,
            who: who(&v[1])?,
            access: access(&v[2])?,
            topics: topics(&v[3])?,
            line,
        }),
        _ => Err("a rule is {Permission, Who, Action, Topics} or {Permission, all}".into()),
    }
}

/// Parses a whole file.
pub(super) fn parse(text: &str) -> Result<Vec<Rule>, LineError> {
    let mut lx = Lexer {
        text: text.as_bytes(),
        pos: 0,
        line: 1,
    };
    let mut rules = Vec::new();
    while lx.peek().is_some() {
        let line = lx.line;
        // Errors name the line the rule starts on (and where inside it, if elsewhere).
        let at_rule = |e: LineError| {
            let message = if e.line == line {
                e.message
            } else {
                format!("{} (line {})", e.message, e.line)
            };
            LineError::new(line, message)
        };
        let term = lx.term(0).map_err(at_rule)?;
        lx.expect(b'.').map_err(at_rule)?;
        rules.push(rule(&term, line).map_err(|m| LineError::new(line, m))?);
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::super::{Acl, Identity, Requester};
    use crate::config::AclFormat;
    use hookmq_hooks::Action::{self, *};

    fn decide(
        acl: &Acl,
        user: Option<&str>,
        cid: &str,
        ip: &str,
        a: Action,
        t: &str,
    ) -> Option<bool> {
        let who = Requester {
            id: Identity {
                username: user,
                clientid: cid,
            },
            ip: ip.parse().unwrap(),
        };
        acl.decide(&who, a, t)
            .map(|r| r.permission == super::Permission::Allow)
    }

    #[test]
    fn emqx_rules_first_match() {
        let acl = Acl::parse(
            "%% EMQX default-like rules\n\
             {allow, {username, {re, \"^dashboard$\"}}, subscribe, [\"$SYS/#\"]}.\n\
             {allow, {ipaddr, \"127.0.0.1\"}, all, [\"$SYS/#\", \"#\"]}.\n\
             {deny, {'and', [{clientid, \"evil\"}, {ipaddrs, [\"10.0.0.0/8\"]}]}, all, [\"#\"]}.\n\
             {allow, all, pubsub, [\"users/%u/#\", \"dev/${clientid}/#\"]}.\n\
             {deny, all, subscribe, [\"$SYS/#\", {eq, \"#\"}]}.\n\
             {allow, all}.\n",
            AclFormat::Auto,
        )
        .unwrap();
        assert_eq!(acl.rules.len(), 6);
        let far = "10.1.2.3";
        assert_eq!(
            decide(&acl, Some("dashboard"), "c", far, Subscribe, "$SYS/x"),
            Some(true)
        );
        assert_eq!(
            decide(&acl, Some("u"), "c", "127.0.0.1", Subscribe, "#"),
            Some(true)
        );
        assert_eq!(
            decide(&acl, Some("u"), "c", far, Subscribe, "#"),
            Some(false)
        );
        assert_eq!(
            decide(&acl, Some("u"), "c", far, Subscribe, "a/#"),
            Some(true)
        );
        assert_eq!(
            decide(&acl, Some("u"), "evil", far, Publish, "a"),
            Some(false)
        );
        assert_eq!(
            decide(&acl, Some("u"), "evil", "192.168.1.1", Publish, "a"),
            Some(true)
        );
        assert_eq!(
            decide(&acl, Some("u"), "c", far, Subscribe, "users/u/#"),
            Some(true)
        );
        assert_eq!(
            decide(&acl, Some("u"), "c9", far, Publish, "dev/c9/x"),
            Some(true)
        );
        assert_eq!(
            decide(&acl, Some("u"), "c", far, Subscribe, "$SYS/brokers"),
            Some(false)
        );
    }

    #[test]
    fn identity_cannot_widen_a_placeholder_rule() {
        let acl = Acl::parse(
            "{allow, all, all, [\"users/%u/#\"]}.\n{deny, all, all, [\"private/%c/#\"]}.\n\
             {allow, all, publish, [\"private/#\"]}.\n",
            AclFormat::Emqx,
        )
        .unwrap();
        let ip = "10.0.0.1";
        for bad in ["+", "#", "a/b", ""] {
            assert_eq!(
                decide(&acl, Some(bad), "c", ip, Subscribe, "users/+/x"),
                None,
                "{bad:?}"
            );
            assert_eq!(decide(&acl, Some(bad), "c", ip, Subscribe, "users/#"), None);
            // A deny rule whose placeholder cannot be filled denies: fail closed.
            assert_eq!(
                decide(&acl, None, bad, ip, Publish, "private/x/y"),
                Some(false)
            );
        }
        assert_eq!(
            decide(&acl, None, "ok", ip, Publish, "private/x/y"),
            Some(true)
        );
        assert_eq!(
            decide(&acl, None, "ok", ip, Publish, "private/ok/y"),
            Some(false)
        );
    }

    #[test]
    fn bad_terms_are_named_by_line() {
        for (text, line) in [
            ("{allow, all}.\n{allow, all, publish}.\n", 2),
            ("{allow, all, {publish, [{qos, 1}]}, [\"t\"]}.\n", 1),
            ("\n\n{allow, {ipaddr, \"1.2.3.4/40\"}, all, [\"#\"]}.\n", 3),
            ("{allow, all, all, [\"a/#/b\"]}.", 1),
            ("{allow, all, all, [\"x\"]}", 1),
            ("{allow, all, all, [\"unterminated]}.", 1),
            ("{maybe, all}.", 1),
            (
                "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]].",
                1,
            ),
        ] {
            let e = Acl::parse(text, AclFormat::Emqx).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
        }
    }
}
