//! Use case 2: online status and connection history in a database (SQLite), as
//! `sdk/python/examples/online_status.py`: `client.connected` / `client.disconnected` are
//! observe-only, so the broker never waits; table `online` holds the state per client, table
//! `history` one row per event.
//!
//! ```text
//! cargo run -p hookmq-ext --example online_status -- --db status.db --listen 127.0.0.1:9201
//! ```

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use hookmq_ext::proto::v1 as pb;
use hookmq_ext::{Extension, OnClientConnected, OnClientDisconnected, Options};

mod common;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS online (clientid TEXT PRIMARY KEY, username TEXT, peer TEXT, online INTEGER, since_ms INTEGER);
CREATE TABLE IF NOT EXISTS history (clientid TEXT, event TEXT, reason TEXT, at_ms INTEGER);";

#[derive(Clone)]
struct Status(Arc<Mutex<rusqlite::Connection>>);

impl Status {
    fn record(&self, c: pb::ClientInfo, online: bool, reason: &str) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let Ok(mut db) = self.0.lock() else { return };
        let result = db.transaction().and_then(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO online VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![
                    c.clientid,
                    c.username,
                    format!("{}:{}", c.peerhost, c.peerport),
                    online,
                    now
                ],
            )?;
            tx.execute(
                "INSERT INTO history VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![
                    c.clientid,
                    if online { "connected" } else { "disconnected" },
                    reason,
                    now
                ],
            )?;
            tx.commit()
        });
        if let Err(e) = result {
            eprintln!("online_status: {e}");
        }
    }
}

impl OnClientConnected for Status {
    async fn on_client_connected(&self, e: pb::ClientConnected) {
        self.record(e.clientinfo.unwrap_or_default(), true, "");
    }
}

impl OnClientDisconnected for Status {
    async fn on_client_disconnected(&self, e: pb::ClientDisconnected) {
        self.record(e.clientinfo.unwrap_or_default(), false, &e.reason);
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = common::Args::parse("127.0.0.1:9201")?;
    let path = args
        .value("--db")
        .ok_or_else(|| anyhow::anyhow!("--db FILE is required"))?;
    let db = rusqlite::Connection::open(path)?;
    db.pragma_update(None, "journal_mode", "WAL")?;
    db.execute_batch(SCHEMA)?;
    let status = Status(Arc::new(Mutex::new(db)));
    let ext = Extension::new("online-status")
        .on_client_connected(status.clone(), Options::new().observe())
        .on_client_disconnected(status, Options::new().observe());
    common::serve(ext, &args).await
}
