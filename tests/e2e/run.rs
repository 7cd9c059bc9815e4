//! `journey run` as a process: a temporary data folder, events posted over HTTP (also with
//! `journey event send`), messages read back from the outbox folder, restarts after SIGTERM and
//! after SIGKILL, a fast clock so waits of days take seconds.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{repo, temp_dir};

/// A running `journey run`, killed when dropped.
pub(super) struct Server {
    child: Child,
    pub(super) port: u16,
    data: PathBuf,
    log: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    pub(super) fn start(data: &Path, journeys: &Path, speed: u32) -> Server {
        Server::start_on(data, journeys, speed, free_port())
    }

    fn start_on(data: &Path, journeys: &Path, speed: u32, port: u16) -> Server {
        Server::spawn(data, journeys, speed, port, None)
    }

    /// With the configuration file `config`.
    fn start_with_config(data: &Path, journeys: &Path, speed: u32, config: &Path) -> Server {
        Server::spawn(data, journeys, speed, free_port(), Some(config))
    }

    fn spawn(data: &Path, journeys: &Path, speed: u32, port: u16, config: Option<&Path>) -> Server {
        let log = data.with_extension(format!("log-{port}-{}", std::process::id()));
        let config_args = config
            .map(|config| vec!["--config".to_string(), config.display().to_string()])
            .unwrap_or_default();
        let child = Command::new(env!("CARGO_BIN_EXE_journey"))
            .args([
                "run",
                journeys.to_str().unwrap(),
                "--data",
                data.to_str().unwrap(),
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--speed",
                &speed.to_string(),
            ])
            .args(config_args)
            .current_dir(data.parent().unwrap())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("journey run starts");
        let server = Server {
            child,
            port,
            data: data.to_path_buf(),
            log,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok((200, _)) = http(self.port, "GET", "/healthz", None) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("journey run did not start:\n{}", self.log_text());
    }

    pub(super) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub(super) fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGHUP (compile the folder again and deploy) and waits until the log says `done`.
    /// Sends SIGHUP and waits until the log says each of `said` (lines of the deploy and of the
    /// writer's work after it come from different threads, in either order).
    fn hangup_until(&self, said: &[&str]) {
        let _ = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let log = self.log_text();
            if said.iter().all(|text| log.contains(text)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "after SIGHUP the log never said all of {said:?}:\n{}",
            self.log_text()
        );
    }

    pub(super) fn terminate(mut self) -> (Option<i32>, String) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return (status.code(), self.log_text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("journey run did not stop on SIGTERM:\n{}", self.log_text());
    }

    fn emails(&self) -> Vec<String> {
        let dir = self.data.join("outbox");
        let mut found: Vec<String> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .filter_map(|p| std::fs::read_to_string(p).ok())
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        found
    }

    fn wait_for_email(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(email) = self.emails().into_iter().find(|e| e.contains(needle)) {
                return email;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "no email containing {needle:?}; emails: {:#?}\nlog:\n{}",
            self.emails(),
            self.log_text()
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tiny HTTP/1.1 client: status and body.
pub(super) fn http(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes())?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, body.to_string()))
}

pub(super) const GIULIA: &str = r#"{"email":"giulia@example.it","first_name":"Giulia","time_zone":"Europe/Rome","locale":"it-IT","orders_count":2,"total_spent":"10 EUR","points":0,"email_consent":true,"sms_consent":false}"#;

pub(super) fn order(id: &str) -> String {
    format!(
        r#"{{"order_id":"{id}","placed_at":"2026-11-23T10:00:00+01:00","total":"59.80 EUR","items":[{{"product_id":"MOKA-3","name":"Moka Express","quantity":2,"price":"29.90 EUR","related":[]}}],"shipping_method":"Corriere","shipping_address":{{"name":"Giulia Rossi","street":"Via Po 3","city":"Torino","postal_code":"10124","country":"Italia"}},"expected_delivery":"2026-11-28","promised_ship_by":"2026-01-01","payment_method":"Carta","first_order":false,"suggested_products":[],"suggested_product_ids":[]}}"#
    )
}

/// Posts an `order_placed` event (id `event_id`) for a customer and expects it processed.
/// Posts `order_placed` for `order_id` as event `event_id`: answered 200, with this answer.
pub(super) fn place_order(port: u16, customer: &str, event_id: &str, order_id: &str) -> String {
    let body = format!(
        r#"{{"event":"order_placed","customer":"{customer}","id":"{event_id}","data":{}}}"#,
        order(order_id)
    );
    let (status, answer) = http(port, "POST", "/v1/events", Some(&body)).unwrap();
    assert_eq!(status, 200, "{answer}");
    answer
}

pub(super) fn journeys_dir() -> PathBuf {
    repo().join("journeys")
}

#[test]
fn run_takes_events_over_http_and_writes_the_messages_to_the_outbox() {
    let dir = temp_dir("run-basic");
    let server = Server::start(&dir.join("data"), &journeys_dir(), 1);
    let (status, _) = http(server.port, "PUT", "/v1/customers/giulia", Some(GIULIA)).unwrap();
    assert_eq!(status, 204);
    // The command-line client, as an operator would use it.
    let send_support_request = |data: &str| {
        Command::new(env!("CARGO_BIN_EXE_journey"))
            .args(["event", "send", "support_request", "--customer", "giulia"])
            .args(["--data", data])
            .args(["--url", &format!("http://127.0.0.1:{}", server.port)])
            .output()
            .unwrap()
    };
    let sent = send_support_request(
        r#"{"ticket_id":"T-1","subject":"Reso","channel":"email","max_response_hours":48}"#,
    );
    assert_eq!(
        sent.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    assert!(String::from_utf8_lossy(&sent.stdout).contains("processed"));
    // A refused event: exit code 1, the answer on stdout, every problem on stderr.
    let refused = send_support_request(r#"{"ticket_id":"T-2","max_response_hours":"two days"}"#);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stdout).contains("\"problems\""));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.starts_with("error: the runtime answered 422: event `support_request`:"),
        "{stderr}"
    );
    for line in [
        "  - `channel` should be text, but is missing",
        "  - `max_response_hours` should be a whole number, but is the text \"two days\"",
        "  - `subject` should be text, but is missing",
    ] {
        assert!(stderr.contains(line), "{line} not in {stderr}");
    }
    let email = server.wait_for_email("T-1");
    assert!(email.contains("Message-ID: <"), "{email}");
    assert!(email.contains("To: giulia@example.it"), "{email}");
    assert!(email.contains("multipart/alternative"), "{email}");
    // Where the customer stands, and why.
    let (status, body) = http(server.port, "GET", "/v1/customers/giulia", None).unwrap();
    assert_eq!(status, 200);
    let view: serde_json::Value = serde_json::from_str(&body).unwrap();
    let kinds: Vec<&str> = view["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"entered") && kinds.contains(&"sent"),
        "{body}"
    );
    // The delivery is in the log, counted as the first attempt (the file transport records no
    // attempt before writing).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = http(server.port, "GET", "/v1/customers/giulia", None).unwrap();
        if body.contains("delivered (attempt 1)") {
            // Named by its journey and template, as a marketer knows it.
            let view: serde_json::Value = serde_json::from_str(&body).unwrap();
            let delivered = view["decisions"]
                .as_array()
                .and_then(|d| d.iter().find(|d| d["kind"] == "delivered"))
                .cloned()
                .unwrap_or_default();
            assert_eq!(delivered["journey"], "support_auto_reply", "{body}");
            assert!(
                delivered["why"]
                    .as_str()
                    .is_some_and(|why| why.starts_with("`support_auto_reply_email` delivered")),
                "{body}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "no delivery in the log: {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // A malformed event is refused, naming the field, and nothing is stored.
    let bad = r#"{"event":"support_request","customer":"marco","data":{"ticket_id":"T-2","subject":"x","channel":"email","max_response_hours":"soon"}}"#;
    let (status, body) = http(server.port, "POST", "/v1/events", Some(bad)).unwrap();
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("max_response_hours"), "{body}");
    let (status, _) = http(server.port, "GET", "/v1/customers/marco", None).unwrap();
    assert_eq!(status, 404);
    let (code, log) = server.terminate();
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("stopped"), "{log}");
}

#[test]
fn after_kill_9_and_a_restart_the_waits_end_and_nothing_is_sent_twice() {
    let dir = temp_dir("run-crash");
    let data = dir.join("data");
    // One virtual day per second: the three-day shipping wait ends three seconds later.
    let server = Server::start(&data, &journeys_dir(), 86_400);
    http(server.port, "PUT", "/v1/customers/giulia", Some(GIULIA)).unwrap();
    place_order(server.port, "giulia", "order-A1", "A1");
    // Acknowledged means on disk: kill it at once.
    server.kill();
    let server = Server::start(&data, &journeys_dir(), 86_400);
    // The same post again (a client retrying): processed once.
    let answer = place_order(server.port, "giulia", "order-A1", "A1");
    assert!(answer.contains("duplicate"), "{answer}");
    server.wait_for_email("X-Journey: order_confirmation/");
    let delay = server.wait_for_email("ritardo");
    assert!(delay.contains("A1"), "{delay}");
    // Each message once, whatever the crash: files are named after the Message-ID.
    let emails = server.emails();
    let confirmations = emails
        .iter()
        .filter(|e| e.contains("X-Journey: order_confirmation/"))
        .count();
    assert_eq!(confirmations, 1, "{emails:#?}");
    // The webhook to the shop's team went to the outbox's `other` folder.
    let others: Vec<PathBuf> = std::fs::read_dir(data.join("outbox").join("other"))
        .map(|e| e.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    assert_eq!(others.len(), 1, "{others:?}");
}

#[test]
fn a_store_in_memory_runs_the_journeys_says_so_and_keeps_nothing() {
    let dir = temp_dir("run-memory");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let config = dir.join("journey.toml");
    std::fs::write(&config, "[store]\nbackend = \"memory\"\n").unwrap();
    let server = Server::start_with_config(&data, &journeys_dir(), 1, &config);
    http(server.port, "PUT", "/v1/customers/giulia", Some(GIULIA)).unwrap();
    place_order(server.port, "giulia", "order-A1", "A1");
    server.wait_for_email("X-Journey: order_confirmation/");
    let log = server.log_text();
    assert!(log.contains("store in memory, not kept"), "{log}");
    assert!(log.contains("lost when journey run stops"), "{log}");
    assert!(!data.join("store").exists(), "nothing of the store on disk");
    let (code, _) = server.terminate();
    assert_eq!(code, Some(0));
    // Started again: giulia is not known any more, and her order is new.
    let server = Server::start_with_config(&data, &journeys_dir(), 1, &config);
    let (status, _) = http(server.port, "GET", "/v1/customers/giulia", None).unwrap();
    assert_eq!(status, 404);
    let answer = place_order(server.port, "giulia", "order-A1", "A1");
    assert!(answer.contains("processed"), "{answer}");
    server.terminate();
}

#[test]
fn a_folder_that_does_not_compile_is_refused_at_the_first_start() {
    let dir = temp_dir("run-broken");
    let journeys = dir.join("journeys");
    std::fs::create_dir_all(&journeys).unwrap();
    std::fs::write(
        journeys.join("bad.journey"),
        "journey x {\n  when order_shiped\n  send email y\n}\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_journey"))
        .args([
            "run",
            journeys.to_str().unwrap(),
            "--data",
            dir.join("data").to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{}", free_port()),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("unknown event `order_shiped`"), "{err}");
}

/// Copies the shipped journeys to `dir`, changing the subject of the delay notice.
fn journeys_with_new_delay_subject(dir: &Path) -> PathBuf {
    let copy = dir.join("journeys-v2");
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(journeys_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "journey") {
            let text = std::fs::read_to_string(&path).unwrap().replace(
                "subject \"Il tuo ordine {{ order.order_id }} è in ritardo: ci dispiace\"",
                "subject \"Aggiornamento sul tuo ordine {{ order.order_id }}\"",
            );
            std::fs::write(copy.join(path.file_name().unwrap()), text).unwrap();
        }
    }
    copy
}

#[test]
fn customers_mid_journey_finish_on_their_version_after_a_deploy() {
    let dir = temp_dir("run-versions");
    let data = dir.join("data");
    // One virtual hour per second: the three-day wait lasts 72 seconds, long enough to redeploy.
    let server = Server::start(&data, &journeys_dir(), 3600);
    http(server.port, "PUT", "/v1/customers/giulia", Some(GIULIA)).unwrap();
    http(
        server.port,
        "PUT",
        "/v1/customers/marco",
        Some(&GIULIA.replace("giulia@", "marco@")),
    )
    .unwrap();
    place_order(server.port, "giulia", "o1", "OLD1");
    let (code, _) = server.terminate();
    assert_eq!(code, Some(0));
    // Deploy a changed delay notice: giulia is waiting in the old version.
    let v2 = journeys_with_new_delay_subject(&dir);
    let server = Server::start(&data, &v2, 86_400);
    assert!(
        server.log_text().contains("shipping_delay: version"),
        "{}",
        server.log_text()
    );
    place_order(server.port, "marco", "o2", "NEW2");
    let old_notice = server.wait_for_email("OLD1 =C3=A8 in ritardo");
    assert!(old_notice.contains("giulia@example.it"));
    let new_notice = server.wait_for_email("Aggiornamento sul tuo ordine NEW2");
    assert!(new_notice.contains("marco@example.it"));
    assert!(
        !server
            .emails()
            .iter()
            .any(|e| e.contains("Aggiornamento sul tuo ordine OLD1"))
    );
}

/// Writes the shipped journeys to `folder`, the shipping-delay journey changed by `edit`.
fn journeys_with_shipping_delay(folder: &Path, edit: impl Fn(&str) -> String) {
    std::fs::create_dir_all(folder).unwrap();
    for entry in std::fs::read_dir(journeys_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "journey") {
            let mut text = std::fs::read_to_string(&path).unwrap();
            if text.contains("journey shipping_delay ") {
                text = edit(&text);
            }
            std::fs::write(folder.join(path.file_name().unwrap()), text).unwrap();
        }
    }
}

const SHIPMENT_WAIT: &str =
    "  wait for order_shipped where it.order_id == order.order_id up to 3 days {";

#[test]
fn a_deploy_with_a_migration_moves_the_waiting_customers_to_the_new_version() {
    let dir = temp_dir("run-migrate");
    let data = dir.join("data");
    let folder = dir.join("journeys");
    // Version 1 labels the wait for the shipment.
    journeys_with_shipping_delay(&folder, |text| {
        text.replace(
            SHIPMENT_WAIT,
            &format!("  step awaiting_shipment:\n{SHIPMENT_WAIT}"),
        )
    });
    // Two virtual hours per second: the three-day wait would last 36 seconds.
    let server = Server::start(&data, &folder, 7200);
    http(server.port, "PUT", "/v1/customers/giulia", Some(GIULIA)).unwrap();
    place_order(server.port, "giulia", "o1", "MIG1");
    // Version 2 waits two hours only, with a new subject, and moves the customers waiting.
    journeys_with_shipping_delay(&folder, |text| {
        text.replace(
            SHIPMENT_WAIT,
            &format!(
                "  migrate {{\n    awaiting_shipment -> awaiting_shipment\n  }}\n  step awaiting_shipment:\n{}",
                SHIPMENT_WAIT.replace("up to 3 days", "up to 2 hours")
            ),
        )
        .replace(
            "subject \"Il tuo ordine {{ order.order_id }} è in ritardo: ci dispiace\"",
            "subject \"Aggiornamento sul tuo ordine {{ order.order_id }}\"",
        )
    });
    // `journey plan` says what the deploy will do before it is done.
    let plan = super::journey(&[
        "plan",
        folder.to_str().unwrap(),
        "--url",
        &format!("http://127.0.0.1:{}", server.port),
    ]);
    assert_eq!(plan.status.code(), Some(0), "{}", super::stderr(&plan));
    assert!(
        super::stdout(&plan).contains(
            "1 customer at `awaiting_shipment` moves to `awaiting_shipment`; no customers stay on"
        ),
        "{}",
        super::stdout(&plan)
    );
    server.hangup_until(&[
        "migration done",
        "customers at `awaiting_shipment` are migrated",
    ]);
    // The wait starts again at the deploy: two virtual hours, one real second.
    let notice = server.wait_for_email("Aggiornamento sul tuo ordine MIG1");
    assert!(notice.contains("giulia@example.it"));
    let (status, body) = http(server.port, "GET", "/v1/customers/giulia", None).unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("moved from `awaiting_shipment`"), "{body}");
    assert!(
        !server
            .emails()
            .iter()
            .any(|e| e.contains("MIG1 =C3=A8 in ritardo"))
    );
    // The store remembers the migration is done: a restart on the same version does not sweep
    // the customers again.
    let (code, _) = server.terminate();
    assert_eq!(code, Some(0));
    let server = Server::start(&data, &folder, 7200);
    assert!(
        !server.log_text().contains("migrating customers"),
        "{}",
        server.log_text()
    );
}

#[test]
fn journey_deploy_refuses_a_broken_folder_and_deploys_a_fixed_one() {
    let dir = temp_dir("run-deploy");
    let data = dir.join("data");
    let folder = dir.join("journeys");
    journeys_with_shipping_delay(&folder, str::to_string);
    let server = Server::start(&data, &folder, 1);
    let url = format!("http://127.0.0.1:{}", server.port);
    // A typo in the event name: refused with the compiler's report, the running version stays.
    journeys_with_shipping_delay(&folder, |text| {
        text.replace("wait for order_shipped", "wait for order_shiped")
    });
    let refused = super::journey(&["deploy", "--url", &url]);
    assert_eq!(
        refused.status.code(),
        Some(1),
        "{}",
        super::stderr(&refused)
    );
    let report = super::stderr(&refused);
    assert!(
        report.contains("[J0101]") && report.contains("order_shiped"),
        "{report}"
    );
    assert!(report.contains("not deployed"), "{report}");
    assert_eq!(http(server.port, "GET", "/healthz", None).unwrap().0, 200);
    // Fixed, with a new subject: deployed as a new version.
    journeys_with_shipping_delay(&folder, |text| {
        text.replace(
            "subject \"Il tuo ordine {{ order.order_id }} è in ritardo: ci dispiace\"",
            "subject \"Aggiornamento sul tuo ordine {{ order.order_id }}\"",
        )
    });
    let deployed = super::journey(&["deploy", "--url", &url]);
    assert_eq!(
        deployed.status.code(),
        Some(0),
        "{}",
        super::stderr(&deployed)
    );
    let lines = super::stdout(&deployed);
    assert!(lines.contains("shipping_delay: version"), "{lines}");
    assert!(lines.contains("abandoned_cart: unchanged"), "{lines}");
    // The server's log says what each deploy over the API did, as for SIGHUP.
    let log = server.log_text();
    assert!(
        log.contains("deploy refused: the journeys do not compile"),
        "{log}"
    );
    let replaced = log
        .lines()
        .filter(|line| line.contains("deploy: shipping_delay: version"))
        .count();
    assert_eq!(replaced, 1, "{log}");
    // A server that cannot be reached is a usage error.
    drop(server);
    let unreachable = super::journey(&["deploy", "--url", &url]);
    assert_eq!(unreachable.status.code(), Some(2));
}

#[test]
fn erasure_removes_the_customer_and_their_pending_messages() {
    let dir = temp_dir("run-erase");
    let server = Server::start(&dir.join("data"), &journeys_dir(), 1);
    http(server.port, "PUT", "/v1/customers/giulia", Some(GIULIA)).unwrap();
    place_order(server.port, "giulia", "o1", "A1");
    let (status, _) = http(server.port, "DELETE", "/v1/customers/giulia", None).unwrap();
    assert_eq!(status, 204);
    let (status, _) = http(server.port, "GET", "/v1/customers/giulia", None).unwrap();
    assert_eq!(status, 404);
    let (status, _) = http(server.port, "DELETE", "/v1/customers/giulia", None).unwrap();
    assert_eq!(status, 404);
}

/// `journey run` on the shipped journeys with a config that sends through the SMTP server on
/// `smtp_port` (no TLS), its clock `speed` times faster.
fn start_with_smtp(dir: &Path, smtp_port: u16, speed: u32) -> Server {
    let config = dir.join("journey.toml");
    std::fs::write(
        &config,
        format!(
            "[shop]\nname = \"Caffè Aroma\"\nwebsite = \"https://caffearoma.it\"\n\n[delivery]\nfrom = \"Caffè Aroma <ciao@caffearoma.it>\"\ntransport = {{ kind = \"smtp\", host = \"127.0.0.1\", port = {smtp_port}, tls = \"none\" }}\n"
        ),
    )
    .unwrap();
    Server::start_with_config(&dir.join("data"), &journeys_dir(), speed, &config)
}

#[test]
fn a_relay_that_is_down_is_logged_once_and_its_return_too() {
    let dir = temp_dir("run-smtp-down");
    // Nothing listens there yet.
    let smtp_port = free_port();
    // A minute of retry backoff is a second.
    let server = start_with_smtp(&dir, smtp_port, 60);
    let port = server.port;
    for (customer, ticket) in [("giulia", "T-31"), ("marco", "T-32")] {
        let profile = GIULIA.replace("giulia@", &format!("{customer}@"));
        http(
            port,
            "PUT",
            &format!("/v1/customers/{customer}"),
            Some(&profile),
        )
        .unwrap();
        let event = format!(
            r#"{{"event":"support_request","customer":"{customer}","data":{{"ticket_id":"{ticket}","subject":"Reso","channel":"email","max_response_hours":24}}}}"#
        );
        assert_eq!(
            http(port, "POST", "/v1/events", Some(&event)).unwrap().0,
            200
        );
    }
    let server = &server;
    // Waits up to a minute for `done`, else fails saying `what` did not happen.
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !done() {
            assert!(Instant::now() < deadline, "{what}:\n{}", server.log_text());
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let logged = |text: &'static str| move || server.log_text().contains(text);
    wait_for("no warning in the log", &logged("delivery is failing:"));
    // The relay comes back; the retries get through, and the log says so.
    let smtp = SmtpServer::start_on(&dir.join("received"), smtp_port);
    wait_for("the retries never reached the relay", &|| {
        smtp.received().len() >= 2
    });
    wait_for(
        "no recovery in the log",
        &logged("delivery works again, after "),
    );
    let log = server.log_text();
    // Two messages failed, some of them more than once: one warning for all of it.
    assert_eq!(log.matches("delivery is failing:").count(), 1, "{log}");
    assert!(log.contains("WARN"), "{log}");
    assert!(!log.contains("given up"), "{log}");
}

/// The SMTP test server (`tests/smtp/server.py`, Python aiosmtpd), killed when dropped.
struct SmtpServer {
    child: Child,
    port: u16,
    folder: PathBuf,
}

impl SmtpServer {
    fn start(folder: &Path) -> SmtpServer {
        SmtpServer::start_on(folder, free_port())
    }

    /// On `port` (a relay that comes back where it was).
    fn start_on(folder: &Path, port: u16) -> SmtpServer {
        let available = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            available,
            "this test needs a real SMTP server: python3 -m pip install aiosmtpd==1.4.6 dkimpy==1.1.8 (.ci/run installs them)"
        );
        std::fs::create_dir_all(folder).unwrap();
        let mut child = Command::new("python3")
            .arg(repo().join("tests/smtp/server.py"))
            .args([
                "serve",
                "--port",
                &port.to_string(),
                "--folder",
                folder.to_str().unwrap(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // It prints `ready` once it accepts connections.
        let mut ready = String::new();
        if let Some(out) = child.stdout.as_mut() {
            let mut byte = [0u8; 1];
            while !ready.contains("ready") && out.read(&mut byte).map(|n| n == 1).unwrap_or(false) {
                ready.push(char::from(byte[0]));
            }
        }
        assert!(
            ready.contains("ready"),
            "the SMTP server did not start: {ready}"
        );
        SmtpServer {
            child,
            port,
            folder: folder.to_path_buf(),
        }
    }

    fn received(&self) -> Vec<String> {
        std::fs::read_dir(&self.folder)
            .map(|e| {
                e.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .filter_map(|p| std::fs::read_to_string(p).ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn run_delivers_through_a_real_smtp_server() {
    let dir = temp_dir("run-smtp");
    let smtp = SmtpServer::start(&dir.join("received"));
    let server = start_with_smtp(&dir, smtp.port, 1);
    let port = server.port;
    http(port, "PUT", "/v1/customers/giulia", Some(GIULIA)).unwrap();
    let event = r#"{"event":"support_request","customer":"giulia","data":{"ticket_id":"T-9","subject":"Reso","channel":"email","max_response_hours":24}}"#;
    assert_eq!(
        http(port, "POST", "/v1/events", Some(event)).unwrap().0,
        200
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let email = loop {
        if let Some(email) = smtp.received().into_iter().next() {
            break email;
        }
        assert!(
            Instant::now() < deadline,
            "nothing reached the SMTP server:\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(email.contains("T-9"), "{email}");
    assert!(email.contains("ciao@caffearoma.it"), "{email}");
    assert!(email.contains("To: giulia@example.it"), "{email}");
    assert!(email.contains("Message-ID: <"), "{email}");
    // The decision log records the delivery (once the result is committed).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, body) = http(port, "GET", "/v1/customers/giulia", None).unwrap();
        if body.contains("\"kind\":\"delivered\"") {
            break;
        }
        assert!(Instant::now() < deadline, "no delivery in the log: {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn event_send_names_the_json_it_cannot_read_and_where() {
    let dir = temp_dir("event-send-json");
    let file = dir.join("order.json");
    std::fs::write(&file, "{\n  \"order_id\": \"A1\",\n}\n").unwrap();
    let send = |data: &str| {
        Command::new(env!("CARGO_BIN_EXE_journey"))
            .args(["event", "send", "order_placed", "--customer", "giulia"])
            .args(["--data", data])
            .output()
            .unwrap()
    };
    let inline = send("{bad json");
    assert_eq!(inline.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&inline.stderr),
        "error: --data is not JSON: key must be a string at line 1 column 2\n"
    );
    let from_file = send(&format!("@{}", file.display()));
    assert_eq!(from_file.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&from_file.stderr),
        format!(
            "error: `{}` (--data) is not JSON: trailing comma at line 3 column 1\n",
            file.display()
        )
    );
}
