//! Topic templates: a topic prefix or topic with `${clientid}` and `${username}` placeholders
//! that the broker fills in with a client's identity (listener mount points; anything else that
//! puts identity into a topic must use [`expand`] too).
//!
//! The client chooses its identity, so a value that would change what the topic matches is
//! refused rather than escaped (MQTT has no escaping): `+`, `#` (a user named `+` with mount
//! point `t/${username}/` would subscribe under `t/+/`, every tenant: the CVE-2017-7650 class),
//! U+0000 (not allowed in a topic, [MQTT-4.7.3-2]; it can arrive from a certificate's CN/DN),
//! `/` unless allowed (user `a/b` would land in user `a`'s subtree), an empty value (every
//! nameless client would share one subtree), and a leading `$` where the value starts the topic
//! (`$SYS/...` is the broker's, `$share/...` a shared subscription, [MQTT-4.7.2-1]).

use std::fmt;

/// The placeholders a template may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// `${clientid}`.
    ClientId,
    /// `${username}`.
    Username,
}

impl Placeholder {
    const ALL: [Placeholder; 2] = [Placeholder::ClientId, Placeholder::Username];

    /// The text in a template, e.g. `${clientid}`.
    pub fn text(self) -> &'static str {
        match self {
            Placeholder::ClientId => "${clientid}",
            Placeholder::Username => "${username}",
        }
    }
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

/// Why an identity cannot be put into a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The value is missing or empty.
    #[error("{0} is empty")]
    Empty(Placeholder),
    /// The value holds a character that would change the topic's meaning.
    #[error("{0} contains {1}")]
    Forbidden(Placeholder, &'static str),
    /// The value would start the topic with `$`.
    #[error("{0} would start the topic with '$'")]
    LeadingDollar(Placeholder),
}

/// The identity a template is filled with.
#[derive(Debug, Clone, Copy)]
pub struct Identity<'a> {
    /// Client identifier.
    pub clientid: &'a str,
    /// User name, if any.
    pub username: Option<&'a str>,
    /// Whether a value may contain `/` (`mqtt.topic_template_allow_slash`).
    pub allow_slash: bool,
}

impl Identity<'_> {
    fn value(&self, p: Placeholder) -> Option<&str> {
        match p {
            Placeholder::ClientId => Some(self.clientid),
            Placeholder::Username => self.username,
        }
    }
}

/// Whether `template` holds any placeholder (then [`expand`] may refuse a client).
pub fn has_placeholder(template: &str) -> bool {
    Placeholder::ALL.iter().any(|p| template.contains(p.text()))
}

/// `template` with every placeholder replaced by `who`'s value, or why a value cannot go into a
/// topic. Text outside the placeholders is the operator's and is kept as it is.
pub fn expand(template: &str, who: &Identity<'_>) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        let Some(p) = Placeholder::ALL
            .into_iter()
            .find(|p| rest[start..].starts_with(p.text()))
        else {
            // Not one of ours: literal text.
            out.push_str(&rest[..start + 2]);
            rest = &rest[start + 2..];
            continue;
        };
        out.push_str(&rest[..start]);
        let value = who.value(p).unwrap_or("");
        check(p, value, who.allow_slash, out.is_empty())?;
        out.push_str(value);
        rest = &rest[start + p.text().len()..];
    }
    out.push_str(rest);
    Ok(out)
}

fn check(
    p: Placeholder,
    value: &str,
    allow_slash: bool,
    at_start: bool,
) -> Result<(), TemplateError> {
    if value.is_empty() {
        return Err(TemplateError::Empty(p));
    }
    for (c, name) in [('+', "'+'"), ('#', "'#'"), ('\0', "U+0000")] {
        if value.contains(c) {
            return Err(TemplateError::Forbidden(p, name));
        }
    }
    if !allow_slash && value.contains('/') {
        return Err(TemplateError::Forbidden(p, "'/'"));
    }
    // [MQTT-4.7.2-1] topics starting with '$' are not the clients' to name.
    if at_start && value.starts_with('$') {
        return Err(TemplateError::LeadingDollar(p));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who<'a>(clientid: &'a str, username: Option<&'a str>) -> Identity<'a> {
        Identity {
            clientid,
            username,
            allow_slash: false,
        }
    }

    #[test]
    fn placeholders_are_replaced_and_other_text_kept() {
        let w = who("dev1", Some("alice"));
        assert_eq!(
            expand("t/${username}/${clientid}/", &w).unwrap(),
            "t/alice/dev1/"
        );
        assert_eq!(
            expand("${clientid}/x/${other}/", &w).unwrap(),
            "dev1/x/${other}/"
        );
        assert_eq!(expand("plain/", &w).unwrap(), "plain/");
        assert!(!has_placeholder("plain/${other}"));
        assert!(has_placeholder("a/${username}"));
    }

    #[test]
    fn identities_that_change_the_topic_are_refused() {
        let t = "t/${username}/";
        for (name, err) in [
            ("+", TemplateError::Forbidden(Placeholder::Username, "'+'")),
            ("#", TemplateError::Forbidden(Placeholder::Username, "'#'")),
            (
                "a#b",
                TemplateError::Forbidden(Placeholder::Username, "'#'"),
            ),
            (
                "a/b",
                TemplateError::Forbidden(Placeholder::Username, "'/'"),
            ),
            (
                "cn\0x",
                TemplateError::Forbidden(Placeholder::Username, "U+0000"),
            ),
            ("", TemplateError::Empty(Placeholder::Username)),
        ] {
            assert_eq!(expand(t, &who("c", Some(name))), Err(err), "{name:?}");
        }
        assert_eq!(
            expand(t, &who("c", None)),
            Err(TemplateError::Empty(Placeholder::Username))
        );
        // '$' is harmless inside a topic, not at its start.
        assert_eq!(expand(t, &who("c", Some("$SYS"))).unwrap(), "t/$SYS/");
        for id in ["$SYS", "$share"] {
            assert_eq!(
                expand("${clientid}/", &who(id, None)),
                Err(TemplateError::LeadingDollar(Placeholder::ClientId))
            );
        }
    }

    #[test]
    fn slash_is_refused_unless_allowed() {
        let mut w = who("a/b", None);
        assert!(expand("d/${clientid}/", &w).is_err());
        w.allow_slash = true;
        assert_eq!(expand("d/${clientid}/", &w).unwrap(), "d/a/b/");
        assert!(
            expand(
                "d/${clientid}/",
                &Identity {
                    clientid: "a/+",
                    ..w
                }
            )
            .is_err()
        );
    }
}
