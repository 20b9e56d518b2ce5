//! `${...}` placeholders in an HTTP source's URL and body, as EMQX writes them: `${clientid}`,
//! `${username}`, `${password}`, `${peerhost}`, `${sockport}`, `${cert_common_name}`,
//! `${topic}`, `${action}`. A template is split once at start; rendering only concatenates.
//! Values go into a JSON body as JSON strings and into a URL percent-encoded, so an identity
//! cannot change the request's shape.

use hookmq_hooks::{Action, ClientInfo};

/// One placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Var {
    ClientId,
    Username,
    Password,
    PeerHost,
    SockPort,
    CertCn,
    Topic,
    Action,
}

const VARS: [(&str, Var); 8] = [
    ("clientid", Var::ClientId),
    ("username", Var::Username),
    ("password", Var::Password),
    ("peerhost", Var::PeerHost),
    ("sockport", Var::SockPort),
    ("cert_common_name", Var::CertCn),
    ("topic", Var::Topic),
    ("action", Var::Action),
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(Var),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template(Vec<Part>);

/// What a request is about.
pub(crate) struct Context<'a> {
    pub(crate) client: &'a ClientInfo,
    /// Authorization only.
    pub(crate) request: Option<(Action, &'a str)>,
}

impl Template {
    /// Parses `text`; an unknown placeholder is an error naming it.
    pub(crate) fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| format!("unclosed placeholder in {text:?}"))?;
            let name = &after[..end];
            let var = VARS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| *v)
                .ok_or_else(|| format!("unknown placeholder ${{{name}}} in {text:?}"))?;
            parts.push(Part::Var(var));
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Template(parts))
    }

    /// Renders with each value passed through `escape`.
    pub(crate) fn render(&self, cx: &Context<'_>, escape: impl Fn(&str) -> String) -> String {
        let c = cx.client;
        let mut out = String::new();
        for part in &self.0 {
            let value: std::borrow::Cow<'_, str> = match part {
                Part::Text(t) => {
                    out.push_str(t);
                    continue;
                }
                Part::Var(Var::ClientId) => (&*c.clientid).into(),
                Part::Var(Var::Username) => c.username.as_deref().unwrap_or("").into(),
                Part::Var(Var::Password) => c
                    .password
                    .as_ref()
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .unwrap_or_default()
                    .into(),
                Part::Var(Var::PeerHost) => c.peerhost().into(),
                Part::Var(Var::SockPort) => c.sockport.to_string().into(),
                Part::Var(Var::CertCn) => c.cn.as_deref().unwrap_or("").into(),
                Part::Var(Var::Topic) => cx.request.map_or("", |(_, t)| t).into(),
                Part::Var(Var::Action) => cx.request.map_or("", |(a, _)| a.name()).into(),
            };
            out.push_str(&escape(&value));
        }
        out
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub(crate) fn url_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_escaping() {
        let t = Template::parse("/auth/${username}?c=${clientid}&a=${action}").unwrap();
        let client = ClientInfo {
            node: Default::default(),
            clientid: "c/1".into(),
            username: Some("a b&c=d".into()),
            password: None,
            peer: "127.0.0.1:5".parse().unwrap(),
            sockport: 1883,
            protocol: hookmq_codec::Protocol::V5,
            mountpoint: None,
            is_superuser: false,
            anonymous: true,
            cn: None,
            dn: None,
            grant: None,
        };
        let cx = Context {
            client: &client,
            request: Some((Action::Publish, "t")),
        };
        assert_eq!(
            t.render(&cx, url_escape),
            "/auth/a%20b%26c%3Dd?c=c%2F1&a=publish"
        );
        assert!(Template::parse("${nope}").is_err());
        assert!(Template::parse("${username").is_err());
    }
}
