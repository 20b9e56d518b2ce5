//! TLS to exhook servers: a rustls client configuration (ring provider) built from a server's
//! `ssl` table: CA file, optional client certificate, `verify_peer` / `verify_none`, ALPN `h2`.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use crate::config::{SslConfig, Verify};

/// Builds the client configuration; errors name the offending key.
pub(crate) fn client_config(ssl: &SslConfig) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("ssl: {e}"))?;
    let builder = match ssl.verify {
        Verify::VerifyPeer => {
            let mut roots = RootCertStore::empty();
            if let Some(ca) = &ssl.cacertfile {
                for cert in read_certs(ca, "ssl.cacertfile")? {
                    roots
                        .add(cert)
                        .map_err(|e| format!("ssl.cacertfile {}: {e}", ca.display()))?;
                }
            }
            builder.with_root_certificates(roots)
        }
        Verify::VerifyNone => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyServerCert(
                provider.signature_verification_algorithms,
            ))),
    };
    let mut config = match (&ssl.certfile, &ssl.keyfile) {
        (Some(cert), Some(key)) => {
            let chain = read_certs(cert, "ssl.certfile")?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| format!("ssl.keyfile {}: {e}", key.display()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("ssl.certfile: {e}"))?
        }
        _ => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// The name sent in SNI and verified: `server_name_indication`, else the URL's host.
pub(crate) fn server_name(ssl: &SslConfig, host: &str) -> Result<ServerName<'static>, String> {
    let name = ssl.server_name_indication.as_deref().unwrap_or(host);
    ServerName::try_from(name.to_owned())
        .map_err(|e| format!("ssl.server_name_indication {name:?}: {e}"))
}

fn read_certs(path: &Path, key: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{key} {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{key} {}: no certificate found", path.display()));
    }
    Ok(certs)
}

/// `verify = "verify_none"`: any certificate is accepted, but the handshake signatures are still
/// checked, so the connection is encrypted to whoever holds the presented key.
#[derive(Debug)]
struct AnyServerCert(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}
