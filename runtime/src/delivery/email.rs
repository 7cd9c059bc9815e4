//! A rendered message of the VM as an email: headers, MIME structure, unsubscribe headers.
//!
//! `build` is a pure function of the message, the configuration and the date: the same inputs
//! give the same bytes (the Message-ID is the VM's, the MIME boundary is derived from it), so a
//! redelivered message is the same message. DKIM signing happens later, on the formatted bytes
//! (`dkim`), because it needs the key the deliverer loaded.

use std::fmt;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use journey_compiler::bytecode::{Category, Channel};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use sha2::{Digest, Sha256};

use super::config::Config;
use crate::vm;

/// The header naming the journey and template a message came from (`X-Journey: welcome/hello`).
pub const X_JOURNEY: &str = "X-Journey";

/// Why a message cannot become an email. The engine records it as a dead letter: retrying would
/// give the same answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuildError {
    /// The message is not an email (an SMS or a webhook call).
    NotEmail {
        /// Its channel.
        channel: Channel,
    },
    /// The message has no address to send to.
    NoRecipient,
    /// The recipient is not a valid email address.
    InvalidRecipient {
        /// The address as the profile has it.
        to: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The configured `from` or `reply_to` is not a valid mailbox.
    InvalidSender {
        /// Which setting: `from` or `reply_to`.
        setting: &'static str,
        /// Its value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The Message-ID is not of the form `<id@domain>` in ASCII.
    InvalidMessageId {
        /// The id.
        id: String,
    },
    /// A marketing email without an unsubscribe address.
    NoUnsubscribeUrl,
    /// The unsubscribe address is not an `http(s)://` URL that fits in a header.
    InvalidUnsubscribeUrl {
        /// The address.
        url: String,
    },
    /// lettre refused the message.
    Email(String),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::NotEmail { channel } => {
                write!(f, "a {channel:?} message cannot be sent as an email")
            }
            BuildError::NoRecipient => write!(f, "the message has no recipient address"),
            BuildError::InvalidRecipient { to, reason } => {
                write!(f, "`{to}` is not a valid email address: {reason}")
            }
            BuildError::InvalidSender {
                setting,
                value,
                reason,
            } => write!(
                f,
                "delivery `{setting}` `{value}` is not a valid mailbox: {reason}"
            ),
            BuildError::InvalidMessageId { id } => {
                write!(f, "`{id}` is not a valid Message-ID (`<id@domain>`, ASCII)")
            }
            BuildError::NoUnsubscribeUrl => {
                write!(f, "a marketing email must carry an unsubscribe address")
            }
            BuildError::InvalidUnsubscribeUrl { url } => write!(
                f,
                "`{url}` is not an http(s) URL usable in a List-Unsubscribe header"
            ),
            BuildError::Email(reason) => write!(f, "the email could not be built: {reason}"),
        }
    }
}

impl std::error::Error for BuildError {}

/// Builds the email of a rendered message, dated `date`.
///
/// Headers: `From` and `Reply-To` from the configuration, `To`, `Subject` (RFC 2047 encoded when
/// not ASCII), `Date`, the VM's deterministic `Message-ID`, `X-Journey: journey/template`. The
/// body is `multipart/alternative` (plain text, then HTML) when the message has an HTML part,
/// plain text otherwise. Marketing mail also carries `List-Unsubscribe: <url>` and, for an
/// `https` URL, `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058: mailbox providers
/// POST to the URL, without a confirmation page). Transactional mail carries neither.
pub fn build(
    message: &vm::Message,
    config: &Config,
    date: DateTime<Utc>,
) -> Result<lettre::Message, BuildError> {
    if message.channel != Channel::Email {
        return Err(BuildError::NotEmail {
            channel: message.channel,
        });
    }
    let to = recipient(message.to.as_deref())?;
    let from = sender("from", &config.from)?;
    let id = message_id(&message.message_id)?;
    let mut builder = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(message.subject.clone().unwrap_or_default())
        .date(SystemTime::from(date))
        .message_id(Some(id.to_string()))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str(X_JOURNEY),
            format!("{}/{}", message.journey, message.template),
        ));
    if let Some(reply_to) = &config.reply_to {
        builder = builder.reply_to(sender("reply_to", reply_to)?);
    }
    if message.category == Category::Marketing {
        let url = message
            .unsubscribe_url
            .as_deref()
            .ok_or(BuildError::NoUnsubscribeUrl)?;
        for header in unsubscribe_headers(url)? {
            builder = builder.raw_header(header);
        }
    }
    let text = SinglePart::plain(message.text.clone());
    let email = match &message.html {
        None => builder.singlepart(text),
        Some(html) => builder.multipart(
            MultiPart::alternative()
                .boundary(boundary(id))
                .singlepart(text)
                .singlepart(SinglePart::html(html.clone())),
        ),
    };
    email.map_err(|error| BuildError::Email(error.to_string()))
}

fn recipient(to: Option<&str>) -> Result<Mailbox, BuildError> {
    let to = to.ok_or(BuildError::NoRecipient)?;
    let address =
        to.trim()
            .parse::<lettre::Address>()
            .map_err(|error| BuildError::InvalidRecipient {
                to: to.to_string(),
                reason: error.to_string(),
            })?;
    Ok(Mailbox::new(None, address))
}

fn sender(setting: &'static str, value: &str) -> Result<Mailbox, BuildError> {
    value
        .parse::<Mailbox>()
        .map_err(|error| BuildError::InvalidSender {
            setting,
            value: value.to_string(),
            reason: error.to_string(),
        })
}

/// Checks a configured `from` or `reply_to` (used when the deliverer starts, so a bad setting is
/// found before the first message).
pub fn check_mailbox(setting: &'static str, value: &str) -> Result<(), BuildError> {
    sender(setting, value).map(|_| ())
}

fn message_id(id: &str) -> Result<&str, BuildError> {
    let inner = id
        .strip_prefix('<')
        .and_then(|rest| rest.strip_suffix('>'))
        .filter(|inner| {
            inner.contains('@')
                && inner
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !b"<>\"\\".contains(&b))
        });
    match inner {
        Some(_) => Ok(id),
        None => Err(BuildError::InvalidMessageId { id: id.to_string() }),
    }
}

/// The MIME boundary: derived from the Message-ID, so the same message always has the same bytes.
/// `=_` cannot occur in quoted-printable or base64 text, so the boundary never clashes with a part.
fn boundary(message_id: &str) -> String {
    let digest = Sha256::digest(message_id.as_bytes());
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("=_journey_{hex}")
}

/// `List-Unsubscribe`, and `List-Unsubscribe-Post` for an https URL (RFC 8058 requires https for
/// one-click; a plain http URL, as in local testing, gets the first header only).
fn unsubscribe_headers(url: &str) -> Result<Vec<HeaderValue>, BuildError> {
    let https = url.starts_with("https://");
    let usable = (https || url.starts_with("http://"))
        && url.len() <= 900
        && url
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"<>\"".contains(&b));
    if !usable {
        return Err(BuildError::InvalidUnsubscribeUrl {
            url: url.to_string(),
        });
    }
    let value = format!("<{url}>");
    // Pre-encoded: the URL is printable ASCII without spaces or angle brackets (checked above),
    // so there is nothing to encode and nothing that could inject a header.
    let mut headers = vec![HeaderValue::dangerous_new_pre_encoded(
        HeaderName::new_from_ascii_str("List-Unsubscribe"),
        value.clone(),
        value,
    )];
    if https {
        let post = "List-Unsubscribe=One-Click".to_string();
        headers.push(HeaderValue::dangerous_new_pre_encoded(
            HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
            post.clone(),
            post,
        ));
    }
    Ok(headers)
}

#[cfg(test)]
pub(crate) mod tests {
    use chrono::TimeZone;

    use super::*;

    /// A rendered message as the VM would emit it.
    pub(crate) fn message(category: Category, html: bool) -> vm::Message {
        vm::Message {
            message_id: "<0123456789abcdef.welcome@caffearoma.it>".to_string(),
            journey: "welcome".to_string(),
            instance: 1,
            step: "send hello".to_string(),
            template: "hello".to_string(),
            channel: Channel::Email,
            category,
            to: Some("giulia@example.org".to_string()),
            subject: Some("Benvenuta, Giulia! Il tuo caffè è pronto".to_string()),
            preheader: None,
            text: "Ciao Giulia,\n\nbenvenuta.\n".to_string(),
            html: html.then(|| "<p>Ciao <b>Giulia</b>,</p>\n<p>benvenuta.</p>\n".to_string()),
            unsubscribe_url: (category == Category::Marketing)
                .then(|| "https://shop.example/u/giulia%40example.org/abc123".to_string()),
            coupons: Vec::new(),
        }
    }

    pub(crate) fn date() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 30, 0).unwrap()
    }

    fn config() -> Config {
        Config {
            from: "Caffè Aroma <ciao@caffearoma.it>".to_string(),
            reply_to: Some("help@caffearoma.it".to_string()),
            ..Config::default()
        }
    }

    fn text(category: Category, html: bool) -> String {
        let email = build(&message(category, html), &config(), date()).unwrap();
        String::from_utf8(email.formatted()).unwrap()
    }

    /// The header block, unfolded, one `name: value` per line.
    fn headers(text: &str) -> Vec<String> {
        let head = text.split("\r\n\r\n").next().unwrap();
        let mut lines: Vec<String> = Vec::new();
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                lines.last_mut().unwrap().push_str(line);
            } else {
                lines.push(line.to_string());
            }
        }
        lines
    }

    fn header<'a>(headers: &'a [String], name: &str) -> Option<&'a str> {
        headers.iter().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    #[test]
    fn a_marketing_email_carries_the_one_click_unsubscribe_headers() {
        let text = text(Category::Marketing, true);
        let headers = headers(&text);
        assert_eq!(
            header(&headers, "List-Unsubscribe"),
            Some("<https://shop.example/u/giulia%40example.org/abc123>")
        );
        assert_eq!(
            header(&headers, "List-Unsubscribe-Post"),
            Some("List-Unsubscribe=One-Click")
        );
        assert_eq!(header(&headers, "X-Journey"), Some("welcome/hello"));
    }

    #[test]
    fn a_transactional_email_carries_no_unsubscribe_header() {
        let text = text(Category::Transactional, true);
        let headers = headers(&text);
        assert_eq!(header(&headers, "List-Unsubscribe"), None);
        assert_eq!(header(&headers, "List-Unsubscribe-Post"), None);
    }

    #[test]
    fn the_addresses_ids_and_date_are_set() {
        let text = text(Category::Transactional, false);
        let headers = headers(&text);
        assert_eq!(
            header(&headers, "Message-ID"),
            Some("<0123456789abcdef.welcome@caffearoma.it>")
        );
        assert_eq!(header(&headers, "To"), Some("giulia@example.org"));
        let from = header(&headers, "From").unwrap();
        assert!(from.ends_with("<ciao@caffearoma.it>"), "{from}");
        assert!(
            from.contains("=?utf-8?"),
            "non-ASCII name is encoded: {from}"
        );
        assert_eq!(header(&headers, "Reply-To"), Some("help@caffearoma.it"));
        assert_eq!(
            header(&headers, "Date"),
            Some("Mon, 23 Nov 2026 09:30:00 +0000")
        );
        // RFC 2047: the words with non-ASCII letters are encoded, the others left readable.
        let subject = header(&headers, "Subject").unwrap();
        assert_eq!(
            subject,
            "Benvenuta, Giulia! Il tuo =?utf-8?b?Y2FmZsOoIMOo?= pronto"
        );
        use base64::Engine;
        let word = base64::engine::general_purpose::STANDARD
            .decode("Y2FmZsOoIMOo")
            .unwrap();
        assert_eq!(String::from_utf8(word).unwrap(), "caffè è");
    }

    #[test]
    fn with_html_the_body_is_multipart_alternative_text_first() {
        let text = text(Category::Marketing, true);
        let headers = headers(&text);
        let content_type = header(&headers, "Content-Type").unwrap();
        assert!(
            content_type.starts_with("multipart/alternative;"),
            "{content_type}"
        );
        assert!(content_type.contains("=_journey_"), "{content_type}");
        let plain = text
            .find("Content-Type: text/plain; charset=utf-8")
            .unwrap();
        let html = text.find("Content-Type: text/html; charset=utf-8").unwrap();
        assert!(plain < html, "text part first");
    }

    #[test]
    fn without_html_the_body_is_plain_text() {
        let text = text(Category::Transactional, false);
        let headers = headers(&text);
        assert_eq!(
            header(&headers, "Content-Type"),
            Some("text/plain; charset=utf-8")
        );
        assert!(!text.contains("multipart"));
    }

    #[test]
    fn the_same_message_gives_the_same_bytes() {
        assert_eq!(
            text(Category::Marketing, true),
            text(Category::Marketing, true)
        );
    }

    #[test]
    fn an_invalid_recipient_is_named() {
        let mut message = message(Category::Transactional, false);
        message.to = Some("giulia at example".to_string());
        let error = build(&message, &config(), date()).unwrap_err();
        assert!(
            matches!(&error, BuildError::InvalidRecipient { to, .. } if to == "giulia at example"),
            "{error:?}"
        );
        assert!(error.to_string().contains("`giulia at example`"));
        message.to = None;
        assert_eq!(
            build(&message, &config(), date()).unwrap_err(),
            BuildError::NoRecipient
        );
    }

    #[test]
    fn a_header_cannot_be_injected() {
        let mut message = message(Category::Marketing, false);
        message.unsubscribe_url = Some("https://x.example/u\r\nBcc: all@example.org".to_string());
        assert!(matches!(
            build(&message, &config(), date()),
            Err(BuildError::InvalidUnsubscribeUrl { .. })
        ));
        let mut message = super::tests::message(Category::Transactional, false);
        message.subject = Some("Hi\r\nBcc: all@example.org".to_string());
        let text =
            String::from_utf8(build(&message, &config(), date()).unwrap().formatted()).unwrap();
        assert!(!text.contains("\r\nBcc:"), "{text}");
    }

    #[test]
    fn marketing_without_an_unsubscribe_url_is_refused() {
        let mut message = message(Category::Marketing, false);
        message.unsubscribe_url = None;
        assert_eq!(
            build(&message, &config(), date()).unwrap_err(),
            BuildError::NoUnsubscribeUrl
        );
        message.unsubscribe_url = Some("http://localhost:8080/u/x".to_string());
        let text =
            String::from_utf8(build(&message, &config(), date()).unwrap().formatted()).unwrap();
        let headers = headers(&text);
        assert!(header(&headers, "List-Unsubscribe").is_some());
        assert_eq!(
            header(&headers, "List-Unsubscribe-Post"),
            None,
            "one-click needs https"
        );
    }

    #[test]
    fn sms_and_bad_settings_are_refused() {
        let mut sms = message(Category::Transactional, false);
        sms.channel = Channel::Sms;
        assert!(matches!(
            build(&sms, &config(), date()),
            Err(BuildError::NotEmail { .. })
        ));
        let bad = Config {
            from: "not a mailbox".to_string(),
            ..Config::default()
        };
        assert!(matches!(
            build(&message(Category::Transactional, false), &bad, date()),
            Err(BuildError::InvalidSender {
                setting: "from",
                ..
            })
        ));
        let mut odd = message(Category::Transactional, false);
        odd.message_id = "no-brackets@x".to_string();
        assert!(matches!(
            build(&odd, &config(), date()),
            Err(BuildError::InvalidMessageId { .. })
        ));
    }
}
