//! `rediss://` against a real TLS-only `redis-server` (feature `redis-tls`),
//! with a private CA and client certificates made here at run time: shared
//! values and breaker news cross over TLS; a server that requires a client
//! certificate refuses a replica without one, which then runs local-only;
//! bad PEM is an error of `connect`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use resilience_runtime::breaker::{Breaker, BreakerConfig, Origin, State, StateChange};
use resilience_runtime::fleet::{Fleet, FleetError, FleetOptions};
use resilience_runtime::stale_cache::{CacheConfig, StaleCache};

use crate::keepalive::assert_keepalive;
use crate::server::{RedisServer, TlsServer, namespace};

/// A certificate and its key, as PEM text.
struct Pem {
    certificate: String,
    key: String,
}

/// A private CA, the server's certificate (for 127.0.0.1) and a client's,
/// all signed by it, written where redis-server reads them.
struct Pki {
    ca: String,
    client: Pem,
    dir: PathBuf,
}

impl Pki {
    fn new() -> Self {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "resilience test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = ca_params.self_signed(&ca_key).unwrap().pem();
        let issuer = Issuer::new(ca_params, ca_key);

        let server = leaf(&issuer, "127.0.0.1", ExtendedKeyUsagePurpose::ServerAuth);
        let client = leaf(&issuer, "replica", ExtendedKeyUsagePurpose::ClientAuth);

        let dir = std::env::temp_dir().join(format!(
            "resilience-fleet-tls-{}-{:08x}",
            std::process::id(),
            fastrand::u32(..)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ca.crt"), &ca).unwrap();
        std::fs::write(dir.join("server.crt"), &server.certificate).unwrap();
        std::fs::write(dir.join("server.key"), &server.key).unwrap();
        Self { ca, client, dir }
    }

    /// A TLS-only server with these files.
    fn server(&self, auth_clients: &'static str) -> RedisServer {
        let file = |name: &str| -> PathBuf { self.dir.join(name) };
        RedisServer::spawn_tls(TlsServer {
            certificate: file("server.crt"),
            key: file("server.key"),
            ca_certificate: file("ca.crt"),
            auth_clients,
        })
    }

    /// Trusts the private CA only.
    fn trusting(&self) -> FleetOptions {
        FleetOptions::new().tls_root_certificate(self.ca.clone())
    }

    /// Trusts the private CA and presents the client certificate.
    fn with_identity(&self) -> FleetOptions {
        self.trusting()
            .tls_client_identity(self.client.certificate.clone(), self.client.key.clone())
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A certificate for `name` (an IP address or a host name) signed by
/// `issuer`, for `usage`.
fn leaf(issuer: &Issuer<'_, KeyPair>, name: &str, usage: ExtendedKeyUsagePurpose) -> Pem {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages = vec![usage];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    Pem {
        certificate: params.signed_by(&key, issuer).unwrap().pem(),
        key: key.serialize_pem(),
    }
}

fn describe(_: &(), f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    f.write_str("down")
}

const FUNCTION: &str = "app::profile";

#[tokio::test]
async fn a_value_one_replica_loaded_is_read_by_another_over_tls_with_a_private_ca() {
    let pki = Pki::new();
    let server = pki.server("no");
    assert!(server.url().starts_with("rediss://"));
    let ns = namespace("tls-cache");
    let a = Fleet::connect_with(server.url(), &ns, pki.trusting())
        .await
        .unwrap();
    let b = Fleet::connect_with(server.url(), &ns, pki.trusting())
        .await
        .unwrap();
    assert!(
        a.ping().await && b.ping().await,
        "both reach Redis over TLS"
    );

    let first: StaleCache<u32, String> = StaleCache::new(CacheConfig::new());
    let loaded = first
        .get_or_load_on(&a, 42, FUNCTION, async { Ok("User 42".into()) }, describe)
        .await;
    assert_eq!(loaded.unwrap(), "User 42");
    let second: StaleCache<u32, String> = StaleCache::new(CacheConfig::new());
    let read = second
        .get_or_load_on(&b, 42, FUNCTION, async { Err(()) }, describe)
        .await;
    assert_eq!(read.unwrap(), "User 42", "read from Redis, not loaded");
    assert_eq!(a.errors() + b.errors(), 0);
    assert_keepalive(server.port(), 2, Duration::from_secs(60)).await;
}

#[tokio::test]
async fn without_the_private_ca_the_webpki_roots_refuse_the_server() {
    let pki = Pki::new();
    let server = pki.server("no");
    let fleet = Fleet::connect(server.url(), &namespace("tls-untrusted"))
        .await
        .expect("an untrusted server is an unreachable Redis, not an error");
    assert!(!fleet.ping().await && !fleet.is_reachable());
}

#[tokio::test]
async fn a_server_that_requires_client_certificates_refuses_a_replica_without_one() {
    let pki = Pki::new();
    let server = pki.server("yes");
    let ns = namespace("tls-mutual");

    // As for an unreachable Redis: `connect` succeeds (warned), calls run
    // local-only, promptly.
    let without = Fleet::connect_with(server.url(), &ns, pki.trusting())
        .await
        .expect("a refused handshake is an unreachable Redis, not an error of connect");
    assert!(!without.ping().await, "refused: no client certificate");
    assert!(!without.is_reachable() && without.errors() >= 1);
    let local: StaleCache<u32, String> = StaleCache::new(CacheConfig::new());
    let started = Instant::now();
    let answer = local
        .get_or_load_on(
            &without,
            7,
            FUNCTION,
            async { Ok("local".into()) },
            describe,
        )
        .await;
    assert_eq!(answer.unwrap(), "local", "the call succeeds locally");
    assert!(started.elapsed() < Duration::from_millis(500));

    let with = Fleet::connect_with(server.url(), &ns, pki.with_identity())
        .await
        .unwrap();
    assert!(with.ping().await, "accepted with the client certificate");
    let shared: StaleCache<u32, String> = StaleCache::new(CacheConfig::new());
    let loaded = shared
        .get_or_load_on(&with, 8, FUNCTION, async { Ok("shared".into()) }, describe)
        .await;
    assert_eq!(loaded.unwrap(), "shared");
    assert_eq!(with.errors(), 0);
}

#[tokio::test]
async fn optional_client_authentication_takes_a_replica_with_or_without_a_certificate() {
    let pki = Pki::new();
    let server = pki.server("optional");
    let ns = namespace("tls-optional");
    let without = Fleet::connect_with(server.url(), &ns, pki.trusting())
        .await
        .unwrap();
    let with = Fleet::connect_with(server.url(), &ns, pki.with_identity())
        .await
        .unwrap();
    assert!(without.ping().await && with.ping().await);
}

#[tokio::test]
async fn breaker_news_crosses_the_tls_listener() {
    let pki = Pki::new();
    let server = pki.server("yes");
    let ns = namespace("tls-breaker");
    let config = || {
        BreakerConfig::new()
            .min_calls(2)
            .failure_rate(0.5)
            .open_for(Duration::from_secs(5))
            // One replica's opening is the fleet's: its news crosses.
            .quorum(1)
    };
    let a = Fleet::connect_with(server.url(), &ns, pki.with_identity())
        .await
        .unwrap();
    let b = Fleet::connect_with(server.url(), &ns, pki.with_identity())
        .await
        .unwrap();
    let first = Arc::new(Breaker::new("payments", config()));
    let second = Arc::new(Breaker::new("payments", config()));
    let heard = Arc::new(Mutex::new(Vec::<StateChange>::new()));
    let log = Arc::clone(&heard);
    second.on_state_change(move |change| log.lock().unwrap().push(*change));
    first.share_on(&a);
    second.share_on(&b);
    // Both listeners subscribed (their connections are up), over TLS.
    assert_keepalive(server.port(), 4, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    for _ in 0..2 {
        first.try_acquire().unwrap().record(true);
    }
    assert_eq!(first.state(), State::Open);
    let started = Instant::now();
    while second.state() != State::Open {
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "the news did not arrive over TLS within 1 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(second.origin(), Origin::Fleet);
    let opened = heard.lock().unwrap().last().copied().unwrap();
    assert_eq!((opened.to, opened.origin), (State::Open, Origin::Fleet));
    assert_eq!(a.errors() + b.errors(), 0);
}

/// `connect` on PEM that is not what it should be: a typed error that says
/// what to give, never a panic, and never a fleet that cannot connect.
#[tokio::test]
async fn bad_pem_is_an_error_of_connect_that_says_what_to_give() {
    let pki = Pki::new();
    let url = "rediss://127.0.0.1:6380";
    let stranger = leaf(
        &Issuer::new(
            CertificateParams::new(Vec::<String>::new()).unwrap(),
            KeyPair::generate().unwrap(),
        ),
        "stranger",
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let cases: Vec<(&str, FleetOptions, &str)> = vec![
        (
            "a path instead of PEM",
            FleetOptions::new().tls_root_certificate("/etc/redis/ca.crt"),
            "no certificate found in the root certificate",
        ),
        (
            "a key as the root",
            FleetOptions::new().tls_root_certificate(pki.client.key.clone()),
            "no certificate found in the root certificate",
        ),
        (
            "a broken block",
            FleetOptions::new().tls_root_certificate(
                "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
            ),
            "root certificate is not",
        ),
        (
            "certificate and key swapped",
            pki.trusting()
                .tls_client_identity(pki.client.key.clone(), pki.client.certificate.clone()),
            "no certificate found in the client certificate",
        ),
        (
            "no key",
            pki.trusting()
                .tls_client_identity(pki.client.certificate.clone(), ""),
            "no private key found",
        ),
        (
            "another certificate's key",
            pki.trusting()
                .tls_client_identity(pki.client.certificate.clone(), stranger.key.clone()),
            "does not fit the client certificate",
        ),
    ];
    for (case, options, says) in cases {
        let error = Fleet::connect_with(url, &namespace("tls-bad"), options)
            .await
            .expect_err(case);
        assert!(matches!(error, FleetError::Tls(_)), "{case}: {error:?}");
        let text = error.to_string();
        assert!(text.contains(says), "{case}: {text}");
        assert!(text.contains("give"), "{case} says what to do: {text}");
    }

    let plain = Fleet::connect_with("redis://127.0.0.1:6379", "tls-bad", pki.trusting())
        .await
        .unwrap_err();
    assert!(matches!(plain, FleetError::Tls(_)));
    assert!(plain.to_string().contains("rediss://"), "{plain}");
}
