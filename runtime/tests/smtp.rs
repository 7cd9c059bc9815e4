//! Delivery through a real SMTP server: `tests/smtp/server.py` (Python aiosmtpd) on loopback,
//! with AUTH, a recipient that gets 451 and one that gets 550. Checks the bytes the server
//! received (headers, RFC 2047 subject, multipart parts, unsubscribe headers only on marketing
//! mail), the DKIM signature (verified by dkimpy, an independent implementation), and how each
//! SMTP answer becomes an `Outcome`.
//!
//! Needs `pip install aiosmtpd==1.4.6 dkimpy==1.1.8`; without them the test fails and says so.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use chrono::{TimeZone, Utc};
use journey_compiler::bytecode::{Category, Channel};
use journey_runtime::delivery::config::{Dkim, Smtp, Tls, Transport};
use journey_runtime::delivery::{Config, Deliverer, Outcome};
use journey_runtime::vm::Message;

const PIP: &str = "pip install aiosmtpd==1.4.6 dkimpy==1.1.8";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn script() -> PathBuf {
    repo().join("tests/smtp/server.py")
}

/// The test server; killed when dropped, also when the test panics.
struct Server {
    child: Child,
    port: u16,
    folder: PathBuf,
}

impl Server {
    fn start(user: &str, password: &str) -> Server {
        let check = Command::new("python3")
            .args(["-c", "import aiosmtpd, dkim"])
            .output();
        match check {
            Ok(output) if output.status.success() => {}
            Ok(output) => panic!(
                "the SMTP test needs Python's aiosmtpd and dkimpy: run `{PIP}`\n{}",
                String::from_utf8_lossy(&output.stderr)
            ),
            Err(error) => panic!("the SMTP test needs python3 ({error}) and `{PIP}`"),
        }
        let port = free_port();
        let folder =
            std::env::temp_dir().join(format!("journey-smtp-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&folder);
        let mut child = Command::new("python3")
            .arg(script())
            .args(["serve", "--port", &port.to_string(), "--folder"])
            .arg(&folder)
            .args(["--user", user, "--password", password])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 starts");
        // The server prints `ready` once it accepts connections; EOF means it died.
        let mut line = String::new();
        let stdout = child.stdout.take().unwrap();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let server = Server {
            child,
            port,
            folder,
        };
        assert_eq!(
            line.trim(),
            "ready",
            "the SMTP server did not start (see stderr)"
        );
        server
    }

    /// Every received message: (envelope JSON, raw bytes), in arrival order.
    fn received(&self) -> Vec<(serde_json::Value, String)> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.folder)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "eml"))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|eml| {
                let side = std::fs::read(eml.with_extension("json")).unwrap();
                let bytes = std::fs::read(&eml).unwrap();
                (
                    serde_json::from_slice(&side).unwrap(),
                    String::from_utf8(bytes).unwrap(),
                )
            })
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn config(port: u16, password: &str) -> Config {
    Config {
        from: "Caffè Aroma <ciao@caffearoma.it>".to_string(),
        reply_to: None,
        transport: Transport::Smtp(Smtp {
            host: "127.0.0.1".to_string(),
            port: Some(port),
            tls: Tls::None,
            username: Some("journey".to_string()),
            password: Some(password.to_string()),
            password_env: None,
            pool_size: 2,
            timeout_seconds: 10,
        }),
        rate_limit_per_second: Some(100),
        dkim: Some(Dkim {
            domain: "caffearoma.it".to_string(),
            selector: "journey".to_string(),
            private_key_file: repo().join("tests/smtp/dkim-test.pem"),
        }),
    }
}

fn message(id: &str, category: Category, to: &str) -> Message {
    let marketing = category == Category::Marketing;
    Message {
        message_id: format!("<{id}.welcome@caffearoma.it>"),
        journey: "welcome".to_string(),
        instance: 1,
        step: "send hello".to_string(),
        template: if marketing { "offer" } else { "receipt" }.to_string(),
        channel: Channel::Email,
        category,
        to: Some(to.to_string()),
        subject: Some("Il tuo caffè è in viaggio ☕".to_string()),
        preheader: None,
        text: "Ciao!\n\nIl tuo ordine è partito.\n".to_string(),
        html: marketing.then(|| "<p>Ciao!</p>\n<p>Il tuo ordine è partito.</p>\n".to_string()),
        unsubscribe_url: marketing.then(|| "https://caffearoma.it/u/marco/abc123".to_string()),
        coupons: Vec::new(),
    }
}

/// The header block, unfolded: (name, value) pairs.
fn headers(raw: &str) -> Vec<(String, String)> {
    let head = raw.split("\r\n\r\n").next().unwrap();
    let mut out: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            out.last_mut().unwrap().1.push_str(line);
        } else {
            let (name, value) = line.split_once(':').unwrap();
            out.push((name.to_string(), value.trim().to_string()));
        }
    }
    out
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn dkim_verifies(raw: &str) -> Result<(), String> {
    let file = std::env::temp_dir().join(format!("journey-dkim-{}.eml", std::process::id()));
    std::fs::write(&file, raw).unwrap();
    let output = Command::new("python3")
        .arg(script())
        .args(["verify", "--dns"])
        .arg(repo().join("tests/smtp/dkim-test.dns"))
        .arg(&file)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&file);
    let said = String::from_utf8_lossy(&output.stdout).to_string();
    if output.status.success() && said.trim() == "pass" {
        Ok(())
    } else {
        Err(format!("{said}{}", String::from_utf8_lossy(&output.stderr)))
    }
}

#[tokio::test]
async fn messages_go_through_a_real_smtp_server() {
    let server = Server::start("journey", "s3cret");
    let deliverer = Deliverer::new(&config(server.port, "s3cret"), &repo())
        .await
        .unwrap();
    let date = Utc.with_ymd_and_hms(2026, 11, 23, 9, 30, 0).unwrap();

    let receipt = message("receipt", Category::Transactional, "giulia@example.org");
    let offer = message("offer", Category::Marketing, "marco@example.org");
    assert_eq!(deliverer.deliver(&receipt, date).await, Outcome::Delivered);
    assert_eq!(deliverer.deliver(&offer, date).await, Outcome::Delivered);

    // 451 for the recipient: try again later.
    let later = deliverer
        .deliver(
            &message("later", Category::Transactional, "tempfail@example.org"),
            date,
        )
        .await;
    let Outcome::Retry { reason } = &later else {
        panic!("451 should be retried: {later:?}")
    };
    assert!(reason.contains("451"), "{reason}");

    // 550 5.1.1: a dead letter, and the address is suppressed.
    let never = deliverer
        .deliver(
            &message("never", Category::Marketing, "reject@example.org"),
            date,
        )
        .await;
    let Outcome::Permanent { reason, suppress } = &never else {
        panic!("550 should be permanent: {never:?}")
    };
    assert!(
        reason.contains("550") && reason.contains("5.1.1"),
        "{reason}"
    );
    assert!(*suppress);

    let received = server.received();
    assert_eq!(received.len(), 2, "only the accepted messages arrive");

    let (envelope, raw) = &received[0];
    assert_eq!(envelope["mail_from"], "ciao@caffearoma.it");
    assert_eq!(
        envelope["rcpt_tos"],
        serde_json::json!(["giulia@example.org"])
    );
    assert_eq!(envelope["login"], "journey", "AUTH was used");
    let receipt_headers = headers(raw);
    assert_eq!(
        header(&receipt_headers, "Message-ID"),
        Some("<receipt.welcome@caffearoma.it>")
    );
    assert_eq!(header(&receipt_headers, "To"), Some("giulia@example.org"));
    assert_eq!(
        header(&receipt_headers, "X-Journey"),
        Some("welcome/receipt")
    );
    assert_eq!(header(&receipt_headers, "List-Unsubscribe"), None);
    assert_eq!(header(&receipt_headers, "List-Unsubscribe-Post"), None);
    assert_eq!(
        header(&receipt_headers, "Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    // The subject is RFC 2047 encoded: ASCII words stay readable, the others are encoded.
    let subject = header(&receipt_headers, "Subject").unwrap();
    assert!(subject.starts_with("Il tuo =?utf-8?b?"), "{subject}");
    assert!(raw.is_ascii(), "everything is encoded for the wire");
    dkim_verifies(raw).unwrap();

    let (envelope, raw) = &received[1];
    assert_eq!(
        envelope["rcpt_tos"],
        serde_json::json!(["marco@example.org"])
    );
    let offer_headers = headers(raw);
    assert_eq!(
        header(&offer_headers, "Message-ID"),
        Some("<offer.welcome@caffearoma.it>")
    );
    assert_eq!(
        header(&offer_headers, "List-Unsubscribe"),
        Some("<https://caffearoma.it/u/marco/abc123>")
    );
    assert_eq!(
        header(&offer_headers, "List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    let content_type = header(&offer_headers, "Content-Type").unwrap();
    assert!(
        content_type.starts_with("multipart/alternative; boundary="),
        "{content_type}"
    );
    let plain = raw.find("Content-Type: text/plain; charset=utf-8").unwrap();
    let html = raw.find("Content-Type: text/html; charset=utf-8").unwrap();
    assert!(plain < html, "the text part comes first");
    // The DKIM signature covers both unsubscribe headers, and an independent verifier agrees.
    let signature: String = header(&offer_headers, "DKIM-Signature")
        .unwrap()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    assert!(signature.contains("a=rsa-sha256;"), "{signature}");
    assert!(
        signature.contains(":list-unsubscribe:list-unsubscribe-post:"),
        "{signature}"
    );
    dkim_verifies(raw).unwrap();
    let tampered = raw.replace("abc123", "abc124");
    assert!(dkim_verifies(&tampered).is_err(), "tampering is detected");

    deliverer.shutdown().await;
}

#[tokio::test]
async fn wrong_credentials_and_a_dead_relay_are_retried() {
    let server = Server::start("journey", "s3cret");
    let date = Utc.with_ymd_and_hms(2026, 11, 23, 9, 30, 0).unwrap();
    let receipt = message("receipt", Category::Transactional, "giulia@example.org");

    // 535: our settings are wrong, not the message; fixing them must deliver the backlog.
    let deliverer = Deliverer::new(&config(server.port, "wrong"), &repo())
        .await
        .unwrap();
    let outcome = deliverer.deliver(&receipt, date).await;
    let Outcome::Retry { reason } = &outcome else {
        panic!("bad credentials should be retried: {outcome:?}")
    };
    assert!(reason.contains("535"), "{reason}");
    assert!(server.received().is_empty());

    // Nothing listening: a connection error, retried.
    let deliverer = Deliverer::new(&config(free_port(), "s3cret"), &repo())
        .await
        .unwrap();
    let outcome = deliverer.deliver(&receipt, date).await;
    assert!(matches!(outcome, Outcome::Retry { .. }), "{outcome:?}");
}
