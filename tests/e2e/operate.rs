//! The operator's commands around `journey run`: `journey plan` against a running runtime (API)
//! and a stopped one (`--data`), `journey inspect` of a stopped data folder, and the refusals:
//! a folder in use, a folder that does not exist, journeys that do not compile.
//!
//! The runtime delivers through an SMTP relay that is not there, so the order confirmation
//! stays in the outbox with an attempt and its error for `inspect` to show.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::run::{GIULIA, Server, http, journeys_dir, place_order};
use super::{FIXTURE, journey, stderr, stdout, temp_dir};

const IN_USE: &str = "the data folder is in use by a running `journey run`; stop it or use the API (GET /v1/journeys)";

/// A port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A copy of the shipped journeys where the delay email's subject says something else.
fn changed_journeys(dir: &Path) -> PathBuf {
    let copy = dir.join("journeys-changed");
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(journeys_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "journey") {
            let mut text = std::fs::read_to_string(&path).unwrap();
            if path.ends_with("03_shipping_delay.journey") {
                assert!(text.contains("è in ritardo: ci dispiace"));
                text = text.replace("è in ritardo: ci dispiace", "è in ritardo: ci scusiamo");
            }
            std::fs::write(copy.join(path.file_name().unwrap()), text).unwrap();
        }
    }
    copy
}

fn wait_for_decision(server: &Server, kind: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok((200, body)) = http(server.port, "GET", "/v1/customers/giulia", None)
            && body.contains(&format!("\"kind\":\"{kind}\""))
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no `{kind}` decision for giulia:\n{}", server.log_text());
}

/// The line of the plan about one journey.
fn line_of<'a>(text: &'a str, journey: &str) -> &'a str {
    text.lines()
        .find(|line| line.trim_start().starts_with(&format!("{journey} ")))
        .unwrap_or_else(|| panic!("no line for {journey}:\n{text}"))
}

#[test]
fn plan_and_inspect_tell_an_operator_what_runs_and_what_a_deploy_would_change() {
    let dir = temp_dir("operate");
    let data = dir.join("data");
    // `journey run` reads `journey.toml` from its current folder (`dir`).
    std::fs::write(
        dir.join("journey.toml"),
        format!(
            "[delivery]\ntransport = {{ kind = \"smtp\", host = \"127.0.0.1\", port = {}, tls = \"none\", timeout_seconds = 2 }}\n",
            closed_port()
        ),
    )
    .unwrap();
    let server = Server::start(&data, &journeys_dir(), 1);
    let url = format!("http://127.0.0.1:{}", server.port);
    let (status, _) = http(server.port, "PUT", "/v1/customers/giulia", Some(GIULIA)).unwrap();
    assert_eq!(status, 204);
    place_order(server.port, "giulia", "order-A1", "A1");
    // The confirmation was tried once and refused: it waits in the outbox.
    wait_for_decision(&server, "delivery_retry");

    // The folder that runs: nothing to do.
    let same = journey(&["plan", "journeys/", "--url", &url]);
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    let text = stdout(&same);
    assert_eq!(text.matches("unchanged (version ").count(), 13, "{text}");
    assert!(
        text.contains("13 journeys: 0 new, 0 changed, 13 unchanged, 0 retired"),
        "{text}"
    );

    // One journey's text changed: a new version, and giulia stays on the old one.
    let changed = changed_journeys(&dir);
    let output = journey(&["plan", changed.to_str().unwrap(), "--url", &url]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    let line = line_of(&text, "shipping_delay");
    let old = line_of(&stdout(&same), "shipping_delay")
        .split("(version ")
        .nth(1)
        .unwrap()
        .trim_end_matches(')')
        .to_string();
    assert!(
        line.contains(&format!(
            "replaces {old}: 1 customer stays on {old} until they finish (at steps: `wait for order_shipped where it.order_id == order.order_id up to 3 days`: 1)"
        )),
        "{line}"
    );
    assert!(
        text.contains("13 journeys: 0 new, 1 changed, 12 unchanged, 0 retired"),
        "{text}"
    );
    let json = journey(&[
        "plan",
        changed.to_str().unwrap(),
        "--url",
        &url,
        "--format",
        "json",
    ]);
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let delay = document["journeys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["journey"] == "shipping_delay")
        .unwrap();
    assert_eq!(delay["action"], "changed");
    assert_eq!(delay["replaces"], old.as_str());
    assert_eq!(delay["customers_staying"], 1);

    // The store is the running process's: inspect says so.
    let busy = journey(&["inspect", data.to_str().unwrap()]);
    assert_eq!(busy.status.code(), Some(2));
    assert!(stderr(&busy).contains(IN_USE), "{}", stderr(&busy));

    let (code, log) = server.terminate();
    assert_eq!(code, Some(0), "{log}");

    // Stopped: inspect reads the folder.
    let output = journey(&["inspect", data.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("journeys      13 deployed"), "{text}");
    let delay = text
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("shipping_delay "))
        .take(2)
        .collect::<Vec<_>>();
    assert!(
        delay[0].contains(&format!("version {old}  1 customer")),
        "{text}"
    );
    assert!(
        delay[1].trim_start().starts_with(
            "1  wait for order_shipped where it.order_id == order.order_id up to 3 days"
        ),
        "{text}"
    );
    assert!(text.contains("customers     1\n"), "{text}");
    let timers = text.lines().find(|l| l.starts_with("timers")).unwrap();
    assert!(timers.contains(" pending, next at 20"), "{timers}");
    assert!(timers.contains("Z (in "), "{timers}");
    assert!(text.contains("outbox        1 message waiting"), "{text}");
    assert!(
        text.contains(
            "giulia  order_confirmation/order_confirmation_email  email to giulia@example.it"
        ),
        "{text}"
    );
    assert!(text.contains("1 attempt, next attempt "), "{text}");
    assert!(text.contains("last error: "), "{text}");
    assert!(text.contains("dead letters  0"), "{text}");
    assert!(text.contains("suppressed    0 addresses"), "{text}");

    // The same as one JSON document.
    let output = journey(&["inspect", data.to_str().unwrap(), "--format", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["version"], 1);
    assert_eq!(report["customers"], 1);
    assert_eq!(report["journeys"].as_array().unwrap().len(), 13);
    assert!(report["timers"]["pending"].as_u64().unwrap() >= 1);
    assert!(
        report["timers"]["next_wake"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(report["outbox"]["waiting"], 1);
    let message = &report["outbox"]["messages"][0];
    assert_eq!(message["template"], "order_confirmation_email");
    assert_eq!(message["attempts"], 1);
    assert!(message["last_error"].is_string(), "{message}");
    assert!(report["store_bytes"].as_u64().unwrap() > 0);

    // One customer.
    let output = journey(&["inspect", data.to_str().unwrap(), "--customer", "giulia"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.starts_with("customer      giulia\nprofile       "),
        "{text}"
    );
    assert!(text.contains("email giulia@example.it"), "{text}");
    assert!(
        text.lines()
            .any(|line| line.starts_with("  shipping_delay ")
                && line.contains("waiting for order_shipped at `wait for order_shipped")
                && line.contains(", at most until ")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|line| line.contains("order_confirmation") && line.contains(": entered (")),
        "{text}"
    );
    let output = journey(&[
        "inspect",
        data.to_str().unwrap(),
        "--customer",
        "giulia",
        "--format",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let view: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(view["id"], "giulia");
    assert!(
        view["journeys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["journey"] == "shipping_delay" && j["status"] == "waiting"),
        "{view}"
    );
    let nobody = journey(&["inspect", data.to_str().unwrap(), "--customer", "nobody"]);
    assert_eq!(nobody.status.code(), Some(1));
    assert!(stderr(&nobody).contains("no customer `nobody`"));

    // The plan, read from the stopped store.
    let output = journey(&[
        "plan",
        changed.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        line_of(&stdout(&output), "shipping_delay")
            .contains(&format!("1 customer stays on {old} until they finish")),
        "{}",
        stdout(&output)
    );
}

#[test]
fn inspect_of_a_missing_folder_says_so_and_creates_nothing() {
    let dir = temp_dir("operate-missing");
    let missing = dir.join("no-data");
    let output = journey(&["inspect", missing.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(&format!("no data folder at `{}`", missing.display())),
        "{}",
        stderr(&output)
    );
    assert!(!missing.exists());
    // A folder without a store is not a data folder either.
    let output = journey(&["inspect", dir.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("is not a data folder"));
    assert!(!dir.join("store").exists());
}

#[test]
fn plan_refuses_a_folder_with_errors_and_an_unreachable_runtime() {
    let url = format!("http://127.0.0.1:{}", closed_port());
    let broken = journey(&["plan", FIXTURE, "--url", &url]);
    assert_eq!(broken.status.code(), Some(1));
    assert!(stderr(&broken).contains("[J0102]"), "{}", stderr(&broken));
    let unreachable = journey(&["plan", "journeys/", "--url", &url]);
    assert_eq!(unreachable.status.code(), Some(2));
    assert!(
        stderr(&unreachable).contains("cannot reach `journey run`"),
        "{}",
        stderr(&unreachable)
    );
}
