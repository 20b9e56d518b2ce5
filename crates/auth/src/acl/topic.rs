//! Topic patterns of ACL rules and how a request meets them.
//!
//! A pattern is kept as levels, and identity placeholders (`%u`, `%c`, `${username}`,
//! `${clientid}`) are substituted per level, never into the text before splitting: a user named
//! `+`, `#` or `a/b` cannot turn `users/%u/#` into a wider filter (the CVE-2017-7650 class). An
//! identity that is empty, absent, holds `/`, `+`, `#` or U+0000, or starts with `$` (which
//! would turn `%u/#` into `$SYS/#`) cannot fill a placeholder:
//! an allow rule that needs it does not match, and a deny rule that needs it matches (fails
//! closed).
//!
//! A PUBLISH topic matches a pattern as MQTT matches a name against a filter. A SUBSCRIBE
//! filter must be *covered* by the pattern (every topic the filter can match, the pattern
//! matches too): `a/+` covers `a/b` and `a/+` but not `a/#`. Wildcard-first patterns never
//! reach `$`-topics ([MQTT-4.7.2-1]).

/// One level of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Level {
    /// Text without placeholders.
    Literal(String),
    /// `+`.
    Plus,
    /// `#` (last level only).
    Hash,
    /// Text with placeholders, split into pieces.
    Template(Vec<Piece>),
}

/// A piece of a templated level.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Username,
    ClientId,
}

/// A rule's topic: a filter with placeholders, or (`eq`) an exact text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicPattern {
    levels: Vec<Level>,
    /// Match the request's text exactly, wildcards included (EMQX's `{eq, "#"}`).
    exact: bool,
}

/// Who asks: the identity placeholders stand for.
#[derive(Debug, Clone, Copy)]
pub struct Identity<'a> {
    /// The client's user name.
    pub username: Option<&'a str>,
    /// The client identifier.
    pub clientid: &'a str,
}

/// Whether `id` can stand for one topic level.
fn safe(id: Option<&str>) -> Option<&str> {
    id.filter(|s| !s.is_empty() && !s.starts_with('$') && !s.contains(['/', '+', '#', '\0']))
}

fn pieces(level: &str) -> Vec<Piece> {
    const MARKS: [(&str, Piece); 4] = [
        ("%u", Piece::Username),
        ("%c", Piece::ClientId),
        ("${username}", Piece::Username),
        ("${clientid}", Piece::ClientId),
    ];
    let mut out = Vec::new();
    let mut rest = level;
    let mut text = String::new();
    'outer: while !rest.is_empty() {
        for (mark, piece) in &MARKS {
            if let Some(after) = rest.strip_prefix(mark) {
                if !text.is_empty() {
                    out.push(Piece::Text(std::mem::take(&mut text)));
                }
                out.push(piece.clone());
                rest = after;
                continue 'outer;
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            text.push(c);
        }
        rest = chars.as_str();
    }
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    out
}

impl TopicPattern {
    /// Reads a pattern; `exact` for EMQX's `{eq, ...}`.
    pub fn parse(text: &str, exact: bool) -> Result<TopicPattern, String> {
        if text.is_empty() {
            return Err("empty topic".into());
        }
        if text.contains('\0') {
            return Err("topic contains U+0000".into());
        }
        let parts: Vec<&str> = text.split('/').collect();
        let mut levels = Vec::with_capacity(parts.len());
        for (i, part) in parts.iter().enumerate() {
            let level = match *part {
                "+" if !exact => Level::Plus,
                "#" if !exact && i + 1 == parts.len() => Level::Hash,
                p if !exact && p.contains(['+', '#']) => {
                    return Err(format!("topic {text:?}: wildcard inside a level"));
                }
                p => {
                    let pieces = pieces(p);
                    if pieces.iter().all(|x| matches!(x, Piece::Text(_))) {
                        Level::Literal((*p).to_owned())
                    } else {
                        Level::Template(pieces)
                    }
                }
            };
            levels.push(level);
        }
        Ok(TopicPattern { levels, exact })
    }

    /// Whether the pattern names a placeholder.
    pub fn has_placeholder(&self) -> bool {
        self.levels.iter().any(|l| matches!(l, Level::Template(_)))
    }

    /// The level text for `id`, or `None` if the identity cannot fill it.
    fn render(pieces: &[Piece], id: Identity<'_>) -> Option<String> {
        let mut out = String::new();
        for p in pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Username => out.push_str(safe(id.username)?),
                Piece::ClientId => out.push_str(safe(Some(id.clientid))?),
            }
        }
        Some(out)
    }

    /// Whether a request for `topic` (a name for publish, a filter for subscribe) falls under
    /// this pattern. `None`: the identity cannot fill a placeholder.
    pub fn covers(&self, topic: &str, id: Identity<'_>) -> Option<bool> {
        let mut want: Vec<std::borrow::Cow<'_, Level>> = Vec::with_capacity(self.levels.len());
        for l in &self.levels {
            want.push(match l {
                Level::Template(p) => std::borrow::Cow::Owned(Level::Literal(Self::render(p, id)?)),
                other => std::borrow::Cow::Borrowed(other),
            });
        }
        if self.exact {
            let text: Vec<&str> = want
                .iter()
                .map(|l| match &**l {
                    Level::Literal(s) => s.as_str(),
                    _ => "",
                })
                .collect();
            return Some(text.join("/") == topic);
        }
        let req: Vec<&str> = topic.split('/').collect();
        // [MQTT-4.7.2-1] a leading wildcard does not match a topic starting with `$`.
        if req[0].starts_with('$') && matches!(&*want[0], Level::Plus | Level::Hash) {
            return Some(false);
        }
        let mut i = 0;
        for level in &want {
            match &**level {
                Level::Hash => return Some(true),
                _ if i >= req.len() => return Some(false),
                Level::Plus => {
                    if req[i] == "#" {
                        return Some(false);
                    }
                }
                Level::Literal(s) => {
                    if req[i] != s {
                        return Some(false);
                    }
                }
                Level::Template(_) => return Some(false),
            }
            i += 1;
        }
        Some(i == req.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id<'a>(u: Option<&'a str>, c: &'a str) -> Identity<'a> {
        Identity {
            username: u,
            clientid: c,
        }
    }

    fn covers(p: &str, t: &str) -> bool {
        TopicPattern::parse(p, false)
            .unwrap()
            .covers(t, id(Some("alice"), "c1"))
            .unwrap()
    }

    #[test]
    fn names_and_filters_against_patterns() {
        assert!(covers("a/#", "a"));
        assert!(covers("a/#", "a/b/c"));
        assert!(covers("a/#", "a/+/c"));
        assert!(covers("a/#", "a/#"));
        assert!(!covers("a/+", "a/#"));
        assert!(covers("a/+", "a/+"));
        assert!(covers("a/+", "a/b"));
        assert!(!covers("a/+", "a/b/c"));
        assert!(!covers("a/b", "a/+"));
        assert!(!covers("a/b", "a/#"));
        assert!(!covers("#", "$SYS/x"));
        assert!(!covers("+/x", "$SYS/x"));
        assert!(covers("$SYS/#", "$SYS/x"));
        assert!(covers("#", "x/y"));
        assert!(covers("a//b", "a//b"));
        assert!(!covers("a/b", "a/b/"));
    }

    #[test]
    fn placeholders_take_the_identity_as_one_level() {
        let p = TopicPattern::parse("users/%u/#", false).unwrap();
        assert_eq!(
            p.covers("users/alice/x", id(Some("alice"), "c")),
            Some(true)
        );
        assert_eq!(p.covers("users/bob/x", id(Some("alice"), "c")), Some(false));
        let p = TopicPattern::parse("d/${clientid}-in", false).unwrap();
        assert_eq!(p.covers("d/c1-in", id(None, "c1")), Some(true));
        // Identities that would widen the rule, or leave a level empty, fill nothing.
        let p = TopicPattern::parse("users/%u/#", false).unwrap();
        for bad in ["+", "#", "a/b", "", "x\0y", "$SYS"] {
            assert_eq!(p.covers("users/+/x", id(Some(bad), "c")), None, "{bad:?}");
            assert_eq!(
                p.covers(&format!("users/{bad}/x"), id(Some(bad), "c")),
                None
            );
        }
        assert_eq!(p.covers("users/x", id(None, "c")), None);
    }

    #[test]
    fn exact_patterns_and_bad_patterns() {
        let eq = TopicPattern::parse("#", true).unwrap();
        assert_eq!(eq.covers("#", id(None, "c")), Some(true));
        assert_eq!(eq.covers("a", id(None, "c")), Some(false));
        for bad in ["", "a/#/b", "a+/b", "a/b#", "x\0"] {
            assert!(TopicPattern::parse(bad, false).is_err(), "{bad:?}");
        }
    }
}
