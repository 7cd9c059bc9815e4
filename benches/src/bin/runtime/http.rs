//! A small HTTP/1.1 client with keep-alive over tokio's `TcpStream`: enough for the ingest API
//! (a JSON body in; the status and the body out). One [`Client`] is one connection, used by one
//! task at a time, as a shop's back end keeps a connection per worker.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::Error;

/// The longest a request may take (reading every customer of a million takes a while).
const TIMEOUT: Duration = Duration::from_secs(600);

/// An answer.
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The body, as text.
    pub body: String,
}

/// One keep-alive connection to the server, opened on first use and again after the server
/// closed it.
pub struct Client {
    addr: SocketAddr,
    conn: Option<BufReader<TcpStream>>,
}

impl Client {
    /// A client of the server at `addr` (not connected yet).
    pub fn new(addr: SocketAddr) -> Client {
        Client { addr, conn: None }
    }

    /// Sends one request and reads its answer. A request on a connection the server closed in
    /// between is sent again once on a new connection (events carry an idempotency key, so a
    /// repeated post is answered `duplicate`, never processed twice).
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Result<Response, Error> {
        let reused = self.conn.is_some();
        match self.attempt(method, path, body).await {
            Ok(response) => Ok(response),
            Err(_) if reused => {
                self.conn = None;
                self.attempt(method, path, body).await
            }
            Err(error) => Err(error),
        }
    }

    /// `request`, requiring the `expected` status.
    pub async fn expect(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&str>,
        expected: u16,
    ) -> Result<String, Error> {
        let response = self.request(method, path, body).await?;
        if response.status == expected {
            Ok(response.body)
        } else {
            Err(Error(format!(
                "{method} {path} answered {}: {}",
                response.status,
                response.body.chars().take(300).collect::<String>()
            )))
        }
    }

    async fn attempt(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Result<Response, Error> {
        let result = tokio::time::timeout(TIMEOUT, self.exchange(method, path, body)).await;
        match result {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(error)) => {
                self.conn = None;
                Err(error)
            }
            Err(_) => {
                self.conn = None;
                Err(Error(format!(
                    "{method} {path}: no answer in {} s",
                    TIMEOUT.as_secs()
                )))
            }
        }
    }

    async fn exchange(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Result<Response, Error> {
        if self.conn.is_none() {
            let stream = TcpStream::connect(self.addr).await?;
            stream.set_nodelay(true)?;
            self.conn = Some(BufReader::new(stream));
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err(Error("no connection".to_string()));
        };
        let body = body.unwrap_or("");
        // Head and body in one write: one segment for a small request.
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body.as_bytes());
        conn.get_mut().write_all(&request).await?;
        let head = read_head(conn).await?;
        let body = match head.length {
            Length::Fixed(length) => {
                let mut bytes = vec![0; length];
                conn.read_exact(&mut bytes).await?;
                bytes
            }
            Length::Chunked => read_chunked(conn).await?,
            Length::UntilClose => {
                let mut bytes = Vec::new();
                conn.read_to_end(&mut bytes).await?;
                bytes
            }
        };
        if head.close || matches!(head.length, Length::UntilClose) {
            self.conn = None;
        }
        Ok(Response {
            status: head.status,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}

/// How the body's end is known.
enum Length {
    Fixed(usize),
    Chunked,
    UntilClose,
}

/// The status line and the headers that matter.
struct Head {
    status: u16,
    length: Length,
    close: bool,
}

async fn read_head(conn: &mut BufReader<TcpStream>) -> Result<Head, Error> {
    let mut line = String::new();
    if conn.read_line(&mut line).await? == 0 {
        return Err(Error("the server closed the connection".to_string()));
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Error(format!("not an HTTP status line: {line:?}")))?;
    let mut head = Head {
        status,
        length: Length::Fixed(0),
        close: false,
    };
    let mut has_length = false;
    loop {
        line.clear();
        if conn.read_line(&mut line).await? == 0 {
            return Err(Error(
                "the server closed the connection mid-answer".to_string(),
            ));
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        match name.as_str() {
            "content-length" => {
                has_length = true;
                head.length = Length::Fixed(
                    value
                        .parse()
                        .map_err(|_| Error(format!("bad Content-Length {value:?}")))?,
                );
            }
            "transfer-encoding" if value.eq_ignore_ascii_case("chunked") => {
                has_length = true;
                head.length = Length::Chunked;
            }
            "connection" if value.eq_ignore_ascii_case("close") => head.close = true,
            _ => {}
        }
    }
    // A 204 or 304 has no body; anything else without a length runs until the connection closes.
    if !has_length && !matches!(status, 204 | 304) {
        head.length = Length::UntilClose;
    }
    Ok(head)
}

async fn read_chunked(conn: &mut BufReader<TcpStream>) -> Result<Vec<u8>, Error> {
    let mut body = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        conn.read_line(&mut line).await?;
        let size_text = line.trim().split(';').next().unwrap_or("");
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| Error(format!("bad chunk size {line:?}")))?;
        if size == 0 {
            // Trailers, then the empty line.
            loop {
                line.clear();
                if conn.read_line(&mut line).await? == 0 || line.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        if let Some(chunk) = body.get_mut(start..) {
            conn.read_exact(chunk).await?;
        }
        line.clear();
        conn.read_line(&mut line).await?;
    }
}
