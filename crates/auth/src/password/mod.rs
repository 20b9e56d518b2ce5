//! The password-file source: a `client.authenticate` handler that checks the CONNECT user name
//! and password against salted hashes in a file ([`PasswordFile`]), reloaded on change and on
//! SIGHUP. `hookmq passwd` edits the file through the same types.
//!
//! Hashing runs on the blocking pool behind a semaphore: a burst of CONNECTs cannot stall the
//! async threads, and at most `max_concurrent` argon2 computations (19 MiB each) run at once.
//! An unknown user is checked against a dummy argon2id hash, so it costs what a wrong password
//! costs and the answer (0x86 / v3 code 4) is the same.

mod file;
mod hash;

use std::sync::Arc;

use hookmq_codec::ReasonCode;
use hookmq_hooks::{AuthResult, Event, Handler, HookError, HookFuture, Value, Verdict};
use tokio::sync::Semaphore;

pub use file::{PasswordEntry, PasswordFile, check_username};
pub use hash::{PasswordHash, SaltPosition, ShaKind};

use crate::config::UnknownUser;
use crate::watched::Watched;

/// The `client.authenticate` handler of `[auth.password_file]`.
pub(crate) struct PasswordSource {
    pub(crate) file: Arc<Watched<PasswordFile>>,
    permits: Arc<Semaphore>,
    dummy: Arc<PasswordHash>,
    unknown_user: UnknownUser,
}

impl PasswordSource {
    pub(crate) fn new(
        file: Arc<Watched<PasswordFile>>,
        max_concurrent: usize,
        unknown_user: UnknownUser,
    ) -> Result<PasswordSource, String> {
        let permits = if max_concurrent == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            max_concurrent
        };
        let secret: [u8; 16] = rand::random();
        Ok(PasswordSource {
            file,
            permits: Arc::new(Semaphore::new(permits)),
            dummy: Arc::new(PasswordHash::argon2id(&secret)?),
            unknown_user,
        })
    }
}

fn refused() -> Verdict {
    Verdict::Stop(Value::Auth(AuthResult::Deny(
        ReasonCode::BAD_USER_NAME_OR_PASSWORD,
    )))
}

impl Handler for PasswordSource {
    fn call(&self, event: Arc<Event>) -> HookFuture {
        let Event::ClientAuthenticate { clientinfo, .. } = &*event else {
            return Box::pin(std::future::ready(Ok(Verdict::Ignore)));
        };
        let Some(user) = clientinfo.username.clone() else {
            // No user name: anonymous, for `mqtt.allow_anonymous` or another handler.
            return Box::pin(std::future::ready(Ok(Verdict::Ignore)));
        };
        let entry = self.file.get().get(&user);
        let password = clientinfo.password.clone().unwrap_or_default();
        let (permits, dummy, unknown) =
            (self.permits.clone(), self.dummy.clone(), self.unknown_user);
        Box::pin(async move {
            let _permit = permits
                .acquire_owned()
                .await
                .map_err(|_| HookError::Unavailable("password source stopped".into()))?;
            let check = entry.clone();
            let ok = tokio::task::spawn_blocking(move || match &check {
                Some(e) => e.hash.verify(&password),
                None => {
                    // Same cost as a real check; the result is thrown away.
                    let _ = dummy.verify(&password);
                    false
                }
            })
            .await
            .map_err(|e| HookError::Failed(format!("password check: {e}")))?;
            Ok(match entry {
                Some(e) if ok => Verdict::Stop(Value::Auth(AuthResult::Allow {
                    superuser: e.superuser,
                })),
                Some(_) => refused(),
                None => match unknown {
                    UnknownUser::Ignore => Verdict::Ignore,
                    UnknownUser::Deny => refused(),
                },
            })
        })
    }
}
