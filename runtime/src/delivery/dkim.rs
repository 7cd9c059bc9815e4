//! DKIM signatures (RFC 6376, RFC 8463 for Ed25519) of formatted messages.
//!
//! Signing is done here with ring (the library rustls already builds) rather than with lettre's
//! `dkim` feature, which would add the `rsa` crate (not constant-time: RUSTSEC-2023-0071) and
//! about twenty other crates. The signature uses relaxed/relaxed canonicalization and covers the
//! headers a receiver shows or acts on, `List-Unsubscribe` and `List-Unsubscribe-Post` included
//! (mailbox providers only honour one-click unsubscription when the signature covers both, RFC
//! 8058 §4). Headers that must not appear twice are over-signed, so a second `From`, `Subject` or
//! `List-Unsubscribe` added on the way breaks the signature.
//!
//! The signing time (`t=`) is an argument: the same message, key and time give the same bytes.

use std::fmt;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use sha2::{Digest, Sha256};

use super::config::Dkim;

/// The headers signed when present, in this order.
pub const SIGNED_HEADERS: &[&str] = &[
    "From",
    "Reply-To",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "X-Journey",
];

/// The headers signed once more than they occur (RFC 6376 §8.15): adding one breaks the signature.
const OVERSIGNED_HEADERS: &[&str] = &[
    "From",
    "Reply-To",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
];

/// Why a DKIM key could not be loaded or a message signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DKIM key: {}", self.0)
    }
}

impl std::error::Error for Error {}

/// Signs messages for one domain and selector with one private key.
pub struct Signer {
    domain: String,
    selector: String,
    key: Key,
    random: SystemRandom,
}

enum Key {
    Rsa(RsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("domain", &self.domain)
            .field("selector", &self.selector)
            .field("algorithm", &self.algorithm())
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// Reads the configured key file (a relative path is relative to `data_folder`).
    pub fn load(dkim: &Dkim, data_folder: &Path) -> Result<Signer, Error> {
        let path = data_folder.join(&dkim.private_key_file);
        let pem = std::fs::read_to_string(&path)
            .map_err(|error| Error(format!("cannot read {}: {error}", path.display())))?;
        Signer::from_pem(&dkim.domain, &dkim.selector, &pem)
            .map_err(|Error(reason)| Error(format!("{}: {reason}", path.display())))
    }

    /// A signer from a PEM key: `RSA PRIVATE KEY` (PKCS#1), or `PRIVATE KEY` (PKCS#8, RSA or
    /// Ed25519). RSA keys must have 2048 bits or more.
    pub fn from_pem(domain: &str, selector: &str, pem: &str) -> Result<Signer, Error> {
        let valid_name = |name: &str| {
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        };
        if !valid_name(domain) || !valid_name(selector) {
            return Err(Error(format!(
                "`{domain}` and `{selector}` must be a domain and a selector (letters, digits, `-`, `_`, `.`)"
            )));
        }
        let (label, der) = pem_block(pem)?;
        let key = match label.as_str() {
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der)
                .map(Key::Rsa)
                .map_err(|error| Error(format!("not a usable RSA key: {error}")))?,
            "PRIVATE KEY" => match RsaKeyPair::from_pkcs8(&der) {
                Ok(key) => Key::Rsa(key),
                Err(rsa) => Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
                    .map(Key::Ed25519)
                    .map_err(|_| {
                        Error(format!(
                            "neither a usable RSA key ({rsa}) nor an Ed25519 key"
                        ))
                    })?,
            },
            other => {
                return Err(Error(format!("a PEM `{other}` block is not a private key")));
            }
        };
        Ok(Signer {
            domain: domain.to_string(),
            selector: selector.to_string(),
            key,
            random: SystemRandom::new(),
        })
    }

    /// `rsa-sha256` or `ed25519-sha256`.
    pub fn algorithm(&self) -> &'static str {
        match self.key {
            Key::Rsa(_) => "rsa-sha256",
            Key::Ed25519(_) => "ed25519-sha256",
        }
    }

    /// The message with a `DKIM-Signature` header in front, signed at `time`.
    pub fn sign(&self, email: &[u8], time: DateTime<Utc>) -> Result<Vec<u8>, Error> {
        let (head, body) = split(email);
        // lettre encodes every header value to ASCII; anything else is not ours to sign.
        let head = std::str::from_utf8(head)
            .map_err(|_| Error("the header block is not UTF-8".to_string()))?;
        let fields = fields(head);
        let mut names: Vec<&str> = Vec::new();
        for name in SIGNED_HEADERS {
            if fields.iter().any(|f| f.name.eq_ignore_ascii_case(name)) {
                names.push(name);
            }
        }
        for name in OVERSIGNED_HEADERS {
            if names.contains(name) {
                names.push(name);
            }
        }
        let h = header_list(&names);
        let bh = BASE64.encode(Sha256::digest(relaxed_body(body)));
        let unsigned = format!(
            "v=1; a={}; c=relaxed/relaxed; d={}; s={};\r\n\tt={}; h={};\r\n\tbh={};\r\n\tb=",
            self.algorithm(),
            self.domain,
            self.selector,
            time.timestamp().max(0),
            h,
            bh,
        );
        let mut data = signed_headers(&fields, &names);
        data.push_str(&relaxed_header("DKIM-Signature", &unsigned));
        let signature = self.signature(data.as_bytes())?;
        let b = BASE64.encode(signature);
        let mut out = Vec::with_capacity(email.len() + unsigned.len() + b.len() + 64);
        out.extend_from_slice(b"DKIM-Signature: ");
        out.extend_from_slice(unsigned.as_bytes());
        out.extend_from_slice(fold(&b).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(email);
        Ok(out)
    }

    fn signature(&self, data: &[u8]) -> Result<Vec<u8>, Error> {
        match &self.key {
            Key::Rsa(key) => {
                let mut signature = vec![0; key.public().modulus_len()];
                key.sign(&RSA_PKCS1_SHA256, &self.random, data, &mut signature)
                    .map_err(|_| Error("RSA signing failed".to_string()))?;
                Ok(signature)
            }
            // RFC 8463 §3: Ed25519 signs the SHA-256 hash of the data, not the data.
            Key::Ed25519(key) => Ok(key.sign(&Sha256::digest(data)).as_ref().to_vec()),
        }
    }
}

/// The first PEM block: its label and its bytes.
fn pem_block(pem: &str) -> Result<(String, Vec<u8>), Error> {
    let mut lines = pem.lines().map(str::trim);
    let label = lines
        .by_ref()
        .find_map(|line| {
            line.strip_prefix("-----BEGIN ")
                .and_then(|rest| rest.strip_suffix("-----"))
        })
        .ok_or_else(|| Error("no `-----BEGIN … PRIVATE KEY-----` line".to_string()))?;
    let end = format!("-----END {label}-----");
    let mut base64 = String::new();
    let mut ended = false;
    for line in lines {
        if line == end {
            ended = true;
            break;
        }
        if line.contains(':') {
            return Err(Error(
                "encrypted PEM keys are not supported: store the key unencrypted".to_string(),
            ));
        }
        base64.push_str(line);
    }
    if !ended {
        return Err(Error(format!("no `{end}` line")));
    }
    let der = BASE64
        .decode(base64.as_bytes())
        .map_err(|error| Error(format!("bad base64 in the PEM block: {error}")))?;
    Ok((label.to_string(), der))
}

/// Splits a message at the blank line ending its header block.
fn split(email: &[u8]) -> (&[u8], &[u8]) {
    match email.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(at) => (
            email.get(..at + 2).unwrap_or(email),
            email.get(at + 4..).unwrap_or_default(),
        ),
        None => (email, &[]),
    }
}

/// One header field: its name and its raw value (folding kept, no final CRLF).
struct Field<'a> {
    name: &'a str,
    value: &'a str,
}

fn fields(head: &str) -> Vec<Field<'_>> {
    let mut out: Vec<Field<'_>> = Vec::new();
    let mut start = 0;
    let bytes = head.as_bytes();
    let mut i = 0;
    while i + 1 < bytes.len() {
        let crlf = bytes.get(i) == Some(&b'\r') && bytes.get(i + 1) == Some(&b'\n');
        let continued = matches!(bytes.get(i + 2), Some(b' ' | b'\t'));
        if crlf && !continued {
            if let Some(field) = head.get(start..i).and_then(field) {
                out.push(field);
            }
            start = i + 2;
            i += 2;
        } else {
            i += 1;
        }
    }
    out
}

fn field(line: &str) -> Option<Field<'_>> {
    let (name, value) = line.split_once(':')?;
    Some(Field {
        name: name.trim_end_matches([' ', '\t']),
        value,
    })
}

/// The canonical text of the signed headers (RFC 6376 §5.4.2): for each name in `h=`, the last
/// occurrence not yet used; a name with no occurrence left contributes nothing.
fn signed_headers(fields: &[Field<'_>], names: &[&str]) -> String {
    let mut used = vec![false; fields.len()];
    let mut out = String::new();
    for name in names {
        let found = fields.iter().enumerate().rev().find(|(i, f)| {
            f.name.eq_ignore_ascii_case(name) && !used.get(*i).copied().unwrap_or(true)
        });
        if let Some((i, f)) = found {
            if let Some(slot) = used.get_mut(i) {
                *slot = true;
            }
            out.push_str(&relaxed_header(f.name, f.value));
            out.push_str("\r\n");
        }
    }
    out
}

/// Relaxed header canonicalization (RFC 6376 §3.4.2), without the final CRLF: lower-case name,
/// unfolded value, runs of white space as one space, none at either end of the value.
fn relaxed_header(name: &str, value: &str) -> String {
    let mut out = name.trim().to_ascii_lowercase();
    out.push(':');
    let unfolded = value.replace("\r\n", "");
    let mut space = false;
    for c in unfolded.trim_matches([' ', '\t']).chars() {
        if c == ' ' || c == '\t' {
            space = true;
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    out
}

/// Relaxed body canonicalization (RFC 6376 §3.4.4): runs of white space as one space, none at
/// line ends, no empty lines at the end, a final CRLF unless the body is empty.
fn relaxed_body(body: &[u8]) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for line in body.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut out = Vec::with_capacity(line.len());
        let mut space = false;
        for &b in line {
            if b == b' ' || b == b'\t' {
                space = true;
            } else {
                if space {
                    out.push(b' ');
                    space = false;
                }
                out.push(b);
            }
        }
        lines.push(out);
    }
    while lines.last().is_some_and(Vec::is_empty) {
        lines.pop();
    }
    let mut out = Vec::with_capacity(body.len());
    for line in lines {
        out.extend_from_slice(&line);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The `h=` list, lower case, folded before a name that would pass 72 characters on its line
/// (white space around the colons of `h=` is allowed and ignored).
fn header_list(names: &[&str]) -> String {
    let mut out = String::new();
    let mut line = "\tt=1234567890; h=".len();
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push(':');
            line += 1;
            if line + name.len() > 72 {
                out.push_str("\r\n\t");
                line = 1;
            }
        }
        out.push_str(&name.to_ascii_lowercase());
        line += name.len();
    }
    out
}

/// The signature folded into lines of 72 characters (white space inside `b=` is ignored).
fn fold(b: &str) -> String {
    let mut out = String::with_capacity(b.len() + b.len() / 24);
    for (i, c) in b.chars().enumerate() {
        if i > 0 && i % 72 == 0 {
            out.push_str("\r\n\t");
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use journey_compiler::bytecode::Category;
    use ring::signature::{ED25519, KeyPair, UnparsedPublicKey};

    use super::*;
    use crate::delivery::config::Config;
    use crate::delivery::email::{self, tests as email_tests};

    fn ed25519_pem() -> (String, Vec<u8>) {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let public = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
            .unwrap()
            .public_key()
            .as_ref()
            .to_vec();
        let body = BASE64.encode(pkcs8.as_ref());
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n");
        (pem, public)
    }

    /// Verifies the first DKIM-Signature of `signed` the way a receiver does: take the tags,
    /// recompute the body hash, canonicalize the `h=` headers and the signature header with an
    /// empty `b=`, check the Ed25519 signature.
    fn verify_ed25519(signed: &[u8], public: &[u8]) -> Result<(), String> {
        let (head, body) = split(signed);
        let fields = fields(std::str::from_utf8(head).unwrap());
        let dkim = fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case("DKIM-Signature"))
            .ok_or("no signature")?;
        let unfolded = dkim.value.replace("\r\n", "");
        let tag = |t: &str| -> Option<String> {
            unfolded.split(';').find_map(|part| {
                let (k, v) = part.split_once('=')?;
                (k.trim() == t).then(|| v.chars().filter(|c| !c.is_whitespace()).collect())
            })
        };
        let bh = tag("bh").ok_or("no bh")?;
        if bh != BASE64.encode(Sha256::digest(relaxed_body(body))) {
            return Err("body hash differs".to_string());
        }
        let h = tag("h").ok_or("no h")?;
        let names: Vec<&str> = h.split(':').collect();
        // Remove the b= value (everything after the last `b=`).
        let at = dkim.value.rfind("b=").ok_or("no b")?;
        let without_b = &dkim.value[..at + 2];
        let signed_fields: Vec<Field<'_>> = fields
            .into_iter()
            .filter(|f| !f.name.eq_ignore_ascii_case("DKIM-Signature"))
            .collect();
        let mut data = signed_headers(&signed_fields, &names);
        data.push_str(&relaxed_header("DKIM-Signature", without_b));
        let signature = BASE64
            .decode(tag("b").ok_or("no b")?)
            .map_err(|e| e.to_string())?;
        UnparsedPublicKey::new(&ED25519, public)
            .verify(&Sha256::digest(data.as_bytes()), &signature)
            .map_err(|_| "bad signature".to_string())
    }

    fn signed_marketing_email(signer: &Signer) -> Vec<u8> {
        let config = Config {
            from: "Caffè Aroma <ciao@caffearoma.it>".to_string(),
            ..Config::default()
        };
        let message = email_tests::message(Category::Marketing, true);
        let email = email::build(&message, &config, email_tests::date()).unwrap();
        signer
            .sign(&email.formatted(), email_tests::date())
            .unwrap()
    }

    #[test]
    fn an_ed25519_signature_verifies_and_covers_the_unsubscribe_headers() {
        let (pem, public) = ed25519_pem();
        let signer = Signer::from_pem("caffearoma.it", "journey", &pem).unwrap();
        assert_eq!(signer.algorithm(), "ed25519-sha256");
        let signed = signed_marketing_email(&signer);
        verify_ed25519(&signed, &public).unwrap();
        let text = String::from_utf8(signed.clone()).unwrap();
        let header = text
            .split("\r\n\r\n")
            .next()
            .unwrap()
            .replace(":\r\n\t", ":")
            .replace("\r\n\t", " ");
        let dkim = header
            .lines()
            .find(|l| l.starts_with("DKIM-Signature:"))
            .unwrap();
        assert!(dkim.contains("a=ed25519-sha256; c=relaxed/relaxed; d=caffearoma.it; s=journey;"));
        assert!(dkim.contains("t=1795426200;"), "{dkim}");
        assert!(
            dkim.contains(":list-unsubscribe:list-unsubscribe-post:"),
            "{dkim}"
        );
        assert!(
            dkim.contains("h=from:to:subject:date:message-id:"),
            "{dkim}"
        );

        // Tampering with a signed header or the body breaks it.
        let tampered = text.replace("One-Click", "One-click");
        assert!(verify_ed25519(tampered.as_bytes(), &public).is_err());
        let tampered = text.replace("benvenuta.", "benvenuto.");
        assert!(verify_ed25519(tampered.as_bytes(), &public).is_err());
        // A second List-Unsubscribe added on the way is caught by over-signing.
        let appended = text.replacen(
            "\r\n\r\n",
            "\r\nList-Unsubscribe: <https://evil.example/>\r\n\r\n",
            1,
        );
        assert!(verify_ed25519(appended.as_bytes(), &public).is_err());
    }

    #[test]
    fn signing_is_deterministic_for_ed25519() {
        let (pem, _) = ed25519_pem();
        let signer = Signer::from_pem("caffearoma.it", "journey", &pem).unwrap();
        assert_eq!(
            signed_marketing_email(&signer),
            signed_marketing_email(&signer)
        );
    }

    #[test]
    fn canonicalization_follows_rfc_6376() {
        // The examples of RFC 6376 §3.4.5.
        assert_eq!(relaxed_header("A ", " X\r\n"), "a:X\r\n".trim_end());
        assert_eq!(relaxed_header("B ", " Y\t\r\n\tZ  "), "b:Y Z");
        assert_eq!(
            relaxed_body(b" C \r\nD \t E\r\n\r\n\r\n"),
            b" C\r\nD E\r\n".to_vec()
        );
        assert_eq!(relaxed_body(b""), b"".to_vec());
        assert_eq!(relaxed_body(b"\r\n\r\n"), b"".to_vec());
        assert_eq!(relaxed_body(b"no newline"), b"no newline\r\n".to_vec());
    }

    #[test]
    fn bad_keys_are_explained() {
        let error = Signer::from_pem("d.example", "s", "hello").unwrap_err();
        assert!(error.0.contains("BEGIN"), "{error}");
        let error = Signer::from_pem(
            "d.example",
            "s",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .unwrap_err();
        assert!(error.0.contains("neither"), "{error}");
        let (pem, _) = ed25519_pem();
        let error = Signer::from_pem("d.example; x=1", "s", &pem).unwrap_err();
        assert!(error.0.contains("domain"), "{error}");
        let error = Signer::from_pem(
            "d.example",
            "s",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap_err();
        assert!(error.0.contains("not a private key"), "{error}");
    }
}
