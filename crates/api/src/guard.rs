//! What every response and request of the API listener goes through besides the token:
//! security headers (a strict Content-Security-Policy, no sniffing, no framing, no referrer),
//! and refusal of cross-site state changes and of DNS-rebound requests.
//!
//! The API sends no CORS headers, so browsers keep other sites from reading it. Writes are
//! guarded twice: with a token, a request needs the `Authorization` header, which a cross-site
//! page cannot send; with or without one, a write whose `Origin` is not the listener's own
//! address, or that the browser marks `Sec-Fetch-Site: cross-site`, is refused with 403. Without
//! a token (the API then only belongs on loopback), a request whose `Host` is a name other than
//! `localhost` is refused too, so a rebinding DNS name cannot turn another site into "same
//! origin".

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::ApiState;

/// The dashboard's Content-Security-Policy: its own scripts, styles and API only.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn refuse(status: StatusCode, why: &str) -> Response {
    (status, axum::Json(json!({ "error": why }))).into_response()
}

/// Whether `host` (a `Host` header value) names the listener by address or as `localhost`.
fn literal_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => {
            return v6
                .split(']')
                .next()
                .is_some_and(|a| a.parse::<std::net::Ipv6Addr>().is_ok());
        }
        None => host.rsplit_once(':').map_or(host, |(n, _)| n),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::Ipv4Addr>().is_ok()
}

/// The checks and headers around every request.
pub(crate) async fn guard(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if state.token.is_none() && !host.is_empty() && !literal_host(host) {
        return refuse(
            StatusCode::FORBIDDEN,
            "without [api] token only localhost or an IP address may be used as the host",
        );
    }
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if writes {
        let cross_site = headers
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes() == b"cross-site");
        let foreign_origin = headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|origin| {
                origin
                    .split_once("://")
                    .is_none_or(|(_, authority)| !authority.eq_ignore_ascii_case(host))
            });
        if cross_site || foreign_origin {
            return refuse(StatusCode::FORBIDDEN, "cross-site request refused");
        }
    }
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::literal_host;

    #[test]
    fn only_addresses_and_localhost_are_literal_hosts() {
        for ok in [
            "127.0.0.1:18083",
            "localhost:1",
            "LOCALHOST",
            "[::1]:80",
            "10.0.0.1",
        ] {
            assert!(literal_host(ok), "{ok}");
        }
        for bad in [
            "evil.example:18083",
            "127.0.0.1.nip.io",
            "[evil]:1",
            "localhost.evil",
        ] {
            assert!(!literal_host(bad), "{bad}");
        }
    }
}
