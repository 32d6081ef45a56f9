//! The authority's own PKI: a CA made at first start (kept in `--data`), the server
//! certificate it signs at each start (plus an expired twin for fault injection), booth client
//! certificates signed from CSRs at enrollment, and the age identity recordings are sealed to.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use age::secrecy::ExposeSecret;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, date_time_ymd,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// What went wrong making or loading key material.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// Reading or writing a key file in the data directory.
    #[error("key file {path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// rcgen refused parameters or input.
    #[error("certificate: {0}")]
    Cert(#[from] rcgen::Error),
    /// The age identity file is not an age X25519 identity.
    #[error("age identity in {0} is unreadable")]
    AgeIdentity(String),
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// Client verifier could not be built.
    #[error("client verifier: {0}")]
    Verifier(String),
}

/// The CA and the age identity of one authority instance.
pub struct Authority {
    ca_key: KeyPair,
    ca_params: CertificateParams,
    /// CA certificate PEM (trust anchor given to booths).
    pub ca_pem: String,
    /// CA certificate DER.
    pub ca_der: CertificateDer<'static>,
    /// age identity that opens sealed recordings.
    pub age_identity: age::x25519::Identity,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Authority(..)")
    }
}

fn read(path: &Path) -> Result<Option<String>, PkiError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(PkiError::Io {
            path: path.display().to_string(),
            source,
        }),
    }
}

fn write_private(path: &Path, text: &str) -> Result<(), PkiError> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| PkiError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts.open(path).map_err(io)?;
    f.write_all(text.as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)
}

fn ca_params() -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name
        .push(DnType::CommonName, "authority-sim CA");
    p.distinguished_name.push(
        DnType::OrganizationName,
        "Video appeal central authority (simulator)",
    );
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.not_before = date_time_ymd(2024, 1, 1);
    p.not_after = date_time_ymd(2060, 1, 1);
    p
}

impl Authority {
    /// Loads the CA and age identity from `dir`, making them on first start.
    pub fn load_or_create(dir: &Path) -> Result<Authority, PkiError> {
        let key_path = dir.join("ca.key.pem");
        let cert_path = dir.join("ca.cert.pem");
        let age_path = dir.join("authority.agekey");
        let params = ca_params();
        let ca_key = match read(&key_path)? {
            Some(pem) => KeyPair::from_pem(&pem)?,
            None => {
                let k = KeyPair::generate()?;
                write_private(&key_path, &k.serialize_pem())?;
                tracing::info!(path = %key_path.display(), "made a new CA key");
                k
            }
        };
        // The CA certificate is deterministic in its parameters but not in its signature; keep
        // the first one so booths enrolled earlier keep trusting the server.
        let ca_pem = match read(&cert_path)? {
            Some(pem) => pem,
            None => {
                let c = params.self_signed(&ca_key)?;
                let pem = c.pem();
                write_private(&cert_path, &pem)?;
                pem
            }
        };
        let ca_der = pem_to_der(&ca_pem)
            .ok_or_else(|| PkiError::Verifier("CA certificate PEM unreadable".into()))?;
        let age_identity = match read(&age_path)? {
            Some(s) => {
                let line = s
                    .lines()
                    .find(|l| l.starts_with("AGE-SECRET-KEY-"))
                    .unwrap_or_default();
                age::x25519::Identity::from_str(line.trim())
                    .map_err(|_| PkiError::AgeIdentity(age_path.display().to_string()))?
            }
            None => {
                let id = age::x25519::Identity::generate();
                let text = format!(
                    "# authority-sim age identity; recipient: {}\n{}\n",
                    id.to_public(),
                    id.to_string().expose_secret()
                );
                write_private(&age_path, &text)?;
                id
            }
        };
        Ok(Authority {
            ca_key,
            ca_params: params,
            ca_pem,
            ca_der,
            age_identity,
        })
    }

    /// The age recipient (`age1…`) booths seal recordings to.
    pub fn age_recipient(&self) -> String {
        self.age_identity.to_public().to_string()
    }

    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.ca_params, &self.ca_key)
    }

    /// A server certificate for `names` (DNS names or IP addresses) and its key. With
    /// `expired`, the certificate's validity ended in 2021 (fault injection).
    pub fn server_cert(
        &self,
        names: &[String],
        expired: bool,
    ) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), PkiError> {
        let key = KeyPair::generate()?;
        let mut p = CertificateParams::new(names.to_vec())?;
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name
            .push(DnType::CommonName, "authority-sim");
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        if expired {
            p.not_before = date_time_ymd(2020, 1, 1);
            p.not_after = date_time_ymd(2021, 1, 1);
        } else {
            p.not_before = date_time_ymd(2024, 1, 1);
            p.not_after = date_time_ymd(2060, 1, 1);
        }
        let cert = p.signed_by(&key, &self.issuer())?;
        let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        Ok((vec![cert.der().clone(), self.ca_der.clone()], key_der))
    }

    /// Signs a booth's CSR. The subject and SANs of the CSR are replaced: CN and DNS SAN become
    /// `booth_id`, the only identity the server later reads from the certificate.
    pub fn sign_booth_csr(&self, csr_pem: &str, booth_id: &str) -> Result<String, PkiError> {
        let mut csr = CertificateSigningRequestParams::from_pem(csr_pem)?;
        let mut p = CertificateParams::new(vec![booth_id.to_owned()])?;
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, booth_id);
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.not_before = date_time_ymd(2024, 1, 1);
        p.not_after = date_time_ymd(2060, 1, 1);
        p.serial_number = Some(rcgen::SerialNumber::from_slice(
            uuid::Uuid::new_v4().as_bytes(),
        ));
        csr.params = p;
        let cert = csr.signed_by(&self.issuer())?;
        Ok(cert.pem())
    }

    /// rustls server configuration: client certificates are verified against the CA when
    /// presented and allowed to be absent (enrollment, operator page); booth routes then refuse
    /// requests that carry none. A certificate from another CA fails the handshake.
    pub fn server_config(
        &self,
        resolver: Arc<dyn rustls::server::ResolvesServerCert>,
    ) -> Result<rustls::ServerConfig, PkiError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca_der.clone())?;
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .allow_unauthenticated()
        .build()
        .map_err(|e| PkiError::Verifier(e.to_string()))?;
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(verifier)
            .with_cert_resolver(resolver);
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(cfg)
    }
}

/// First certificate of a PEM text as DER.
pub fn pem_to_der(pem: &str) -> Option<CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::from_pem_slice(pem.as_bytes()).ok()
}

/// Booth id of a verified client certificate: its subject CN. Only certificates that passed
/// the CA check reach this function.
pub fn booth_id_of(cert: &CertificateDer<'_>) -> Option<String> {
    let (_, x) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let cn = x
        .subject()
        .iter_common_name()
        .next()?
        .as_str()
        .ok()?
        .to_owned();
    Some(cn)
}

/// Serves the normal server certificate, or the expired one while the fault is on.
#[derive(Debug)]
pub struct SwitchingResolver {
    /// Normal certificate.
    pub good: Arc<rustls::sign::CertifiedKey>,
    /// Expired certificate.
    pub expired: Arc<rustls::sign::CertifiedKey>,
    /// The fault switch.
    pub use_expired: Arc<std::sync::atomic::AtomicBool>,
}

impl SwitchingResolver {
    /// Builds both certified keys for `names`.
    pub fn new(
        auth: &Authority,
        names: &[String],
        use_expired: Arc<std::sync::atomic::AtomicBool>,
    ) -> Result<SwitchingResolver, PkiError> {
        let provider = rustls::crypto::ring::default_provider();
        let make = |expired| -> Result<Arc<rustls::sign::CertifiedKey>, PkiError> {
            let (chain, key) = auth.server_cert(names, expired)?;
            Ok(Arc::new(rustls::sign::CertifiedKey::from_der(
                chain, key, &provider,
            )?))
        };
        Ok(SwitchingResolver {
            good: make(false)?,
            expired: make(true)?,
            use_expired,
        })
    }
}

impl rustls::server::ResolvesServerCert for SwitchingResolver {
    fn resolve(
        &self,
        _hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        if self.use_expired.load(std::sync::atomic::Ordering::Relaxed) {
            Some(self.expired.clone())
        } else {
            Some(self.good.clone())
        }
    }
}
