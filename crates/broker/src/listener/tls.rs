//! TLS for the `tls` and `wss` listeners: the rustls server configuration from PEM files
//! (with optional or required client-certificate verification) and the client certificate's
//! subject CN and DN, which hooks receive in ClientInfo.

use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::{ListenerConfig, Verify};
use crate::connection::PeerCert;

/// Builds the acceptor of a TLS listener; the error names the file and the problem.
pub(super) fn acceptor(cfg: &ListenerConfig) -> Result<TlsAcceptor, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certfile = cfg.certfile.as_ref().ok_or("certfile is required")?;
    let keyfile = cfg.keyfile.as_ref().ok_or("keyfile is required")?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(certfile)
        .and_then(|it| it.collect::<Result<_, _>>())
        .map_err(|e| format!("certfile {}: {e}", certfile.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "certfile {}: no certificate found",
            certfile.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(keyfile)
        .map_err(|e| format!("keyfile {}: {e}", keyfile.display()))?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?;
    let builder = match (cfg.verify, &cfg.cacertfile) {
        (Verify::None, _) => builder.with_no_client_auth(),
        (verify, Some(ca)) => {
            let mut roots = rustls::RootCertStore::empty();
            let cas = CertificateDer::pem_file_iter(ca)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("cacertfile {}: {e}", ca.display()))?;
            for c in cas {
                roots
                    .add(c)
                    .map_err(|e| format!("cacertfile {}: {e}", ca.display()))?;
            }
            let mut v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            if verify == Verify::Optional {
                v = v.allow_unauthenticated();
            }
            builder.with_client_cert_verifier(
                v.build().map_err(|e| format!("client verification: {e}"))?,
            )
        }
        (_, None) => return Err("cacertfile is required to verify client certificates".into()),
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("certificate and key: {e}"))?;
    config.alpn_protocols = vec![b"mqtt".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The verified client certificate's subject CN and DN, if the client sent one.
pub(super) fn peer_cert(conn: &rustls::ServerConnection) -> Option<PeerCert> {
    let der = conn.peer_certificates()?.first()?;
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let subject = cert.subject();
    let cn = subject
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())
        .map(str::to_owned);
    Some(PeerCert {
        cn,
        dn: Some(subject.to_string()),
    })
}
