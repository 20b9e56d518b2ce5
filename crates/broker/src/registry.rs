//! The session registry: client id → session. Opening a session for a CONNECT decides between
//! resume, discard and create, and detaches any previous connection, in one step under the
//! registry's lock, so two connections with the same client id can never both own a session.
//!
//! A session belongs to the identity that made it; when another identity resumes it, the
//! `session.owner_change` policy decides here (discard) or in the connection (re-authorize).
//!
//! Lock order: registry, then session.

use std::collections::HashMap;
use std::sync::Arc;

use bytestring::ByteString;
use hookmq_hooks::{ClientInfo, DropReason, Identity, Message};
use parking_lot::Mutex;

use crate::config::OwnerChange;
use crate::session::{Link, QueueLimits, Session, Subscription};

/// The outcome of opening a session.
pub(crate) enum Opened {
    /// A new session (none existed).
    Created { session: Arc<Session> },
    /// The existing session was resumed; `previous` is the connection that held it, if any,
    /// and `old_clientinfo` the client facts the session had. `owner_changed`: it belonged to
    /// another identity, which the connection must re-authorize it for (unless the policy is
    /// `allow`).
    Resumed {
        session: Arc<Session>,
        previous: Option<Link>,
        old_clientinfo: Arc<ClientInfo>,
        owner_changed: bool,
    },
    /// The existing session was discarded (clean start) and replaced by a new one.
    Discarded {
        session: Arc<Session>,
        old: Arc<Session>,
        old_subscriptions: Vec<(ByteString, Subscription)>,
        previous: Option<Link>,
    },
}

/// What detaching a connection from its session did.
pub(crate) enum Detached {
    /// The connection no longer owned the session (taken over); nothing changed.
    NotOwner,
    /// The session ended (expiry interval 0).
    Terminated {
        subscriptions: Vec<(ByteString, Subscription)>,
    },
    /// The session stays for `expiry` seconds unless resumed; `epoch` identifies this detach.
    /// `dropped` holds the QoS 0 messages it no longer keeps.
    Kept {
        epoch: u64,
        expiry: u32,
        dropped: Vec<(Arc<Message>, DropReason)>,
    },
}

/// A local session replaced by one that moved here, with the connection it had.
pub(crate) struct Replaced {
    pub(crate) session: Arc<Session>,
    pub(crate) previous: Option<Link>,
}

/// All sessions.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    sessions: Mutex<HashMap<ByteString, Arc<Session>>>,
}

impl Registry {
    /// Opens the session of `clientinfo.clientid` for a new connection. A session of another
    /// identity is discarded instead of resumed when `owner_change` says so.
    pub(crate) fn open(
        &self,
        clientinfo: Arc<ClientInfo>,
        clean_start: bool,
        expiry: u32,
        link: Link,
        limits: QueueLimits,
        owner_change: OwnerChange,
    ) -> Opened {
        let mut map = self.sessions.lock();
        let clientid = clientinfo.clientid.clone();
        if let Some(existing) = map.get(&clientid).cloned() {
            let mut st = existing.state.lock();
            let owner_changed = st.owner() != clientinfo.identity();
            let discard_for_owner = owner_changed && owner_change == OwnerChange::Discard;
            if !st.terminated && !clean_start && !discard_for_owner {
                let previous = st.link.replace(link);
                st.epoch += 1;
                let old_clientinfo = std::mem::replace(&mut st.clientinfo, clientinfo);
                st.expiry_interval = expiry;
                existing.set_online(true);
                drop(st);
                return Opened::Resumed {
                    session: existing,
                    previous,
                    old_clientinfo,
                    owner_changed,
                };
            }
            let previous = st.link.take();
            st.epoch += 1;
            let old_subscriptions = st.end();
            existing.set_online(false);
            drop(st);
            let session = Session::new(clientinfo, expiry, link, limits);
            map.insert(clientid, session.clone());
            return Opened::Discarded {
                session,
                old: existing,
                old_subscriptions,
                previous,
            };
        }
        let session = Session::new(clientinfo, expiry, link, limits);
        map.insert(clientid, session.clone());
        Opened::Created { session }
    }

    /// Detaches connection `conn_id` from `session` when it closes.
    pub(crate) fn detach(&self, session: &Arc<Session>, conn_id: u64) -> Detached {
        let mut map = self.sessions.lock();
        let mut st = session.state.lock();
        if !st.linked_to(conn_id) {
            return Detached::NotOwner;
        }
        st.link = None;
        st.epoch += 1;
        session.set_online(false);
        // Nobody reads this queue now: publishers held back by it go on.
        st.release_blocked();
        if st.expiry_interval == 0 {
            let subscriptions = st.end();
            drop(st);
            forget(&mut map, session);
            return Detached::Terminated { subscriptions };
        }
        let dropped = session.take_qos0_at_detach(&mut st);
        Detached::Kept {
            epoch: st.epoch,
            expiry: st.expiry_interval,
            dropped,
        }
    }

    /// Ends a detached session whose expiry interval has passed, unless it was resumed since
    /// the detach identified by `epoch`. Returns its subscriptions if it ended.
    pub(crate) fn expire(
        &self,
        session: &Arc<Session>,
        epoch: u64,
    ) -> Option<Vec<(ByteString, Subscription)>> {
        let mut map = self.sessions.lock();
        let mut st = session.state.lock();
        if st.epoch != epoch || st.link.is_some() || st.terminated {
            return None;
        }
        let subscriptions = st.end();
        drop(st);
        forget(&mut map, session);
        Some(subscriptions)
    }

    /// Opens a session that moved here from another node of the cluster for a new connection.
    /// A local session of the same client id (left from a partition) is replaced; its
    /// connection is returned as `previous` so it is told to close.
    pub(crate) fn open_moved(
        &self,
        clientinfo: Arc<ClientInfo>,
        moved: crate::persist::RecoveredSession,
        expiry: u32,
        link: Link,
        limits: QueueLimits,
    ) -> (Arc<Session>, Option<Replaced>) {
        let mut map = self.sessions.lock();
        let session = Session::restore(clientinfo.clone(), moved, limits);
        {
            let mut st = session.state.lock();
            st.link = Some(link);
            st.epoch += 1;
            st.clientinfo = clientinfo;
            st.expiry_interval = expiry;
            session.set_online(true);
        }
        let stale = map
            .insert(session.clientid.clone(), session.clone())
            .map(|old| {
                let mut st = old.state.lock();
                let previous = st.link.take();
                st.epoch += 1;
                old.set_online(false);
                drop(st);
                Replaced {
                    session: old,
                    previous,
                }
            });
        (session, stale)
    }

    /// Takes the session of `clientid` out of the registry for another node, with the connection
    /// attached to it (which will find itself no longer the owner when it closes).
    pub(crate) fn release(&self, clientid: &str) -> Option<(Arc<Session>, Option<Link>)> {
        let mut map = self.sessions.lock();
        let session = map.remove(clientid)?;
        let mut st = session.state.lock();
        let previous = st.link.take();
        st.epoch += 1;
        session.set_online(false);
        drop(st);
        Some((session, previous))
    }

    /// Adds a session read from the store at start.
    pub(crate) fn restore(&self, session: Arc<Session>) {
        self.sessions
            .lock()
            .insert(session.clientid.clone(), session);
    }

    /// The owner of the live session of a client id, if there is one.
    pub(crate) fn owner(&self, clientid: &str) -> Option<Identity> {
        let session = self.get(clientid)?;
        let st = session.state.lock();
        (!st.terminated).then(|| st.owner())
    }

    /// The session of a client id.
    pub(crate) fn get(&self, clientid: &str) -> Option<Arc<Session>> {
        self.sessions.lock().get(clientid).cloned()
    }

    /// Every session.
    pub(crate) fn all(&self) -> Vec<Arc<Session>> {
        self.sessions.lock().values().cloned().collect()
    }

    /// Number of sessions.
    pub(crate) fn len(&self) -> usize {
        self.sessions.lock().len()
    }
}

/// Removes `session` from the map if it is still the one registered under its client id.
fn forget(map: &mut HashMap<ByteString, Arc<Session>>, session: &Arc<Session>) {
    if map
        .get(&session.clientid)
        .is_some_and(|s| Arc::ptr_eq(s, session))
    {
        map.remove(&session.clientid);
    }
}
