//! `journey event send`: posts one event to a running `journey run` from the command line, as
//! the shop's back end would, and prints the answer. A small HTTP/1.1 client over a TCP stream
//! is enough for this (plain HTTP, typically on loopback; put a TLS proxy in front otherwise);
//! `journey plan` uses its [`get`] to read the running deployment.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::Duration;

use crate::check::usage_error;

/// Arguments of `journey event send`.
#[derive(clap::Args)]
pub struct SendArgs {
    /// The event's name, e.g. `order_placed`.
    event: String,
    /// The customer it is for.
    #[arg(long)]
    customer: String,
    /// The event's data as JSON (default `{}`); `@file.json` reads a file.
    #[arg(long, default_value = "{}")]
    data: String,
    /// When it happened (RFC 3339); default: now.
    #[arg(long)]
    at: Option<String>,
    /// The idempotency key: the same key posted twice is processed once.
    #[arg(long)]
    id: Option<String>,
    /// Where `journey run` listens.
    #[arg(long, default_value = "http://127.0.0.1:8787")]
    url: String,
    /// The bearer token (default: the `JOURNEY_TOKEN` environment variable).
    #[arg(long)]
    token: Option<String>,
}

/// Subcommands of `journey event`.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Post an event to a running `journey run`.
    Send(SendArgs),
}

/// Runs `journey event …`.
pub fn run(command: &Command) -> ExitCode {
    match command {
        Command::Send(args) => send(args),
    }
}

fn send(args: &SendArgs) -> ExitCode {
    let data_text = match args.data.strip_prefix('@') {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) => return usage_error(&format!("cannot read `{path}`: {error}")),
        },
        None => args.data.clone(),
    };
    let data: serde_json::Value = match serde_json::from_str(&data_text) {
        Ok(data) => data,
        Err(error) => {
            // serde_json's message ends with the line and column.
            let what = match args.data.strip_prefix('@') {
                Some(path) => format!("`{path}` (--data)"),
                None => "--data".to_string(),
            };
            return usage_error(&format!("{what} is not JSON: {error}"));
        }
    };
    let mut event = serde_json::Map::new();
    event.insert(
        "event".to_string(),
        serde_json::Value::String(args.event.clone()),
    );
    event.insert(
        "customer".to_string(),
        serde_json::Value::String(args.customer.clone()),
    );
    event.insert("data".to_string(), data);
    if let Some(at) = &args.at {
        event.insert("at".to_string(), serde_json::Value::String(at.clone()));
    }
    if let Some(id) = &args.id {
        event.insert("id".to_string(), serde_json::Value::String(id.clone()));
    }
    let event = serde_json::Value::Object(event);
    let token = args
        .token
        .clone()
        .or_else(|| std::env::var("JOURNEY_TOKEN").ok());
    let body = event.to_string();
    match post(&args.url, "/v1/events", &body, token.as_deref()) {
        Ok((status, answer)) => {
            println!("{answer}");
            if (200..300).contains(&status) {
                ExitCode::SUCCESS
            } else {
                eprint!("{}", refusal(status, &answer));
                ExitCode::from(1)
            }
        }
        Err(message) => usage_error(&message),
    }
}

/// What a refusal says, for people: the status and the message, then every problem of the
/// data on a line of its own.
fn refusal(status: u16, answer: &str) -> String {
    let error = serde_json::from_str::<serde_json::Value>(answer)
        .ok()
        .and_then(|body| body.get("error").cloned());
    let message = error
        .as_ref()
        .and_then(|error| error.get("message"))
        .and_then(serde_json::Value::as_str);
    let mut out = match message {
        Some(message) => format!("error: the runtime answered {status}: {message}\n"),
        None => format!("error: the runtime answered {status}\n"),
    };
    let problems = error
        .as_ref()
        .and_then(|error| error.get("problems"))
        .and_then(serde_json::Value::as_array);
    for problem in problems.into_iter().flatten() {
        let text = |key: &str| problem.get(key).and_then(serde_json::Value::as_str);
        let (Some(field), Some(expected), Some(found)) =
            (text("field"), text("expected"), text("found"))
        else {
            continue;
        };
        let event = problem
            .get("index")
            .and_then(serde_json::Value::as_u64)
            .map(|index| format!("event {index}: "))
            .unwrap_or_default();
        out.push_str(&format!(
            "  - {event}`{field}` should be {expected}, but is {found}\n"
        ));
    }
    out
}

/// Posts a JSON body; returns the status and the body of the answer.
pub fn post(
    url: &str,
    path: &str,
    body: &str,
    token: Option<&str>,
) -> Result<(u16, String), String> {
    request("POST", url, path, Some(body), token)
}

/// Gets a resource; returns the status and the body of the answer.
pub fn get(url: &str, path: &str, token: Option<&str>) -> Result<(u16, String), String> {
    request("GET", url, path, None, token)
}

/// One HTTP/1.1 request over a fresh connection (`Connection: close`).
fn request(
    method: &str,
    url: &str,
    path: &str,
    body: Option<&str>,
    token: Option<&str>,
) -> Result<(u16, String), String> {
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(format!(
            "`{url}` is not an http:// address (https is not supported here; use a local address)"
        ));
    };
    let authority = rest.trim_end_matches('/');
    let host = authority.split('/').next().unwrap_or(authority);
    let mut stream = TcpStream::connect(host)
        .map_err(|e| format!("cannot reach `journey run` at {url}: {e} (is it running?)"))?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let content = match body {
        Some(body) => format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ),
        None => String::new(),
    };
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{content}{auth}Accept: application/json\r\nConnection: close\r\n\r\n{}",
        body.unwrap_or("")
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("cannot send the request to {url}: {e}"))?;
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .map_err(|e| format!("no answer from {url}: {e}"))?;
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("the answer from {url} is not HTTP"))?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Ok((status, body.trim().to_string()))
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 {
            break;
        }
        out.push_str(after.get(..size).unwrap_or(after));
        rest = after.get(size + 2..).unwrap_or("");
    }
    out
}
