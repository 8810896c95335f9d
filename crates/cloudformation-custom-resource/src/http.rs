//! The ResponseURL transport over `reqwest`.

use std::time::Duration;

use crate::{ResponseTransport, ResponseUrl, TransportError};
use remote_exports_shared::{is_untrusted_certificate, source_chain};

/// PUTs answers to presigned S3 URLs with `reqwest`.
///
/// It sends an empty `Content-Type`, because the presigned signature covers one and S3 refuses
/// any other; it gives each attempt the driver's time; it never follows a redirect (the answer goes
/// to the bound URL or nowhere: a 3xx is returned as it is, and the driver treats it as final); and
/// it reports a certificate the client does not trust as [`TransportError::Untrusted`], which is
/// final. Its errors never contain the URL's query string.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
}

impl HttpTransport {
    /// A client with reqwest's default TLS roots and a 5-second connect timeout.
    pub fn new() -> Result<Self, reqwest::Error> {
        HttpTransport::from_builder(reqwest::Client::builder().connect_timeout(Duration::from_secs(5)))
    }

    /// Sends through a client built from `builder`: your own roots, proxy or timeouts. Redirects
    /// are turned off whatever the builder says: a bound URL that redirects must not carry the
    /// answer elsewhere.
    pub fn from_builder(builder: reqwest::ClientBuilder) -> Result<Self, reqwest::Error> {
        let client = builder.redirect(reqwest::redirect::Policy::none()).build()?;
        Ok(HttpTransport { client })
    }
}

impl ResponseTransport for HttpTransport {
    async fn put(&self, url: &ResponseUrl, body: Vec<u8>, timeout: Duration) -> Result<u16, TransportError> {
        let sent = self
            .client
            .put(url.expose().clone())
            .header(reqwest::header::CONTENT_TYPE, "")
            .body(body)
            .timeout(timeout)
            .send()
            .await;
        match sent {
            Ok(response) => Ok(response.status().as_u16()),
            Err(error) if error.is_timeout() => Err(TransportError::Timeout),
            // Without the URL: its query string is a bearer token.
            Err(error) => {
                let text = source_chain(&error.without_url());
                if is_untrusted_certificate(&text) {
                    Err(TransportError::Untrusted(text))
                } else {
                    Err(TransportError::Network(text))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// Answers one request with `status` and returns what it received.
    fn one_shot_server(status: u16) -> (u16, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut received = Vec::new();
            let mut buffer = [0u8; 4096];
            while !String::from_utf8_lossy(&received).contains("\r\n\r\n{}") {
                let n = stream.read(&mut buffer).unwrap();
                if n == 0 {
                    break;
                }
                received.extend_from_slice(&buffer[..n]);
            }
            write!(stream, "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").unwrap();
            String::from_utf8_lossy(&received).into_owned()
        });
        (port, handle)
    }

    #[tokio::test]
    async fn puts_the_body_with_an_empty_content_type() {
        let (port, server) = one_shot_server(200);
        let status = HttpTransport::new()
            .unwrap()
            .put(&crate::testing::loopback_url(port), b"{}".to_vec(), Duration::from_secs(5))
            .await;
        assert_eq!(status, Ok(200));
        let received = server.join().unwrap().to_ascii_lowercase();
        assert!(received.starts_with("put /cloudformation-custom-resource-response-euwest1/"), "{received}");
        assert!(received.contains("\r\ncontent-type: \r\n"), "{received}");
        assert!(received.contains("\r\ncontent-length: 2\r\n"), "{received}");
    }

    #[tokio::test]
    async fn a_redirect_is_returned_as_it_is_and_never_followed() {
        // The redirect target counts what reaches it; it must stay at zero.
        let target = TcpListener::bind("127.0.0.1:0").unwrap();
        target.set_nonblocking(true).unwrap();
        let location = format!("http://127.0.0.1:{}/elsewhere", target.local_addr().unwrap().port());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer).unwrap();
            write!(stream, "HTTP/1.1 307 Temporary Redirect\r\nlocation: {location}\r\ncontent-length: 0\r\n\r\n")
                .unwrap();
        });
        let status = HttpTransport::from_builder(reqwest::Client::builder())
            .unwrap()
            .put(&crate::testing::loopback_url(port), b"{}".to_vec(), Duration::from_secs(5))
            .await;
        server.join().unwrap();
        assert_eq!(status, Ok(307));
        assert!(target.accept().is_err(), "the redirect was followed");
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_network_error_without_the_signature() {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let error = HttpTransport::new()
            .unwrap()
            .put(&crate::testing::loopback_url(port), b"{}".to_vec(), Duration::from_secs(5))
            .await;
        let Err(TransportError::Network(text)) = error else { panic!("{error:?}") };
        assert!(!text.contains("secret"), "{text}");
    }
}
