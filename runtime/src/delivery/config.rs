//! The `[delivery]` table of the runtime's configuration: the sender, the transport (a folder of
//! `.eml` files by default, or an SMTP relay), the send rate and the DKIM key.
//!
//! This module only describes; it reads no file and no environment variable. `Deliverer::new`
//! (in `transport`) resolves the outbox folder, the password and the DKIM key.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// How outgoing mail is sent and signed.
///
/// ```toml
/// [delivery]
/// from = "Caffè Aroma <ciao@caffearoma.it>"
/// reply_to = "help@caffearoma.it"
/// rate_limit_per_second = 10
///
/// [delivery.transport]
/// kind = "smtp"
/// host = "smtp.example.net"
/// username = "journey"
/// password_env = "SMTP_PASSWORD"
///
/// [delivery.dkim]
/// domain = "caffearoma.it"
/// selector = "journey"
/// private_key_file = "dkim.pem"
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The `From` mailbox (`"Caffè Aroma <ciao@caffearoma.it>"`). Default: `journey <journey@localhost>`,
    /// fine for the file transport, to be set before sending through SMTP.
    pub from: String,
    /// The `Reply-To` mailbox, if replies should go elsewhere. Default: none.
    pub reply_to: Option<String>,
    /// Where messages go. Default: `.eml` files in the `outbox` folder.
    pub transport: Transport,
    /// At most this many messages a second (bursts up to the same number). Default: no limit.
    pub rate_limit_per_second: Option<u32>,
    /// DKIM signing, if configured. Default: none (the relay may sign instead).
    pub dkim: Option<Dkim>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            from: "journey <journey@localhost>".to_string(),
            reply_to: None,
            transport: Transport::default(),
            rate_limit_per_second: None,
            dkim: None,
        }
    }
}

/// Where messages go.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Transport {
    /// Write each message as an `.eml` file (RFC 5322 bytes) into a folder, one file per
    /// Message-ID: for development, tests, and shops that pick the files up themselves.
    File {
        /// The folder; a relative path is relative to the runtime's data folder. Default: `outbox`.
        #[serde(default = "default_folder")]
        folder: PathBuf,
    },
    /// Hand messages to an SMTP relay.
    Smtp(Smtp),
}

impl Default for Transport {
    fn default() -> Transport {
        Transport::File {
            folder: default_folder(),
        }
    }
}

impl Transport {
    /// The folder of the file transport, resolved against the data folder (an absolute folder is
    /// kept as is); `None` for SMTP.
    pub fn outbox_folder(&self, data_folder: &Path) -> Option<PathBuf> {
        match self {
            Transport::File { folder } => Some(data_folder.join(folder)),
            Transport::Smtp(_) => None,
        }
    }
}

fn default_folder() -> PathBuf {
    PathBuf::from("outbox")
}

/// An SMTP relay.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Smtp {
    /// The relay's host name (also the name its TLS certificate must carry).
    pub host: String,
    /// The port. Default: 587 for STARTTLS, 465 for TLS, 25 without encryption.
    #[serde(default)]
    pub port: Option<u16>,
    /// How the connection is encrypted. Default: STARTTLS (required, not opportunistic).
    #[serde(default)]
    pub tls: Tls,
    /// The user name for SMTP AUTH (PLAIN or LOGIN); none to send without authenticating.
    #[serde(default)]
    pub username: Option<String>,
    /// The password, written in the configuration. Prefer `password_env`.
    #[serde(default)]
    pub password: Option<String>,
    /// The name of an environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// At most this many connections kept open to the relay. Default: 4.
    #[serde(default = "default_pool_size")]
    pub pool_size: u32,
    /// Seconds before a silent relay is given up on (the message is retried later). Default: 30.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

impl Smtp {
    /// The port to connect to: the configured one, or the usual one for the encryption.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            Tls::Starttls => 587,
            Tls::Tls => 465,
            Tls::None => 25,
        })
    }
}

fn default_pool_size() -> u32 {
    4
}

fn default_timeout() -> u64 {
    30
}

/// How an SMTP connection is encrypted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tls {
    /// Connect in the clear, then upgrade with STARTTLS; a relay that cannot is an error.
    #[default]
    Starttls,
    /// TLS from the first byte (implicit TLS, "SMTPS").
    Tls,
    /// No encryption: only for a relay on the same machine or in tests.
    None,
}

/// DKIM signing (RFC 6376): the signing domain, the selector whose DNS record
/// (`SELECTOR._domainkey.DOMAIN`) publishes the public key, and the private key.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dkim {
    /// The signing domain (`d=`), usually the domain of `from`.
    pub domain: String,
    /// The selector (`s=`).
    pub selector: String,
    /// A PEM file: an RSA key of 2048 bits or more (`RSA PRIVATE KEY` or `PRIVATE KEY`), or an
    /// Ed25519 key (`PRIVATE KEY`). A relative path is relative to the data folder.
    pub private_key_file: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn an_empty_table_gives_the_defaults() {
        let config = parse("").unwrap();
        assert_eq!(config, Config::default());
        assert_eq!(config.from, "journey <journey@localhost>");
        assert_eq!(
            config.transport.outbox_folder(Path::new("/data")),
            Some(PathBuf::from("/data/outbox"))
        );
    }

    #[test]
    fn smtp_takes_its_defaults_per_encryption() {
        let config = parse(
            r#"
            from = "Caffè Aroma <ciao@caffearoma.it>"
            rate_limit_per_second = 5
            [transport]
            kind = "smtp"
            host = "smtp.example.net"
            username = "journey"
            password_env = "SMTP_PASSWORD"
            [dkim]
            domain = "caffearoma.it"
            selector = "journey"
            private_key_file = "dkim.pem"
            "#,
        )
        .unwrap();
        let Transport::Smtp(smtp) = &config.transport else {
            panic!("not smtp: {config:?}")
        };
        assert_eq!(smtp.tls, Tls::Starttls);
        assert_eq!(smtp.port(), 587);
        assert_eq!(smtp.pool_size, 4);
        assert_eq!(smtp.timeout_seconds, 30);
        assert_eq!(config.rate_limit_per_second, Some(5));
        assert_eq!(config.dkim.unwrap().selector, "journey");
        let tls: Config =
            parse("[transport]\nkind = \"smtp\"\nhost = \"h\"\ntls = \"tls\"\n").unwrap();
        let Transport::Smtp(smtp) = tls.transport else {
            panic!()
        };
        assert_eq!(smtp.port(), 465);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let error = parse("form = \"x@y.z\"").unwrap_err();
        assert!(error.to_string().contains("form"), "{error}");
        let error = parse("[transport]\nkind = \"smtp\"\nhost = \"h\"\nsecret = 1\n").unwrap_err();
        assert!(error.to_string().contains("secret"), "{error}");
        let error =
            parse("[transport]\nkind = \"file\"\nfolder = \"o\"\nhost = \"h\"\n").unwrap_err();
        assert!(error.to_string().contains("host"), "{error}");
    }

    #[test]
    fn an_absolute_outbox_folder_is_kept() {
        let config = parse("[transport]\nkind = \"file\"\nfolder = \"/var/mail/out\"\n").unwrap();
        assert_eq!(
            config.transport.outbox_folder(Path::new("/data")),
            Some(PathBuf::from("/var/mail/out"))
        );
    }
}
