//! The configuration of `journey run`: a TOML file (`journey.toml`), every key optional, with
//! the defaults documented in `docs/operations.md`. Unknown keys are errors, so a typo is
//! never silently ignored.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use journey_compiler::bytecode::{Record, Value};
use serde::Deserialize;

use crate::vm::Environment;

/// The whole configuration.
#[derive(Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The data folder: the store and the outbox (default `data`).
    pub data: Option<PathBuf>,
    /// The folder of `.journey` files (default `journeys`; the command line wins).
    pub journeys: Option<PathBuf>,
    /// The address customers reach the runtime at, for unsubscribe links (default
    /// `http://` + the listen address).
    pub public_url: Option<String>,
    /// Run the clock this many times faster (for trying journeys out only; default 1).
    pub clock_speed: Option<u32>,
    /// The shop templates read as `shop`.
    pub shop: Shop,
    /// The HTTP ingest.
    pub ingest: crate::ingest::Config,
    /// Email delivery.
    pub delivery: crate::delivery::Config,
    /// Logging.
    pub log: Log,
    /// The store.
    pub store: StoreConfig,
}

/// The `[store]` table.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// Whether a new store compresses its log with zstd (default `false`): less than half the
    /// disk, for more CPU per write and a slower start. A store keeps the setting it was made
    /// with.
    pub compression: bool,
    /// Where customers' places are kept (default `sled`, on disk in the data folder).
    pub backend: StoreBackend,
}

/// The `[store] backend` values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreBackend {
    /// sled, in `store/` under the data folder: the durable default.
    #[default]
    Sled,
    /// In memory only: nothing survives a stop or a crash, and nothing is acknowledged as
    /// durable. For demos, and for benchmarks that weigh the store's share.
    Memory,
}

/// The `[shop]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Shop {
    /// The shop's name.
    pub name: String,
    /// Its website.
    pub website: String,
    /// Its postal address (in email footers).
    pub address: String,
    /// Its support address.
    pub support_email: String,
    /// Its logo, if any.
    pub logo_url: Option<String>,
    /// The secret coupon codes and unsubscribe tokens are made from (default: generated once
    /// and kept in the data folder as `secret`).
    pub secret: Option<String>,
    /// The environment variable holding the secret (instead of `secret`).
    pub secret_env: Option<String>,
}

impl Default for Shop {
    fn default() -> Shop {
        Shop {
            name: "Il Negozio".to_string(),
            website: "https://negozio.example".to_string(),
            address: "Via Roma 1, 20121 Milano".to_string(),
            support_email: "aiuto@negozio.example".to_string(),
            logo_url: None,
            secret: None,
            secret_env: None,
        }
    }
}

/// The `[log]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Log {
    /// `error`, `warn`, `info` (default), `debug` or `trace`.
    pub level: String,
}

impl Default for Log {
    fn default() -> Log {
        Log {
            level: "info".to_string(),
        }
    }
}

/// A configuration problem, said plainly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Config {
    /// Reads a configuration file.
    pub fn read(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error(format!("cannot read `{}`: {e}", path.display())))?;
        Config::parse(&text).map_err(|e| Error(format!("{}: {}", path.display(), e.0)))
    }

    /// Parses a configuration text.
    pub fn parse(text: &str) -> Result<Config, Error> {
        toml::from_str::<Config>(text).map_err(|error| {
            let place = error
                .span()
                .map(|span| {
                    let line = text
                        .get(..span.start)
                        .map_or(1, |t| t.matches('\n').count() + 1);
                    format!("line {line}: ")
                })
                .unwrap_or_default();
            Error(format!("{place}{}", error.message().trim()))
        })
    }

    /// The data folder.
    pub fn data_folder(&self) -> PathBuf {
        self.data.clone().unwrap_or_else(|| PathBuf::from("data"))
    }

    /// The shop environment of the VM: the shop record, the secret, link bases.
    pub fn environment(&self, secret: Vec<u8>) -> Environment {
        let shop = &self.shop;
        let mut record = Record::from_pairs([
            (Arc::from("name"), Value::text(&shop.name)),
            (Arc::from("website"), Value::text(&shop.website)),
            (Arc::from("address"), Value::text(&shop.address)),
            (Arc::from("support_email"), Value::text(&shop.support_email)),
        ]);
        if let Some(logo) = &shop.logo_url {
            record.set(Arc::from("logo_url"), Value::text(logo));
        }
        let public = self
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.ingest.listen));
        let domain = shop
            .website
            .split("://")
            .nth(1)
            .unwrap_or(&shop.website)
            .split('/')
            .next()
            .unwrap_or("localhost")
            .to_string();
        Environment {
            shop: Value::record(record),
            secret,
            unsubscribe_base: format!("{}/v1/unsubscribe", public.trim_end_matches('/')),
            message_domain: domain,
        }
    }

    /// The shop's secret: from the configuration, its environment variable, or the data folder
    /// (made on first start from the system's random source, kept with owner-only permissions).
    pub fn secret(&self, data: &Path) -> Result<Vec<u8>, Error> {
        if let Some(secret) = &self.shop.secret {
            return Ok(secret.as_bytes().to_vec());
        }
        if let Some(name) = &self.shop.secret_env {
            return std::env::var(name)
                .map(String::into_bytes)
                .map_err(|_| Error(format!("shop.secret_env names `{name}`, which is not set")));
        }
        let path = data.join("secret");
        if let Ok(bytes) = std::fs::read(&path) {
            return Ok(bytes);
        }
        let mut bytes = [0u8; 32];
        use std::io::Read;
        std::fs::File::open("/dev/urandom")
            .and_then(|mut random| random.read_exact(&mut bytes))
            .map_err(|e| Error(format!("cannot read random bytes for the shop secret: {e}")))?;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        std::fs::create_dir_all(data)
            .and_then(|()| std::fs::write(&path, hex.as_bytes()))
            .map_err(|e| Error(format!("cannot write `{}`: {e}", path.display())))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
        }
        Ok(hex.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn every_key_is_optional_and_typos_are_errors() {
        let config = Config::parse("").unwrap();
        assert_eq!(config.data_folder(), PathBuf::from("data"));
        assert!(
            !config.store.compression,
            "a new store is not compressed by default"
        );
        let config = Config::parse("[store]\ncompression = true\n").unwrap();
        assert!(config.store.compression);
        assert_eq!(config.store.backend, StoreBackend::Sled, "sled by default");
        let config = Config::parse("[store]\nbackend = \"memory\"\n").unwrap();
        assert_eq!(config.store.backend, StoreBackend::Memory);
        let typo = Config::parse("[store]\nbackend = \"memroy\"\n")
            .err()
            .unwrap();
        assert!(
            typo.0.contains("memroy") && typo.0.contains("`sled`"),
            "{typo}"
        );
        let Err(error) = Config::parse("[shop]\nnmae = \"x\"\n") else {
            panic!("a misspelled key must be refused");
        };
        assert!(
            error.0.contains("line 2") && error.0.contains("nmae"),
            "{error}"
        );
    }
}
