//! The certificates of a `rediss://` fleet (feature `redis-tls`): a private
//! CA and a client identity, checked once at `connect` and handed to
//! redis-rs ([`redis::Client::build_with_tls`]), which builds the rustls
//! configuration of every connection it makes — the operations' and the
//! breaker news listener's alike.

use std::sync::Arc;

use redis::{ClientTlsConfig, TlsCertificates};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// What [`FleetOptions`](super::FleetOptions) was given, as PEM bytes.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct TlsFiles {
    pub(crate) root: Option<Vec<u8>>,
    /// The client's certificate chain and its private key.
    pub(crate) identity: Option<(Vec<u8>, Vec<u8>)>,
}

impl TlsFiles {
    pub(crate) const NONE: Self = Self {
        root: None,
        identity: None,
    };

    /// The certificates for redis-rs, checked: `None` when none were
    /// given (the webpki roots, no client certificate). An error says what
    /// is wrong with which, and what to give instead.
    pub(crate) fn certificates(&self, url_is_tls: bool) -> Result<Option<TlsCertificates>, String> {
        if self.root.is_none() && self.identity.is_none() {
            return Ok(None);
        }
        if !url_is_tls {
            return Err(
                "certificates were given for a redis:// URL, which does not use TLS: \
                        write rediss://host:port"
                    .into(),
            );
        }
        let mut roots = rustls::RootCertStore::empty();
        if let Some(pem) = &self.root {
            for certificate in certificates(pem, "the root certificate")? {
                roots.add(certificate).map_err(|error| {
                    format!(
                        "the root certificate is not a CA certificate rustls can use ({error}): \
                         give the certificate of the CA that signed the server's (the file \
                         redis-server's tls-ca-cert-file names)"
                    )
                })?;
            }
        }
        if let Some((chain, key)) = &self.identity {
            let chain = certificates(chain, "the client certificate")?;
            let key = PrivateKeyDer::from_pem_slice(key).map_err(|error| {
                format!(
                    "no private key found in the client key PEM ({error}): give the key of the \
                     client certificate as PEM text (-----BEGIN PRIVATE KEY-----, \
                     -----BEGIN RSA PRIVATE KEY----- or -----BEGIN EC PRIVATE KEY-----), \
                     unencrypted"
                )
            })?;
            let provider = rustls::crypto::CryptoProvider::get_default()
                .cloned()
                .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
            rustls::sign::CertifiedKey::from_der(chain, key, &provider).map_err(|error| {
                format!(
                    "the client key does not fit the client certificate ({error}): give the key \
                     the certificate was issued for, the certificate first in its PEM"
                )
            })?;
        }
        Ok(Some(TlsCertificates {
            client_tls: self.identity.as_ref().map(|(chain, key)| ClientTlsConfig {
                client_cert: chain.clone(),
                client_key: key.clone(),
            }),
            root_cert: self.root.clone(),
        }))
    }
}

/// The certificates in `pem`: at least one, each well-formed.
fn certificates(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let found = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| {
            format!(
                "{what} is not valid PEM ({error}): give it as PEM text, as redis-server reads it"
            )
        })?;
    if found.is_empty() {
        return Err(format!(
            "no certificate found in {what} (no -----BEGIN CERTIFICATE----- block): give the \
             certificate itself as PEM text, not its key, a path or DER bytes"
        ));
    }
    Ok(found)
}

impl std::fmt::Debug for TlsFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is never printed; the certificates need not be.
        f.debug_struct("Tls")
            .field("root_certificate", &self.root.as_ref().map(|_| "<set>"))
            .field(
                "client_identity",
                &self.identity.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}
