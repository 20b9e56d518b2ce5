//! Use case 1: a login check against a database (SQLite), as `sdk/python/examples/login_sqlite.py`
//! does it: users in `users(username, salt, hash, superuser)` with salted SHA-256 hashes; a wrong
//! password is refused with "bad user name or password", an unknown user is left to the next
//! handler (or the broker's `allow_anonymous`), a superuser skips authorization.
//!
//! ```text
//! cargo run -p hookmq-ext --example login_sqlite -- --db users.db --add alice:secret --add root:pw:super
//! cargo run -p hookmq-ext --example login_sqlite -- --db users.db --listen 127.0.0.1:9200
//! ```

use std::sync::Mutex;

use hookmq_ext::proto::v1 as pb;
use hookmq_ext::{Answer, Auth, Extension, OnClientAuthenticate, Options};
use ring::rand::SecureRandom;

mod common;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS users (username TEXT PRIMARY KEY, salt BLOB, hash BLOB, superuser INTEGER)";

fn digest(salt: &[u8], password: &[u8]) -> Vec<u8> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(salt);
    ctx.update(password);
    ctx.finish().as_ref().to_vec()
}

struct Login(Mutex<rusqlite::Connection>);

impl OnClientAuthenticate for Login {
    async fn on_client_authenticate(&self, e: pb::ClientAuthenticate) -> Answer<Auth> {
        let c = e.clientinfo.unwrap_or_default();
        let Some(user) = c.username else {
            return Answer::Ignore;
        };
        let row = {
            let Ok(db) = self.0.lock() else {
                return Answer::Fail("database lock poisoned".into());
            };
            db.query_row(
                "SELECT salt, hash, superuser FROM users WHERE username = ?1",
                [&user],
                |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, bool>(2)?,
                    ))
                },
            )
        };
        let (salt, expected, superuser) = match row {
            Ok(row) => row,
            Err(rusqlite::Error::QueryReturnedNoRows) => return Answer::Ignore,
            Err(e) => return Answer::Fail(format!("database: {e}")),
        };
        let given = digest(&salt, c.password.as_deref().unwrap_or_default());
        // Compare in constant time: every byte is looked at whatever the first difference.
        let same = given.len() == expected.len()
            && given
                .iter()
                .zip(&expected)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if !same {
            return Answer::Stop(Auth::BadCredentials);
        }
        Answer::Stop(if superuser {
            Auth::Superuser
        } else {
            Auth::Allow
        })
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = common::Args::parse("127.0.0.1:9200")?;
    let path = args
        .value("--db")
        .ok_or_else(|| anyhow::anyhow!("--db FILE is required"))?;
    let db = rusqlite::Connection::open(path)?;
    db.execute(SCHEMA, [])?;
    let adds = args.values("--add");
    if !adds.is_empty() {
        let rng = ring::rand::SystemRandom::new();
        for spec in adds {
            let mut parts = spec.split(':');
            let (Some(user), Some(password)) = (parts.next(), parts.next()) else {
                anyhow::bail!("--add takes USER:PASSWORD[:super]");
            };
            let superuser = parts.next() == Some("super");
            let mut salt = [0u8; 16];
            rng.fill(&mut salt)
                .map_err(|_| anyhow::anyhow!("no randomness"))?;
            db.execute(
                "INSERT OR REPLACE INTO users VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![
                    user,
                    &salt[..],
                    digest(&salt, password.as_bytes()),
                    superuser
                ],
            )?;
        }
        return Ok(());
    }
    let ext = Extension::new("login-sqlite")
        .on_client_authenticate(Login(Mutex::new(db)), Options::new());
    common::serve(ext, &args).await
}
