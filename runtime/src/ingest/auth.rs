//! Who may call the API: a bearer token (`Authorization: Bearer <token>`, compared in constant
//! time) on every route but the public ones (`/healthz`, `/openapi.json`, the one-click
//! unsubscribe links), and optionally an HMAC-SHA256 signature of the raw body, the way shop
//! platforms sign their webhooks (`X-Journey-Signature: sha256=<hex>`).
//!
//! Secrets are resolved once, when the router is built. A secret that is configured but cannot
//! be read (its environment variable is unset) fails closed: every request that needs it gets a
//! 500 and the log says why. Left out: several tokens, scopes, and replay protection by
//! timestamp (events carry idempotency keys instead).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::Config;
use super::errors::Problem;

/// A secret as configured: none, its bytes, or why it could not be read.
#[derive(Clone)]
pub(crate) enum Secret {
    /// Not configured: the check is off.
    Off,
    /// The secret.
    On(Vec<u8>),
    /// Configured but unreadable: every check fails.
    Broken(String),
}

impl Secret {
    /// Resolves a secret given inline or by the name of an environment variable.
    pub(crate) fn resolve(value: Option<&str>, env: Option<&str>, what: &str) -> Secret {
        match (value, env) {
            (Some(_), Some(_)) => {
                Secret::Broken(format!("{what}: give the value or `{what}_env`, not both"))
            }
            (Some(""), None) => Secret::Broken(format!("{what} is empty")),
            (Some(value), None) => Secret::On(value.as_bytes().to_vec()),
            (None, Some(name)) => match std::env::var(name) {
                Ok(value) if !value.is_empty() => Secret::On(value.into_bytes()),
                Ok(_) => Secret::Broken(format!("{what}: environment variable `{name}` is empty")),
                Err(_) => Secret::Broken(format!(
                    "{what}: environment variable `{name}` is not set (or not Unicode)"
                )),
            },
            (None, None) => Secret::Off,
        }
    }

    fn misconfigured(why: &str) -> Problem {
        tracing::error!(%why, "the ingest is misconfigured");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server's credentials are misconfigured; see its log",
        )
    }
}

/// The resolved credentials of the ingest.
pub(crate) struct Keys {
    /// The bearer token.
    pub(crate) token: Secret,
    /// The HMAC key of body signatures.
    pub(crate) hmac: Secret,
    /// The header carrying the signature.
    pub(crate) signature_header: HeaderName,
}

impl Keys {
    /// Reads the credentials of `config` (environment variables included).
    pub(crate) fn from_config(config: &Config) -> Keys {
        let token = Secret::resolve(
            config.token.as_deref(),
            config.token_env.as_deref(),
            "token",
        );
        let mut hmac = Secret::resolve(
            config.hmac_secret.as_deref(),
            config.hmac_secret_env.as_deref(),
            "hmac_secret",
        );
        let signature_header = match HeaderName::try_from(config.signature_header.as_str()) {
            Ok(name) => name,
            Err(_) => {
                if !matches!(hmac, Secret::Off) {
                    hmac = Secret::Broken(format!(
                        "signature_header `{}` is not a valid header name",
                        config.signature_header
                    ));
                }
                HeaderName::from_static("x-journey-signature")
            }
        };
        if let Secret::Broken(why) = &token {
            tracing::error!(%why, "no request will be accepted until the token is fixed");
        }
        if let Secret::Broken(why) = &hmac {
            tracing::error!(%why, "no signed request will be accepted until the secret is fixed");
        }
        Keys {
            token,
            hmac,
            signature_header,
        }
    }

    /// Checks the body's signature, if signatures are configured.
    pub(crate) fn verify_signature(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), Problem> {
        let secret = match &self.hmac {
            Secret::Off => return Ok(()),
            Secret::Broken(why) => return Err(Secret::misconfigured(why)),
            Secret::On(secret) => secret,
        };
        let header = self.signature_header.as_str();
        let Some(value) = headers.get(&self.signature_header) else {
            return Err(bad_signature(format!(
                "the `{header}` header is missing: sign the body with HMAC-SHA256 and send `sha256=<hex>`"
            )));
        };
        let Some(signature) = value
            .to_str()
            .ok()
            .and_then(|v| v.trim().strip_prefix("sha256="))
            .and_then(hex)
        else {
            return Err(bad_signature(format!(
                "the `{header}` header should be `sha256=` followed by 64 hex digits"
            )));
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(secret)
            .map_err(|_| Secret::misconfigured("the HMAC key is unusable"))?;
        mac.update(body);
        // `verify_slice` compares in constant time.
        mac.verify_slice(&signature).map_err(|_| {
            bad_signature(format!(
                "the `{header}` signature does not match the body (HMAC-SHA256 of the raw bytes, hex)"
            ))
        })
    }
}

fn bad_signature(message: String) -> Problem {
    Problem::new(StatusCode::UNAUTHORIZED, "bad_signature", message)
}

/// Hex digits to bytes (`None` if odd-length or not hex).
fn hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digits: Option<Vec<u8>> = text
        .chars()
        .map(|c| c.to_digit(16).and_then(|d| u8::try_from(d).ok()))
        .collect();
    Some(
        digits?
            .chunks(2)
            .map(|pair| pair.iter().fold(0u8, |acc, d| (acc << 4) | d))
            .collect(),
    )
}

/// Middleware: refuses requests without the configured bearer token.
pub(crate) async fn bearer(
    State(keys): State<Arc<Keys>>,
    request: Request,
    next: Next,
) -> Response {
    let expected = match &keys.token {
        Secret::Off => return next.run(request).await,
        Secret::Broken(why) => return Secret::misconfigured(why).into_response(),
        Secret::On(token) => token,
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let Some(given) = given else {
        let mut problem = Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send the API token as `Authorization: Bearer <token>`",
        );
        problem.challenge = Some("Bearer realm=\"journey\"");
        return problem.into_response();
    };
    if bool::from(given.as_bytes().ct_eq(expected)) {
        next.run(request).await
    } else {
        let mut problem = Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the bearer token is not the configured one",
        );
        problem.challenge = Some("Bearer realm=\"journey\", error=\"invalid_token\"");
        problem.into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::hex;

    #[test]
    fn hex_reads_pairs_and_refuses_the_rest() {
        assert_eq!(hex("00ff1A"), Some(vec![0, 255, 26]));
        assert_eq!(hex("abc"), None);
        assert_eq!(hex("zz"), None);
        assert_eq!(hex(""), Some(vec![]));
    }
}
