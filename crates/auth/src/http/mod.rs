//! The HTTP sources, EMQX-style: `client.authenticate` and/or `client.authorize` ask a URL.
//! The request is built from templates (`${clientid}`, `${username}`, `${password}`,
//! `${peerhost}`, `${topic}`, `${action}`, ...) as a JSON body (POST) or query parameters (GET);
//! the answer is read as EMQX 5 defines it: 200 with `{"result": "allow" | "deny" | "ignore",
//! "is_superuser": bool, "expire_at": seconds}`, or 204 for allow. Anything else (another
//! status, an unreadable body, a timeout, no connection) is a failure, which the chain turns
//! into the configured `failed_action`.
//!
//! One pooled client (keep-alive connections, HTTP/1.1 or HTTP/2, rustls) serves the source;
//! answers may be cached for `cache_ttl`, keyed by a SHA-256 of the rendered request (so the
//! cache holds no passwords).

mod cache;
mod template;

use std::collections::BTreeMap;
use std::sync::Arc;

use hookmq_codec::ReasonCode;
use hookmq_hooks::{AuthResult, Event, Grant, Handler, HookError, HookFuture, Value, Verdict};
use serde_json::Value as Json;

pub(crate) use cache::Cache;
use template::{Context, Template, url_escape};

use crate::config::HttpConfig;

/// Which hook point the source answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// `client.authenticate`.
    Authn,
    /// `client.authorize`.
    Authz,
}

/// A prepared request: what a call renders and sends.
struct Request {
    get: bool,
    url: Template,
    headers: Vec<(String, String)>,
    body: Vec<(String, Template)>,
}

/// One HTTP source.
pub(crate) struct HttpSource {
    role: Role,
    client: reqwest::Client,
    request: Arc<Request>,
    cache: Option<Arc<Cache<Verdict>>>,
}

/// Builds the pooled client shared by a source (and the JWKS fetcher).
pub(crate) fn client(timeout: std::time::Duration, pool: usize) -> Result<reqwest::Client, String> {
    // reqwest is built without a crypto provider of its own: use the workspace's (ring).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .pool_max_idle_per_host(pool)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

impl HttpSource {
    /// Prepares the source; `key` names the config table in errors.
    pub(crate) fn new(role: Role, cfg: &HttpConfig, key: &str) -> Result<HttpSource, String> {
        let get = match cfg.method.to_ascii_lowercase().as_str() {
            "get" => true,
            "post" => false,
            other => return Err(format!("{key}.method: {other:?} (get or post)")),
        };
        let url = Template::parse(&cfg.url).map_err(|m| format!("{key}.url: {m}"))?;
        if !(cfg.url.starts_with("http://") || cfg.url.starts_with("https://")) {
            return Err(format!("{key}.url: {:?} is not an http(s) URL", cfg.url));
        }
        let body = cfg
            .body
            .iter()
            .map(|(k, v)| Ok((k.clone(), Template::parse(v)?)))
            .collect::<Result<Vec<_>, String>>()
            .map_err(|m| format!("{key}.body: {m}"))?;
        let headers: BTreeMap<String, String> = cfg.headers.clone();
        Ok(HttpSource {
            role,
            client: client(cfg.timeout.0, cfg.pool_size)?,
            request: Arc::new(Request {
                get,
                url,
                headers: headers.into_iter().collect(),
                body,
            }),
            cache: (!cfg.cache_ttl.0.is_zero())
                .then(|| Arc::new(Cache::new(cfg.cache_ttl.0, cfg.cache_max))),
        })
    }
}

/// Reads EMQX 5's answer.
fn verdict(role: Role, status: u16, body: &[u8]) -> Result<Verdict, HookError> {
    if status == 204 {
        return Ok(match role {
            Role::Authn => Verdict::Stop(Value::Auth(AuthResult::Allow { superuser: false })),
            Role::Authz => Verdict::Stop(Value::Allow(true)),
        });
    }
    if status != 200 {
        return Err(HookError::Failed(format!("HTTP status {status}")));
    }
    let json: Json = serde_json::from_slice(body)
        .map_err(|e| HookError::BadReply(format!("body is not JSON: {e}")))?;
    let result = json.get("result").and_then(Json::as_str);
    Ok(match (role, result) {
        (_, Some("ignore")) => Verdict::Ignore,
        (Role::Authn, Some("allow")) => {
            let superuser = json
                .get("is_superuser")
                .is_some_and(|v| v.as_bool() == Some(true) || v.as_str() == Some("true"));
            let expire_at_ms = json
                .get("expire_at")
                .and_then(Json::as_u64)
                .map(|s| s.saturating_mul(1000));
            Verdict::Stop(Value::Grant(Grant {
                superuser,
                expire_at_ms,
                ..Grant::default()
            }))
        }
        (Role::Authn, Some("deny")) => {
            Verdict::Stop(Value::Auth(AuthResult::Deny(ReasonCode::NOT_AUTHORIZED)))
        }
        (Role::Authz, Some("allow")) => Verdict::Stop(Value::Allow(true)),
        (Role::Authz, Some("deny")) => Verdict::Stop(Value::Allow(false)),
        (_, other) => {
            return Err(HookError::BadReply(format!(
                "result {other:?} (allow, deny or ignore)"
            )));
        }
    })
}

impl Handler for HttpSource {
    fn call(&self, event: Arc<Event>) -> HookFuture {
        let (client, request) = match (&*event, self.role) {
            (Event::ClientAuthenticate { clientinfo, .. }, Role::Authn) => (clientinfo, None),
            (
                Event::ClientAuthorize {
                    clientinfo,
                    action,
                    topic,
                    ..
                },
                Role::Authz,
            ) => (clientinfo, Some((*action, topic.as_ref()))),
            _ => return Box::pin(std::future::ready(Ok(Verdict::Ignore))),
        };
        let cx = Context { client, request };
        let r = &self.request;
        let mut url = r.url.render(&cx, url_escape);
        let fields: serde_json::Map<String, Json> = r
            .body
            .iter()
            .map(|(k, t)| (k.clone(), Json::String(t.render(&cx, str::to_owned))))
            .collect();
        let body = if r.get {
            let query: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{}={}", url_escape(k), url_escape(v.as_str().unwrap_or(""))))
                .collect();
            if !query.is_empty() {
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str(&query.join("&"));
            }
            Vec::new()
        } else {
            serde_json::to_vec(&Json::Object(fields)).unwrap_or_default()
        };
        let key = self
            .cache
            .as_ref()
            .map(|_| Cache::<Verdict>::key(&url, &body));
        if let (Some(cache), Some(key)) = (&self.cache, &key)
            && let Some(v) = cache.get(key, std::time::Instant::now())
        {
            return Box::pin(std::future::ready(Ok(v)));
        }
        let mut req = if r.get {
            self.client.get(&url)
        } else {
            self.client
                .post(&url)
                .header("content-type", "application/json")
                .body(body)
        };
        for (k, v) in &r.headers {
            req = req.header(k, v);
        }
        let (role, cache) = (self.role, self.cache.clone());
        Box::pin(async move {
            let resp = req.send().await.map_err(|e| {
                if e.is_timeout() {
                    HookError::Timeout
                } else {
                    HookError::Unavailable(e.to_string())
                }
            })?;
            let status = resp.status().as_u16();
            let bytes = resp
                .bytes()
                .await
                .map_err(|e| HookError::Unavailable(e.to_string()))?;
            let v = verdict(role, status, &bytes)?;
            if let (Some(cache), Some(key)) = (cache, key) {
                cache.put(key, v.clone(), std::time::Instant::now());
            }
            Ok(v)
        })
    }
}
