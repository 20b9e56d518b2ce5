//! The keys tokens are verified with: a shared secret (HS256), a public key PEM (RS256 or
//! ES256), a JWKS file (reloaded like the other files) or a JWKS URL (fetched at start and
//! every `jwks_refresh`; a failed fetch keeps the keys it had). Each key is bound to one
//! algorithm, and a token is only tried against keys of the algorithm its header names, so a
//! token cannot pick its own verification (no `none`, no RS256 public key used as HS256 secret).

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey};

use crate::error::LineError;
use crate::watched::Watched;

/// One verification key.
pub(crate) struct Key {
    /// `kid` from a JWKS.
    pub(crate) kid: Option<String>,
    /// The only algorithm it verifies.
    pub(crate) alg: Algorithm,
    /// The key.
    pub(crate) key: DecodingKey,
}

/// The algorithms accepted.
pub(crate) const ALGORITHMS: [Algorithm; 3] =
    [Algorithm::HS256, Algorithm::RS256, Algorithm::ES256];

/// A JWKS document's keys that hookmq can use; others are skipped (and named in the log).
pub(crate) fn from_jwks(text: &str) -> Result<Vec<Key>, LineError> {
    let set: JwkSet = serde_json::from_str(text)
        .map_err(|e| LineError::new(e.line(), format!("not a JWKS document: {e}")))?;
    let mut keys = Vec::new();
    for jwk in &set.keys {
        let alg = match (&jwk.common.key_algorithm, &jwk.algorithm) {
            (Some(KeyAlgorithm::HS256), _) => Some(Algorithm::HS256),
            (Some(KeyAlgorithm::RS256), _) => Some(Algorithm::RS256),
            (Some(KeyAlgorithm::ES256), _) => Some(Algorithm::ES256),
            (Some(_), _) => None,
            (None, AlgorithmParameters::RSA(_)) => Some(Algorithm::RS256),
            (None, AlgorithmParameters::EllipticCurve(ec)) if ec.curve == EllipticCurve::P256 => {
                Some(Algorithm::ES256)
            }
            (None, AlgorithmParameters::OctetKey(_)) => Some(Algorithm::HS256),
            (None, _) => None,
        };
        let kid = jwk.common.key_id.clone();
        match (alg, DecodingKey::from_jwk(jwk)) {
            (Some(alg), Ok(key)) => keys.push(Key { kid, alg, key }),
            (alg, result) => tracing::warn!(
                kid = kid.as_deref().unwrap_or(""),
                ?alg,
                error = ?result.err(),
                "JWKS key skipped (HS256, RS256 and ES256 keys are used)"
            ),
        }
    }
    Ok(keys)
}

/// Reads a public key PEM: RSA (RS256) or EC P-256 (ES256).
pub(crate) fn from_pem(pem: &[u8]) -> Result<Key, String> {
    if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
        return Ok(Key {
            kid: None,
            alg: Algorithm::RS256,
            key,
        });
    }
    DecodingKey::from_ec_pem(pem)
        .map(|key| Key {
            kid: None,
            alg: Algorithm::ES256,
            key,
        })
        .map_err(|e| format!("not an RSA or EC public key PEM: {e}"))
}

/// Where the keys come from.
pub(crate) enum KeyStore {
    /// Fixed at start (secret, PEM).
    Fixed(Arc<Vec<Key>>),
    /// A JWKS file.
    File(Arc<Watched<Vec<Key>>>),
    /// A JWKS URL, refreshed.
    Url(Arc<ArcSwap<Vec<Key>>>),
}

impl KeyStore {
    /// The keys now.
    pub(crate) fn keys(&self) -> Arc<Vec<Key>> {
        match self {
            KeyStore::Fixed(k) => k.clone(),
            KeyStore::File(w) => w.get(),
            KeyStore::Url(s) => s.load_full(),
        }
    }

    /// Fetches `url` now and then every `refresh` until the store is dropped.
    pub(crate) fn fetch(url: String, refresh: Duration, client: reqwest::Client) -> KeyStore {
        let store = Arc::new(ArcSwap::from_pointee(Vec::new()));
        let weak = Arc::downgrade(&store);
        tokio::spawn(async move {
            loop {
                let got = async {
                    let resp = client.get(&url).send().await.map_err(|e| e.to_string())?;
                    if !resp.status().is_success() {
                        return Err(format!("status {}", resp.status()));
                    }
                    let text = resp.text().await.map_err(|e| e.to_string())?;
                    from_jwks(&text).map_err(|e| e.to_string())
                }
                .await;
                let Some(store) = weak.upgrade() else { return };
                match got {
                    Ok(keys) => {
                        let n = keys.len();
                        store.store(Arc::new(keys));
                        // Logged once the keys are in use: tests and operators wait on it.
                        tracing::info!(%url, keys = n, "JWKS fetched");
                    }
                    Err(e) => tracing::warn!(%url, error = %e, "JWKS fetch failed; keys kept"),
                }
                drop(store);
                tokio::time::sleep(refresh.max(Duration::from_secs(1))).await;
            }
        });
        KeyStore::Url(store)
    }
}
