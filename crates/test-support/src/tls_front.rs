use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::BoxError;

/// A throwaway CA and a server certificate it signed, made with the openssl command.
pub struct TestPki {
    /// The CA certificate (PEM): what a client must trust.
    pub ca: PathBuf,
    pub certificate: PathBuf,
    pub key: PathBuf,
}

impl TestPki {
    /// A CA and a certificate for `names` (DNS names or IP addresses), in `dir`.
    pub fn make(dir: &Path, names: &[&str]) -> Result<TestPki, BoxError> {
        std::fs::create_dir_all(dir)?;
        let alt_names: Vec<String> =
            names
                .iter()
                .map(|name| {
                    if name.parse::<std::net::IpAddr>().is_ok() { format!("IP:{name}") } else { format!("DNS:{name}") }
                })
                .collect();
        std::fs::write(
            dir.join("server.ext"),
            format!("subjectAltName={}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n", alt_names.join(",")),
        )?;
        let days = ["-days", "2"];
        openssl(
            dir,
            &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem"],
            &days,
            "/CN=remote-exports test CA",
        )?;
        // Host names may be longer than a CN may be (64); the SAN carries them.
        openssl(
            dir,
            &["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr"],
            &[],
            "/CN=remote-exports test server",
        )?;
        let sign = [
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-extfile",
            "server.ext",
        ];
        openssl(dir, &sign, &days, "")?;
        Ok(TestPki { ca: dir.join("ca.pem"), certificate: dir.join("server.pem"), key: dir.join("server.key") })
    }
}

fn openssl(dir: &Path, args: &[&str], more: &[&str], subject: &str) -> Result<(), BoxError> {
    let mut command = std::process::Command::new("openssl");
    command.args(args).args(more).current_dir(dir);
    if !subject.is_empty() {
        command.args(["-subj", subject]);
    }
    let output = command.output().map_err(|e| format!("openssl: {e} (apt-get install openssl)"))?;
    check("openssl", &output)
}

/// Ok when `output` is a success, else an error with its stderr.
pub fn check(what: &str, output: &Output) -> Result<(), BoxError> {
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr)).into())
    }
}

/// TLS with the test certificate on `listen`, passing the plain HTTP on to `target`, Host header and
/// all. In process (rustls), so tests need no TLS tool installed. Stops accepting when dropped.
pub struct TlsFront {
    pub addr: SocketAddr,
    acceptor: tokio::task::JoinHandle<()>,
}

impl TlsFront {
    /// Listens on `listen`; port 0 picks a free one.
    pub async fn start(pki: &TestPki, listen: SocketAddr, target: SocketAddr) -> Result<TlsFront, BoxError> {
        let certificates = CertificateDer::pem_file_iter(&pki.certificate)?.collect::<Result<Vec<_>, _>>()?;
        let key = PrivateKeyDer::from_pem_file(&pki.key)?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certificates, key)?;
        let tls = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let acceptor = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let tls = tls.clone();
                tokio::spawn(async move {
                    // A refused handshake is what some tests want: the client saw it, nothing to do here.
                    let Ok(mut client) = tls.accept(client).await else { return };
                    let Ok(mut server) = TcpStream::connect(target).await else { return };
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                });
            }
        });
        Ok(TlsFront { addr, acceptor })
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}
