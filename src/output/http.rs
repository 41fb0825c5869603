//! The metrics endpoint: `GET /metrics` over HTTP/1.1, served by hyper on one thread of its own
//! (a single-threaded tokio runtime), so that no client can hold it.
//!
//! - Connections are capped ([`MAX_CONNECTIONS`]); when the cap is reached, the oldest
//!   connection is closed to make room for the new one (counted in
//!   `voipsentinel_http_connections_evicted_total`). Clients that open connections and say
//!   nothing cannot keep Prometheus out: its connection is always the newest.
//! - A request head must arrive within [`HEADER_TIMEOUT`] (hyper's header read timeout, which
//!   also ends idle keep-alive connections) and may be at most [`MAX_HEAD_BYTES`]; a connection
//!   lives at most [`CONNECTION_LIFETIME`].
//! - Idle connections cost a small future each, not a thread.
//!
//! `GET`/`HEAD /metrics` answers 200 with the text exposition; another path 404; another method
//! on `/metrics` 405 (with `Allow`); malformed requests get hyper's 4xx. A panic while answering
//! ends that connection only.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};

use crate::output::metrics::{Metrics, CONTENT_TYPE as EXPOSITION};

/// Connections served at once; a new one beyond this closes the oldest.
pub const MAX_CONNECTIONS: usize = 64;
/// Time allowed for a request head to arrive (from connect, or after the previous response).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest life of one connection, however busy.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);
/// The largest request head read (hyper's minimum buffer); longer heads get 431.
pub const MAX_HEAD_BYTES: usize = 8 * 1024;

/// A running metrics server: stops when dropped or on [`ServerHandle::shutdown`].
pub struct ServerHandle {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ServerHandle {
    /// The address the server listens on (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop serving, close every connection and wait for the server thread to end.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Listen on `addr` (bound before returning, so a port in use is the caller's error) and serve
/// the metrics from a thread of its own.
pub fn serve(metrics: Arc<Metrics>, addr: SocketAddr) -> io::Result<ServerHandle> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("metrics-http".into())
        .spawn(move || runtime.block_on(accept_loop(listener, metrics, stopped)))?;
    Ok(ServerHandle {
        addr: local,
        stop: Some(stop),
        thread: Some(thread),
    })
}

async fn accept_loop(
    listener: std::net::TcpListener,
    metrics: Arc<Metrics>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    let mut connections = tokio::task::JoinSet::new();
    // Open connections, oldest first.
    let mut open: VecDeque<tokio::task::AbortHandle> = VecDeque::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            Some(done) = connections.join_next_with_id() => {
                let id = match done {
                    Ok((id, ())) => id,
                    Err(e) => e.id(),
                };
                open.retain(|h| h.id() != id);
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    if open.len() >= MAX_CONNECTIONS {
                        if let Some(oldest) = open.pop_front() {
                            oldest.abort();
                            metrics.http_connections_evicted_total.inc();
                        }
                    }
                    let m = Arc::clone(&metrics);
                    open.push_back(connections.spawn(serve_connection(stream, m)));
                }
                // Out of file descriptors, a connection reset before accept...: back off, go on.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }
    connections.shutdown().await;
}

async fn serve_connection(stream: tokio::net::TcpStream, metrics: Arc<Metrics>) {
    let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
        let answer = answer(&metrics, &req);
        async move { Ok::<_, Infallible>(answer) }
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_HEAD_BYTES)
        // A client may close its sending side once the request is out (as `nc -N` does): it
        // still gets its answer.
        .half_close(true);
    let conn = http.serve_connection(TokioIo::new(stream), service);
    let _ = tokio::time::timeout(CONNECTION_LIFETIME, conn).await;
}

fn answer<B>(metrics: &Metrics, req: &Request<B>) -> Response<Full<Bytes>> {
    let plain = |status: StatusCode, body: &'static str| {
        let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
        *r.status_mut() = status;
        r.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        r
    };
    if req.uri().path() != "/metrics" {
        return plain(StatusCode::NOT_FOUND, "not found\n");
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    // hyper leaves the body out of an answer to HEAD and keeps its Content-Length.
    let mut r = Response::new(Full::new(Bytes::from(metrics.encode())));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(EXPOSITION));
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Instant;

    /// Send raw bytes, return the whole answer (empty if the server closed without one).
    fn raw(addr: SocketAddr, req: &[u8]) -> String {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = s.write_all(req);
        let _ = s.shutdown(std::net::Shutdown::Write);
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    fn status_of(resp: &str) -> &str {
        resp.lines().next().unwrap_or_default()
    }

    fn local() -> SocketAddr {
        "127.0.0.1:0".parse().unwrap()
    }

    #[test]
    fn http_serves_metrics_and_404() {
        let m = Metrics::new();
        m.capture_packets_total.inc_by(7);
        let server = serve(Arc::clone(&m), local()).expect("bind");
        let addr = server.local_addr();
        assert_ne!(addr.port(), 0);

        let r = raw(addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(status_of(&r), "HTTP/1.1 200 OK", "{r}");
        let (head, body) = r.split_once("\r\n\r\n").expect("head and body");
        assert!(head
            .lines()
            .any(|l| l
                .eq_ignore_ascii_case("content-type: text/plain; version=0.0.4; charset=utf-8")));
        assert!(head
            .lines()
            .any(|l| l.eq_ignore_ascii_case(&format!("content-length: {}", body.len()))));
        assert!(body.contains("voipsentinel_capture_packets_total 7"));

        let r = raw(addr, b"GET /metrics?x=1 HTTP/1.0\r\n\r\n");
        assert_eq!(status_of(&r), "HTTP/1.0 200 OK");
        let r = raw(addr, b"HEAD /metrics HTTP/1.1\r\n\r\n");
        assert_eq!(status_of(&r), "HTTP/1.1 200 OK");
        assert!(r.ends_with("\r\n\r\n"), "HEAD has no body");
        for path in [
            "/",
            "/metricsx",
            "/metrics/",
            "/favicon.ico",
            "/../etc/passwd",
        ] {
            let r = raw(addr, format!("GET {path} HTTP/1.1\r\n\r\n").as_bytes());
            assert_eq!(status_of(&r), "HTTP/1.1 404 Not Found", "{path}");
        }
        let r = raw(addr, b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(status_of(&r), "HTTP/1.1 405 Method Not Allowed");
        assert!(r.to_ascii_lowercase().contains("allow: get, head"), "{r}");
        server.shutdown();
        assert!(TcpStream::connect(addr).is_err(), "listener closed");
    }

    #[test]
    fn http_survives_garbage() {
        let m = Metrics::new();
        let server = serve(Arc::clone(&m), local()).expect("bind");
        let addr = server.local_addr();
        let refused = |r: &str| r.is_empty() || status_of(r).starts_with("HTTP/1.1 4");
        for req in [
            &b"\x00\xff\xfe garbage\r\n\r\n"[..],
            b"GET\r\n\r\n",
            b"GET /metrics SIP/2.0\r\n\r\n",
            b"GET /metr",
            b"",
        ] {
            let r = raw(addr, req);
            assert!(
                refused(&r),
                "{:?}: {}",
                String::from_utf8_lossy(req),
                status_of(&r)
            );
        }
        // Oversized head.
        let mut big = b"GET /metrics HTTP/1.1\r\nX: ".to_vec();
        big.extend(std::iter::repeat_n(b'a', 64 * 1024));
        let r = raw(addr, &big);
        assert!(refused(&r), "{}", status_of(&r));
        // Many connections opened and dropped.
        for _ in 0..50 {
            drop(TcpStream::connect(addr).expect("connect"));
        }
        let r = raw(addr, b"GET /metrics HTTP/1.1\r\n\r\n");
        assert_eq!(status_of(&r), "HTTP/1.1 200 OK");
        drop(server);
    }

    /// 100 connections that say nothing (more than the cap) do not delay a scrape: it is
    /// answered at once, the oldest idle ones are closed to make room (and counted), and a
    /// silent connection is closed by the header timeout.
    #[test]
    fn a_scrape_is_answered_at_once_while_100_idle_connections_are_open() {
        let m = Metrics::new();
        let server = serve(Arc::clone(&m), local()).expect("bind");
        let addr = server.local_addr();
        let idle: Vec<TcpStream> = (0..100)
            .map(|_| TcpStream::connect(addr).expect("connect"))
            .collect();
        // Let the server accept them all.
        std::thread::sleep(Duration::from_millis(200));
        let t0 = Instant::now();
        let r = raw(addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        let took = t0.elapsed();
        assert_eq!(status_of(&r), "HTTP/1.1 200 OK");
        // Not a timing assertion on speed: far below the 5 s header timeout means the scrape
        // did not wait for an idle connection to be cut off.
        assert!(took < Duration::from_secs(2), "{took:?}");
        let evicted = m.http_connections_evicted_total.get();
        assert!(
            evicted >= (100 + 1 - MAX_CONNECTIONS) as u64,
            "{evicted} evicted"
        );
        // The newest idle connection is closed by the header timeout.
        let mut last = idle.into_iter().last().unwrap();
        last.set_read_timeout(Some(HEADER_TIMEOUT * 3)).unwrap();
        let t0 = Instant::now();
        let mut buf = [0u8; 256];
        let n = last.read(&mut buf).unwrap_or(0);
        assert!(t0.elapsed() < HEADER_TIMEOUT * 2, "{:?}", t0.elapsed());
        let got = String::from_utf8_lossy(&buf[..n]);
        assert!(n == 0 || got.starts_with("HTTP/1.1 408"), "{got}");
        drop(server);
    }
}
