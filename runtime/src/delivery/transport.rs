//! The deliverer: builds, signs and sends one message, and says what happened as an `Outcome`
//! the engine records (delivered, retry later, or dead letter).
//!
//! Two transports: a folder of `.eml` files (the default; one file per Message-ID, written to a
//! temporary name and renamed, so a redelivery after a crash replaces the file instead of adding
//! one) and an SMTP relay (lettre's pooled async transport: STARTTLS, TLS or none; AUTH PLAIN or
//! LOGIN). Every send first waits for the rate limiter.
//!
//! SMTP answers are sorted here, not by the engine: 4xx, connection, TLS and timeout errors are
//! temporary; a 5xx about the recipient is permanent and suppresses the address; other 5xx about
//! the message are permanent without suppression; 5xx answers that mean the relay or our
//! credentials are misconfigured (authentication, command syntax) are retried, because every
//! message would fail the same way and none of them is at fault.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::address::Envelope;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls as LettreTls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sha2::{Digest, Sha256};

use super::config::{Config, Smtp, Tls, Transport};
use super::dkim::Signer;
use super::email::{self, BuildError};
use super::rate::RateLimiter;
use crate::vm;

/// What became of one delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The relay accepted the message (or its file was written).
    Delivered,
    /// It failed for now: try again after `retry::next_attempt`.
    Retry {
        /// What went wrong, for the outbox record and the logs.
        reason: String,
    },
    /// It will never succeed: record a dead letter.
    Permanent {
        /// What went wrong (the relay's answer, or why the message is not a valid email).
        reason: String,
        /// Whether the recipient address itself was refused (a 5xx about the mailbox, or an
        /// address that is not one): the engine suppresses it so nothing else is sent to it.
        suppress: bool,
    },
}

/// A message ready for the wire: the envelope and the bytes (signed, when DKIM is configured).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// The Message-ID (names the file of the file transport).
    pub message_id: String,
    /// The SMTP envelope: sender and recipient.
    pub envelope: Envelope,
    /// The RFC 5322 message.
    pub bytes: Vec<u8>,
}

/// Why a deliverer could not be set up; the runtime refuses to start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupError {
    /// The setting at fault (`from`, `transport.password_env`, `dkim.private_key_file`, …).
    pub setting: &'static str,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[delivery] `{}`: {}", self.setting, self.reason)
    }
}

impl std::error::Error for SetupError {}

/// Delivers messages with one configuration. Shared by reference between concurrent deliveries.
///
/// The SMTP connection pool runs a task on the tokio runtime: create and drop the deliverer
/// inside that runtime.
pub struct Deliverer {
    config: Config,
    sink: Sink,
    signer: Option<Signer>,
    limiter: Option<RateLimiter>,
}

enum Sink {
    Folder(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl fmt::Debug for Deliverer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sink = match &self.sink {
            Sink::Folder(folder) => format!("folder {}", folder.display()),
            Sink::Smtp(_) => "smtp".to_string(),
        };
        f.debug_struct("Deliverer")
            .field("sink", &sink)
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

/// Tells `.tmp` files of concurrent writers apart.
static TEMPORARY: AtomicU64 = AtomicU64::new(0);

impl Deliverer {
    /// Checks the configuration and prepares the transport: resolves the outbox folder and the
    /// DKIM key file against `data_folder` (absolute paths are kept) and creates the folder,
    /// reads the SMTP password from its environment variable, loads the DKIM key. Nothing is
    /// sent and no connection is opened yet.
    pub async fn new(config: &Config, data_folder: &Path) -> Result<Deliverer, SetupError> {
        email::check_mailbox("from", &config.from).map_err(|error| SetupError {
            setting: "from",
            reason: error.to_string(),
        })?;
        if let Some(reply_to) = &config.reply_to {
            email::check_mailbox("reply_to", reply_to).map_err(|error| SetupError {
                setting: "reply_to",
                reason: error.to_string(),
            })?;
        }
        let sink = match &config.transport {
            Transport::File { folder } => {
                let folder = data_folder.join(folder);
                tokio::fs::create_dir_all(&folder)
                    .await
                    .map_err(|error| SetupError {
                        setting: "transport.folder",
                        reason: format!("cannot create {}: {error}", folder.display()),
                    })?;
                Sink::Folder(folder)
            }
            Transport::Smtp(smtp) => Sink::Smtp(smtp_transport(smtp)?),
        };
        let signer = match &config.dkim {
            Some(dkim) => Some(Signer::load(dkim, data_folder).map_err(|error| SetupError {
                setting: "dkim",
                reason: error.0,
            })?),
            None => None,
        };
        Ok(Deliverer {
            config: config.clone(),
            sink,
            signer,
            limiter: config.rate_limit_per_second.map(RateLimiter::new),
        })
    }

    /// Whether delivering a message again has no further effect: the file transport writes the
    /// same file, named after the Message-ID, again. (An SMTP server would send it twice.)
    pub fn repeatable(&self) -> bool {
        matches!(self.sink, Sink::Folder(_))
    }

    /// Builds, signs and sends a rendered message dated `date` (the time the engine first
    /// queued it, so every attempt carries the same date). A message that cannot be an email
    /// is `Permanent`.
    pub async fn deliver(&self, message: &vm::Message, date: DateTime<Utc>) -> Outcome {
        match self.prepare(message, date) {
            Ok(outgoing) => self.send(&outgoing).await,
            Err(error) => {
                let suppress = matches!(error, BuildError::InvalidRecipient { .. });
                Outcome::Permanent {
                    reason: error.to_string(),
                    suppress,
                }
            }
        }
    }

    /// The email of a message, signed when DKIM is configured (signing time: `date`).
    pub fn prepare(
        &self,
        message: &vm::Message,
        date: DateTime<Utc>,
    ) -> Result<Outgoing, BuildError> {
        let email = email::build(message, &self.config, date)?;
        let mut bytes = email.formatted();
        if let Some(signer) = &self.signer {
            bytes = signer
                .sign(&bytes, date)
                .map_err(|error| BuildError::Email(error.to_string()))?;
        }
        Ok(Outgoing {
            message_id: message.message_id.clone(),
            envelope: email.envelope().clone(),
            bytes,
        })
    }

    /// Sends a prepared message, after the rate limiter allows it.
    pub async fn send(&self, outgoing: &Outgoing) -> Outcome {
        if let Some(limiter) = &self.limiter {
            limiter.acquire().await;
        }
        match &self.sink {
            Sink::Folder(folder) => match write_file(folder, outgoing).await {
                Ok(_) => Outcome::Delivered,
                Err(error) => Outcome::Retry {
                    reason: format!("cannot write to {}: {error}", folder.display()),
                },
            },
            Sink::Smtp(transport) => {
                match transport
                    .send_raw(&outgoing.envelope, &outgoing.bytes)
                    .await
                {
                    Ok(_) => Outcome::Delivered,
                    Err(error) => classify(&error),
                }
            }
        }
    }

    /// Closes pooled SMTP connections (politely, with QUIT). Nothing to do for files.
    pub async fn shutdown(&self) {
        if let Sink::Smtp(transport) = &self.sink {
            transport.shutdown().await;
        }
    }
}

/// The file a message is written to: `<first 32 hex digits of SHA-256(Message-ID)>.eml`.
pub fn file_name(message_id: &str) -> String {
    let digest = Sha256::digest(message_id.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("{hex}.eml")
}

/// Writes the message to a temporary file, flushes it to disk, renames it over its final name
/// and flushes the folder, so the new name is on the disk too before the message counts as
/// delivered: readers never see half a message, a second delivery replaces the first, and a
/// power cut after the delivery was recorded cannot take the file away.
async fn write_file(folder: &Path, outgoing: &Outgoing) -> std::io::Result<PathBuf> {
    use tokio::io::AsyncWriteExt;
    let name = file_name(&outgoing.message_id);
    let path = folder.join(&name);
    let temporary = folder.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        TEMPORARY.fetch_add(1, Ordering::Relaxed)
    ));
    let written = async {
        let mut file = tokio::fs::File::create(&temporary).await?;
        file.write_all(&outgoing.bytes).await?;
        file.sync_all().await?;
        drop(file);
        tokio::fs::rename(&temporary, &path).await?;
        sync_folder(folder).await
    }
    .await;
    if written.is_err() {
        // Best effort: the temporary file is garbage either way.
        let _ = tokio::fs::remove_file(&temporary).await;
    }
    written.map(|()| path)
}

/// Flushes a folder's entries (a rename in it) to the disk.
#[cfg(unix)]
async fn sync_folder(folder: &Path) -> std::io::Result<()> {
    tokio::fs::File::open(folder).await?.sync_all().await
}

/// Folders cannot be opened to be flushed here; the rename is as durable as the system makes it.
#[cfg(not(unix))]
async fn sync_folder(_folder: &Path) -> std::io::Result<()> {
    Ok(())
}

fn smtp_transport(smtp: &Smtp) -> Result<AsyncSmtpTransport<Tokio1Executor>, SetupError> {
    let tls_error = |error: lettre::transport::smtp::Error| SetupError {
        setting: "transport.host",
        reason: format!("`{}` cannot be used for TLS: {error}", smtp.host),
    };
    let tls = match smtp.tls {
        Tls::Starttls => {
            LettreTls::Required(TlsParameters::new(smtp.host.clone()).map_err(tls_error)?)
        }
        Tls::Tls => LettreTls::Wrapper(TlsParameters::new(smtp.host.clone()).map_err(tls_error)?),
        Tls::None => LettreTls::None,
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.as_str())
        .port(smtp.port())
        .tls(tls)
        .timeout(Some(Duration::from_secs(smtp.timeout_seconds)))
        .pool_config(PoolConfig::new().max_size(smtp.pool_size.max(1)));
    if let Some(credentials) = credentials(smtp, |name| std::env::var(name).ok())? {
        builder = builder.credentials(credentials);
    }
    Ok(builder.build())
}

/// The SMTP credentials: a user name with a password written in the configuration or read from
/// an environment variable (`env` looks variables up; exactly one of the two must be given).
fn credentials(
    smtp: &Smtp,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<Credentials>, SetupError> {
    let password = match (&smtp.password, &smtp.password_env) {
        (Some(_), Some(_)) => {
            return Err(SetupError {
                setting: "transport.password",
                reason: "give `password` or `password_env`, not both".to_string(),
            });
        }
        (Some(password), None) => Some(password.clone()),
        (None, Some(name)) => Some(env(name).ok_or_else(|| SetupError {
            setting: "transport.password_env",
            reason: format!("the environment variable `{name}` is not set"),
        })?),
        (None, None) => None,
    };
    match (&smtp.username, password) {
        (Some(username), Some(password)) => Ok(Some(Credentials::new(username.clone(), password))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(SetupError {
            setting: "transport.username",
            reason: "a user name needs `password` or `password_env`".to_string(),
        }),
        (None, Some(_)) => Err(SetupError {
            setting: "transport.password",
            reason: "a password needs a `username`".to_string(),
        }),
    }
}

fn classify(error: &lettre::transport::smtp::Error) -> Outcome {
    let reason = error.to_string();
    match error.status().map(u16::from) {
        Some(code) if error.is_permanent() => classify_permanent(code, reason),
        // 4xx answers, and everything that is not an answer: connection refused or reset, TLS
        // handshake, timeout, an answer that could not be parsed.
        _ => Outcome::Retry { reason },
    }
}

/// Sorts a 5xx answer (`reason` carries its text, with the enhanced status code if any).
fn classify_permanent(code: u16, reason: String) -> Outcome {
    // Authentication (530, 534, 535, 538) and command errors (500–504) say the relay or our
    // settings are wrong, not the message: retry, so fixing the settings delivers the backlog.
    if matches!(code, 500..=504 | 530 | 534 | 535 | 538) {
        return Outcome::Retry {
            reason: format!("{reason} (check the SMTP settings)"),
        };
    }
    let suppress = match enhanced_status(&reason) {
        // RFC 3463: X.1.x are addressing problems (no such mailbox or domain), 5.2.1 a
        // disabled mailbox; other classes (policy, content, capacity) are not the address's.
        Some((subject, detail)) => subject == 1 || (subject == 2 && detail == 1),
        // Without one: 550 mailbox unavailable, 551 not local, 553 mailbox name not allowed,
        // 521 / 556 the domain accepts no mail.
        None => matches!(code, 550 | 551 | 553 | 521 | 556),
    };
    Outcome::Permanent { reason, suppress }
}

/// The subject and detail of the first `5.X.Y` enhanced status code in an answer's text.
fn enhanced_status(text: &str) -> Option<(u16, u16)> {
    text.split(|c: char| c.is_whitespace() || c == ':' || c == '(' || c == ')')
        .find_map(|word| {
            let mut parts = word.split('.');
            let class = parts.next()?;
            let subject = parts.next()?.parse::<u16>().ok()?;
            let detail = parts.next()?.parse::<u16>().ok()?;
            (class == "5" && parts.next().is_none()).then_some((subject, detail))
        })
}

#[cfg(test)]
mod tests {
    use journey_compiler::bytecode::Category;

    use super::*;
    use crate::delivery::email::tests::{date, message};

    fn smtp() -> Smtp {
        Smtp {
            host: "smtp.example.net".to_string(),
            port: None,
            tls: Tls::Starttls,
            username: Some("journey".to_string()),
            password: None,
            password_env: Some("JOURNEY_SMTP_PASSWORD".to_string()),
            pool_size: 4,
            timeout_seconds: 30,
        }
    }

    #[test]
    fn answers_about_the_mailbox_suppress_it() {
        let permanent = |code, text: &str| classify_permanent(code, text.to_string());
        assert!(matches!(
            permanent(550, "permanent error (550): 5.1.1 No such user"),
            Outcome::Permanent { suppress: true, .. }
        ));
        assert!(matches!(
            permanent(550, "permanent error (550): mailbox unavailable"),
            Outcome::Permanent { suppress: true, .. }
        ));
        assert!(matches!(
            permanent(550, "permanent error (550): 5.2.1 mailbox disabled"),
            Outcome::Permanent { suppress: true, .. }
        ));
        // A policy refusal (spam, relay denied) is final for this message, not for the address.
        assert!(matches!(
            permanent(550, "permanent error (550): 5.7.1 Message rejected as spam"),
            Outcome::Permanent {
                suppress: false,
                ..
            }
        ));
        assert!(matches!(
            permanent(554, "permanent error (554): transaction failed"),
            Outcome::Permanent {
                suppress: false,
                ..
            }
        ));
        assert!(matches!(
            permanent(552, "permanent error (552): 5.2.2 mailbox full"),
            Outcome::Permanent {
                suppress: false,
                ..
            }
        ));
    }

    #[test]
    fn answers_about_our_settings_are_retried() {
        for code in [535, 530, 500, 502, 504] {
            assert!(
                matches!(
                    classify_permanent(code, format!("permanent error ({code}): no")),
                    Outcome::Retry { .. }
                ),
                "{code}"
            );
        }
    }

    #[test]
    fn enhanced_status_codes_are_found_in_the_text() {
        assert_eq!(
            enhanced_status("permanent error (550): 5.1.1 No"),
            Some((1, 1))
        );
        assert_eq!(enhanced_status("5.7.26 unauthenticated"), Some((7, 26)));
        assert_eq!(enhanced_status("version 1.2.3 says 4.2.0"), None);
        assert_eq!(enhanced_status("no code"), None);
    }

    #[test]
    fn credentials_come_from_the_environment_or_the_file() {
        let env = |name: &str| (name == "JOURNEY_SMTP_PASSWORD").then(|| "s3cret".to_string());
        assert!(credentials(&smtp(), env).unwrap().is_some());
        let missing = credentials(&smtp(), |_| None).unwrap_err();
        assert_eq!(missing.setting, "transport.password_env");
        assert!(
            missing.to_string().contains("JOURNEY_SMTP_PASSWORD"),
            "{missing}"
        );
        let both = Smtp {
            password: Some("x".to_string()),
            ..smtp()
        };
        assert_eq!(
            credentials(&both, env).unwrap_err().setting,
            "transport.password"
        );
        let anonymous = Smtp {
            username: None,
            password_env: None,
            ..smtp()
        };
        assert!(credentials(&anonymous, env).unwrap().is_none());
        let no_user = Smtp {
            username: None,
            ..smtp()
        };
        assert!(credentials(&no_user, env).is_err());
    }

    #[test]
    fn file_names_depend_on_the_message_id_only() {
        assert_eq!(file_name("<a@b>"), file_name("<a@b>"));
        assert_ne!(file_name("<a@b>"), file_name("<a@c>"));
        assert_eq!(file_name("<a@b>").len(), 36);
    }

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("journey-delivery-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[tokio::test]
    async fn the_file_transport_writes_one_file_per_message_id() {
        let data = scratch("file");
        let deliverer = Deliverer::new(&Config::default(), &data).await.unwrap();
        let marketing = message(Category::Marketing, true);
        assert_eq!(
            deliverer.deliver(&marketing, date()).await,
            Outcome::Delivered
        );
        assert_eq!(
            deliverer.deliver(&marketing, date()).await,
            Outcome::Delivered
        );
        let files: Vec<PathBuf> = std::fs::read_dir(data.join("outbox"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        let path = &files[0];
        assert_eq!(
            path.file_name().unwrap().to_str().unwrap(),
            file_name(&marketing.message_id)
        );
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.contains("Message-ID: <0123456789abcdef.welcome@caffearoma.it>\r\n"));
        assert!(text.contains("To: giulia@example.org\r\n"));
        assert!(text.contains("From: journey <journey@localhost>\r\n"));
        assert!(text.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
        assert!(text.contains("Content-Type: multipart/alternative;"));

        let mut transactional = message(Category::Transactional, false);
        transactional.message_id = "<other.welcome@caffearoma.it>".to_string();
        assert_eq!(
            deliverer.deliver(&transactional, date()).await,
            Outcome::Delivered
        );
        assert_eq!(std::fs::read_dir(data.join("outbox")).unwrap().count(), 2);
        std::fs::remove_dir_all(&data).unwrap();
    }

    #[tokio::test]
    async fn an_invalid_address_is_a_permanent_failure_that_suppresses_it() {
        let data = scratch("invalid");
        let deliverer = Deliverer::new(&Config::default(), &data).await.unwrap();
        let mut bad = message(Category::Transactional, false);
        bad.to = Some("giulia@@example".to_string());
        let outcome = deliverer.deliver(&bad, date()).await;
        let Outcome::Permanent { reason, suppress } = outcome else {
            panic!("{outcome:?}")
        };
        assert!(reason.contains("giulia@@example"), "{reason}");
        assert!(suppress);
        std::fs::remove_dir_all(&data).unwrap();
    }

    #[tokio::test]
    async fn bad_settings_stop_the_start() {
        let data = scratch("settings");
        let config = Config {
            from: "nobody".to_string(),
            ..Config::default()
        };
        let error = Deliverer::new(&config, &data).await.unwrap_err();
        assert_eq!(error.setting, "from");
        let config = Config {
            dkim: Some(crate::delivery::config::Dkim {
                domain: "caffearoma.it".to_string(),
                selector: "journey".to_string(),
                private_key_file: PathBuf::from("missing.pem"),
            }),
            ..Config::default()
        };
        let error = Deliverer::new(&config, &data).await.unwrap_err();
        assert_eq!(error.setting, "dkim");
        assert!(error.reason.contains("missing.pem"), "{error}");
        let _ = std::fs::remove_dir_all(&data);
    }
}
