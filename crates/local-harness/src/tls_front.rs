use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use tokio::process::{Child, Command};

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

/// socat terminating TLS with the test certificate on `listen` and passing the plain HTTP on to
/// `target`, Host header and all. Stopped when dropped.
pub struct TlsFront {
    _child: Child,
    pub addr: SocketAddr,
}

impl TlsFront {
    /// Listens on `listen`; port 0 picks a free one.
    pub async fn start(pki: &TestPki, listen: SocketAddr, target: SocketAddr) -> Result<TlsFront, BoxError> {
        let addr = if listen.port() == 0 { std::net::TcpListener::bind(listen)?.local_addr()? } else { listen };
        let mut child = Command::new("socat")
            .arg(format!(
                "OPENSSL-LISTEN:{},bind={},reuseaddr,fork,verify=0,cert={},key={}",
                addr.port(),
                addr.ip(),
                pki.certificate.display(),
                pki.key.display()
            ))
            .arg(format!("TCP:{target}"))
            .stdout(Stdio::null())
            // It would report the readiness probe below as a failed handshake.
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("socat: {e} (apt-get install socat)"))?;
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Ok(TlsFront { _child: child, addr });
            }
            if let Some(status) = child.try_wait()? {
                return Err(format!("socat exited early with {status}").into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!("socat did not listen on {addr} within 5 s").into())
    }
}
