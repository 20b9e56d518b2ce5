//! TLS for the `--tls` runs: a throwaway CA and a certificate for 127.0.0.1 made with the
//! `openssl` command line (the brokers load the PEM files), and the generator's rustls
//! connector that trusts exactly that CA. `main` makes one per invocation; the
//! launcher passes the files to the brokers and every client connects through the connector.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::TlsConnector;

/// The server's certificate and key files.
#[derive(Debug, Clone)]
pub struct ServerFiles {
    /// Certificate, PEM.
    pub cert: PathBuf,
    /// Private key, PEM.
    pub key: PathBuf,
}

/// What a client needs to connect over TLS.
#[derive(Clone)]
pub struct ClientTls {
    /// Trusts the generated certificate only.
    pub connector: TlsConnector,
    /// The name checked against the certificate (its IP address).
    pub server_name: ServerName<'static>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClientTls({:?})", self.server_name)
    }
}

/// Makes a P-256 CA and a certificate for `127.0.0.1` signed by it in `dir` (valid two days),
/// and the client configuration that trusts that CA.
pub fn generate(dir: &Path) -> Result<(ServerFiles, ClientTls)> {
    std::fs::create_dir_all(dir)?;
    let files = ServerFiles {
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    };
    let ca = (dir.join("ca.pem"), dir.join("ca.key"));
    // A CA, then the server's certificate signed by it (webpki refuses a CA certificate as the
    // server's own).
    let (ca_cert, ca_key) = (path(&ca.0), path(&ca.1));
    new_p256_cert("/CN=hookmq-bench CA", &ca.1, &ca.0, &[])?;
    new_p256_cert(
        "/CN=127.0.0.1",
        &files.key,
        &files.cert,
        &[
            "-CA",
            &ca_cert,
            "-CAkey",
            &ca_key,
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=CA:FALSE",
        ],
    )?;
    // Mosquitto started as root reads its files as the `mosquitto` user: a throwaway key may
    // be readable by everyone.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&files.key, std::fs::Permissions::from_mode(0o644))?;
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&ca.0).context("read the certificate")? {
        roots.add(cert.context("parse the certificate")?)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let client = ClientTls {
        connector: TlsConnector::from(Arc::new(config)),
        server_name: ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()),
    };
    Ok((files, client))
}

/// Serializes an optional TLS configuration as whether TLS is on.
pub fn is_on<S: serde::Serializer>(tls: &Option<ClientTls>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bool(tls.is_some())
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// A new P-256 key in `key` and its certificate for `subject` in `cert`, valid two days:
/// self-signed, or signed by the CA that `extra` names.
fn new_p256_cert(subject: &str, key: &Path, cert: &Path, extra: &[&str]) -> Result<()> {
    let (key, cert) = (path(key), path(cert));
    let mut args = vec![
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
        "-subj",
        subject,
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-keyout", &key, "-out", &cert]);
    openssl(&args)
}

/// Runs `openssl` with `args`, quietly.
fn openssl(args: &[&str]) -> Result<()> {
    let status = std::process::Command::new("openssl")
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .context("run openssl (Debian package openssl)")?;
    if !status.success() {
        bail!("openssl {} failed: {status}", args.first().unwrap_or(&""));
    }
    Ok(())
}
