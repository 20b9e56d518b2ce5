//! hookmq's built-in authentication and authorization sources: a password file, an ACL file,
//! JWT and HTTP. Each is a native [`hookmq_hooks::Handler`] registered on the same chain as
//! Python, Java and gRPC hooks, so they combine with them by priority. The binary reads the
//! `[auth]` section ([`AuthConfig`]), calls [`AuthSources::start`] before the broker starts and
//! [`AuthSources::reload`] on SIGHUP; `hookmq passwd` edits password files with [`password`].
//!
//! Nothing here depends on the broker: the sources see only hook events.

pub mod acl;
pub mod config;
mod error;
mod http;
mod jwt;
pub mod password;
mod watched;

use std::path::Path;
use std::sync::{Arc, OnceLock};

use std::time::Duration;

use hookmq_hooks::{Dispatch, FailedAction, HandlerSpec, HookPoint, Hooks, PointSpec};

pub use config::AuthConfig;
pub use error::{AuthError, LineError};

use crate::acl::{Acl, AclSource};
use crate::http::{HttpSource, Role};
use crate::jwt::{JwtSource, KeyStore};
use crate::password::{PasswordFile, PasswordSource};
use crate::watched::Watched;

/// Something SIGHUP re-reads.
trait Reloadable: Send + Sync {
    fn reload_now(&self);
}

impl<T: Send + Sync + 'static> Reloadable for Watched<T> {
    fn reload_now(&self) {
        self.reload(false);
    }
}

/// Whether loaded sources run (poll their files, fetch keys) or are only checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Live {
    Yes,
    No,
}

/// Told the user names whose credentials a reload of the password file took away (removed,
/// changed, no longer superuser); the binary disconnects their clients.
pub type OnRevoked = Box<dyn Fn(&[String]) + Send + Sync>;

/// Told that a reload of the ACL file put new rules in force; the binary re-checks live
/// sessions with them, so a right the new file takes away stops delivery at once.
pub type OnAclReload = Box<dyn Fn() + Send + Sync>;

/// The started sources: their handlers are registered; dropping this stops file polling.
pub struct AuthSources {
    files: Vec<Arc<dyn Reloadable>>,
    names: Vec<String>,
    revoked: Arc<OnceLock<OnRevoked>>,
    acl_reloaded: Arc<OnceLock<OnAclReload>>,
    live: Live,
}

impl AuthSources {
    /// Loads every enabled source (files relative to `base_dir`) and registers its handlers.
    /// A file that cannot be read or parsed is an error naming it and the key that names it.
    /// Needs a Tokio runtime: files are polled and a JWKS URL is fetched in tasks.
    pub fn start(
        config: &AuthConfig,
        hooks: &Hooks,
        base_dir: &Path,
    ) -> Result<AuthSources, AuthError> {
        Self::load(config, hooks, base_dir, Live::Yes)
    }

    /// What `hookmq config check` runs: every check [`AuthSources::start`] makes (each file
    /// read and parsed, every key's value), without registering handlers, polling files or
    /// fetching a JWKS URL. No runtime needed.
    pub fn check(config: &AuthConfig, base_dir: &Path) -> Result<(), AuthError> {
        Self::load(config, &Hooks::new(), base_dir, Live::No).map(drop)
    }

    fn load(
        config: &AuthConfig,
        hooks: &Hooks,
        base_dir: &Path,
        live: Live,
    ) -> Result<AuthSources, AuthError> {
        let mut sources = AuthSources {
            files: Vec::new(),
            names: Vec::new(),
            revoked: Arc::new(OnceLock::new()),
            acl_reloaded: Arc::new(OnceLock::new()),
            live,
        };
        let pw = &config.password_file;
        if pw.enable {
            let file = Watched::load(
                base_dir.join(&pw.path),
                "auth.password_file.path",
                "password file",
                PasswordFile::parse,
            )?;
            if live == Live::Yes {
                file.poll(pw.reload_interval.0);
            }
            let revoked = sources.revoked.clone();
            file.on_reload(Box::new(move |old: &PasswordFile, new: &PasswordFile| {
                let users = old.revoked_by(new);
                if users.is_empty() {
                    return;
                }
                tracing::info!(users = ?users, "password file reload revoked users' credentials");
                if let Some(f) = revoked.get() {
                    f(&users);
                }
            }));
            let source = PasswordSource::new(file.clone(), pw.max_concurrent, pw.unknown_user)
                .map_err(|message| AuthError::Config {
                    key: "auth.password_file".into(),
                    message,
                })?;
            sources.files.push(file);
            sources.register(
                hooks,
                "auth:password_file",
                HookPoint::ClientAuthenticate,
                pw.priority,
                Arc::new(source),
            )?;
        }
        let acl = &config.acl_file;
        if acl.enable {
            // A fn pointer cannot capture the format: one parser per syntax.
            let parse: watched::Parser<Acl> = match acl.format {
                config::AclFormat::Auto => |t| Acl::parse(t, config::AclFormat::Auto),
                config::AclFormat::Mosquitto => |t| Acl::parse(t, config::AclFormat::Mosquitto),
                config::AclFormat::Emqx => |t| Acl::parse(t, config::AclFormat::Emqx),
            };
            let file = Watched::load(
                base_dir.join(&acl.path),
                "auth.acl_file.path",
                "ACL file",
                parse,
            )?;
            if live == Live::Yes {
                file.poll(acl.reload_interval.0);
            }
            let reloaded = sources.acl_reloaded.clone();
            file.on_reload(Box::new(move |_: &Acl, _: &Acl| {
                if let Some(f) = reloaded.get() {
                    f();
                }
            }));
            sources.files.push(file.clone());
            sources.register(
                hooks,
                "auth:acl_file",
                HookPoint::ClientAuthorize,
                acl.priority,
                Arc::new(AclSource {
                    file,
                    no_match: acl.no_match,
                }),
            )?;
        }
        sources.start_jwt(&config.jwt, hooks, base_dir, live)?;
        for (cfg, role, key, point) in [
            (
                &config.http_authn,
                Role::Authn,
                "auth.http_authn",
                HookPoint::ClientAuthenticate,
            ),
            (
                &config.http_authz,
                Role::Authz,
                "auth.http_authz",
                HookPoint::ClientAuthorize,
            ),
        ] {
            if !cfg.enable {
                continue;
            }
            let mut cfg = cfg.clone();
            if cfg.body.is_empty() {
                let fields: &[&str] = match role {
                    Role::Authn => &["clientid", "username", "password", "peerhost"],
                    Role::Authz => &["clientid", "username", "peerhost", "topic", "action"],
                };
                cfg.body = fields
                    .iter()
                    .map(|f| ((*f).to_owned(), format!("${{{f}}}")))
                    .collect();
            }
            let source = HttpSource::new(role, &cfg, key).map_err(|message| AuthError::Config {
                key: key.into(),
                message,
            })?;
            let name = format!("auth:{}", &key["auth.".len()..]);
            let failed = match cfg.failed_action {
                config::OnFailure::Deny => FailedAction::Deny,
                config::OnFailure::Ignore => FailedAction::Ignore,
            };
            // The chain's deadline is a margin above the request's own timeout.
            let timeout = cfg.timeout.0 + Duration::from_secs(1);
            sources.register_with(
                hooks,
                &name,
                &[point],
                cfg.priority,
                Arc::new(source),
                failed,
                timeout,
            )?;
        }
        Ok(sources)
    }

    fn start_jwt(
        &mut self,
        jwt: &config::JwtConfig,
        hooks: &Hooks,
        base_dir: &Path,
        live: Live,
    ) -> Result<(), AuthError> {
        if !jwt.enable {
            return Ok(());
        }
        let bad = |key: &str, message: String| AuthError::Config {
            key: format!("auth.jwt.{key}"),
            message,
        };
        let given = [
            !jwt.secret.is_empty(),
            !jwt.public_key.as_os_str().is_empty(),
            !jwt.jwks_file.as_os_str().is_empty(),
            !jwt.jwks_url.is_empty(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(bad(
                "secret",
                "set exactly one of secret, public_key, jwks_file, jwks_url".into(),
            ));
        }
        let keys = if !jwt.secret.is_empty() {
            let key = if jwt.secret_base64 {
                jsonwebtoken::DecodingKey::from_base64_secret(&jwt.secret)
                    .map_err(|e| bad("secret", format!("not base64: {e}")))?
            } else {
                jsonwebtoken::DecodingKey::from_secret(jwt.secret.as_bytes())
                    .map_err(|e| bad("secret", e.to_string()))?
            };
            KeyStore::Fixed(Arc::new(vec![jwt::Key {
                kid: None,
                alg: jsonwebtoken::Algorithm::HS256,
                key,
            }]))
        } else if !jwt.public_key.as_os_str().is_empty() {
            let path = base_dir.join(&jwt.public_key);
            let pem = std::fs::read(&path).map_err(|source| AuthError::Read {
                key: "auth.jwt.public_key",
                path: path.clone(),
                source,
            })?;
            let key = jwt::from_pem(&pem).map_err(|message| AuthError::Parse {
                key: "auth.jwt.public_key",
                path,
                line: 1,
                message,
            })?;
            KeyStore::Fixed(Arc::new(vec![key]))
        } else if !jwt.jwks_file.as_os_str().is_empty() {
            let file = Watched::load(
                base_dir.join(&jwt.jwks_file),
                "auth.jwt.jwks_file",
                "JWKS file",
                jwt::from_jwks,
            )?;
            if live == Live::Yes {
                file.poll(jwt.reload_interval.0);
            }
            self.files.push(file.clone());
            KeyStore::File(file)
        } else {
            if !(jwt.jwks_url.starts_with("http://") || jwt.jwks_url.starts_with("https://")) {
                return Err(bad(
                    "jwks_url",
                    format!("{:?} is not an http(s) URL", jwt.jwks_url),
                ));
            }
            let client =
                http::client(Duration::from_secs(10), 2).map_err(|m| bad("jwks_url", m))?;
            match live {
                Live::Yes => KeyStore::fetch(jwt.jwks_url.clone(), jwt.jwks_refresh.0, client),
                Live::No => KeyStore::Fixed(Arc::new(Vec::new())),
            }
        };
        for (claim, template) in &jwt.verify_claims {
            let rest = template
                .replace("${username}", "")
                .replace("${clientid}", "");
            if rest.contains("${") {
                return Err(bad(
                    &format!("verify_claims.{claim}"),
                    format!("{template:?}: only ${{username}} and ${{clientid}} are replaced"),
                ));
            }
        }
        let name = "auth:jwt";
        let source = JwtSource {
            name: name.into(),
            keys,
            from: jwt.from,
            verify_claims: jwt.verify_claims.clone().into_iter().collect(),
            acl_claim: jwt.acl_claim.clone(),
            acl_no_match: jwt.acl_no_match,
            disconnect_on_expire: jwt.disconnect_on_expire,
        };
        self.register_with(
            hooks,
            name,
            &[HookPoint::ClientAuthenticate, HookPoint::ClientAuthorize],
            jwt.priority,
            Arc::new(source),
            config::FAIL_CLOSED,
            Duration::from_secs(5),
        )
    }

    fn register(
        &mut self,
        hooks: &Hooks,
        name: &str,
        point: HookPoint,
        priority: i32,
        handler: Arc<dyn hookmq_hooks::Handler>,
    ) -> Result<(), AuthError> {
        self.register_with(
            hooks,
            name,
            &[point],
            priority,
            handler,
            config::FAIL_CLOSED,
            Duration::from_secs(10),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn register_with(
        &mut self,
        hooks: &Hooks,
        name: &str,
        points: &[HookPoint],
        priority: i32,
        handler: Arc<dyn hookmq_hooks::Handler>,
        failed_action: FailedAction,
        timeout: Duration,
    ) -> Result<(), AuthError> {
        if self.live == Live::No {
            return Ok(());
        }
        let points = points.iter().map(|p| PointSpec::all(*p)).collect();
        let mut spec = HandlerSpec::new(name, "native", points);
        spec.priority = priority;
        spec.failed_action = failed_action;
        // Native and async already: a queue hop would only add latency.
        spec.dispatch = Dispatch::Inline;
        spec.timeout = timeout;
        hooks
            .register(spec, handler)
            .map_err(|source| AuthError::Register {
                name: name.to_owned(),
                source,
            })?;
        self.names.push(name.to_owned());
        Ok(())
    }

    /// Sets what is told, after a reload of the password file, the users whose credentials it
    /// took away (once; a second call is ignored). Until it is set they are only logged.
    pub fn on_revoked(&self, f: OnRevoked) {
        let _ = self.revoked.set(f);
    }

    /// Sets what is told after each reload of the ACL file that put new rules in force (once; a
    /// second call is ignored). Until it is set, new rules apply to new checks only.
    pub fn on_acl_reload(&self, f: OnAclReload) {
        let _ = self.acl_reloaded.set(f);
    }

    /// Re-reads every file now (SIGHUP). A bad file keeps its previous contents.
    pub fn reload(&self) {
        for f in &self.files {
            f.reload_now();
        }
    }

    /// Names of the registered handlers.
    pub fn handler_names(&self) -> &[String] {
        &self.names
    }
}
