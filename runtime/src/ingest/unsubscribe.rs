//! One-click unsubscribe (RFC 8058) at `/v1/unsubscribe/{customer}/{token}`, the links the VM
//! puts in marketing email (`Environment::unsubscribe_url`). No bearer token: mail providers
//! and customers call it, and the token in the path is the proof.
//!
//! `POST` with the body `List-Unsubscribe=One-Click` (form-encoded or multipart, as RFC 8058
//! allows) unsubscribes. `GET` never does: link scanners and previewers fetch links, so it only
//! shows a small page whose button sends that `POST`. Both pages are static (nothing from the
//! request is echoed), not cached, not indexed and send no referrer (the path holds the token).
//! Left out: translated pages and the shop's branding.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::Shared;
use super::body;
use super::errors::Problem;
use crate::api::Api;

const CONFIRM_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Unsubscribe</title>
</head>
<body style="font-family: sans-serif; max-width: 32rem; margin: 4rem auto; padding: 0 1rem">
<h1>Unsubscribe</h1>
<p>Stop receiving marketing email from us? Messages about your orders will still arrive.</p>
<form method="post">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Unsubscribe</button>
</form>
</body>
</html>
"#;

const DONE_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Unsubscribed</title>
</head>
<body style="font-family: sans-serif; max-width: 32rem; margin: 4rem auto; padding: 0 1rem">
<h1>You are unsubscribed</h1>
<p>You will receive no more marketing email from us. Messages about your orders will still arrive.</p>
</body>
</html>
"#;

/// `GET`: the confirmation page; changes nothing. A customer id that breaks the id rule gets a
/// 400 (as the `POST` would), so the page never offers a button that cannot work.
pub(crate) async fn page(
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, Problem> {
    let Path((customer, _token)) = path?;
    body::check_id(&customer, "customer")?;
    Ok(html(Page::Confirm))
}

/// `POST`: records the unsubscription if the token belongs to the customer.
pub(crate) async fn post<A: Api>(
    State(shared): State<Arc<Shared<A>>>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let Path((customer, token)) = path?;
    body::check_id(&customer, "customer")?;
    let media = body::media_type(&headers);
    let is_form = media.as_deref() == Some("application/x-www-form-urlencoded");
    let is_multipart = media.as_deref() == Some("multipart/form-data");
    if !is_form && !is_multipart {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send `List-Unsubscribe=One-Click` as application/x-www-form-urlencoded or multipart/form-data (RFC 8058)",
        ));
    }
    let bytes = body?;
    let one_click = if is_form {
        form_has_one_click(&bytes)
    } else {
        multipart_has_one_click(&bytes)
    };
    if !one_click {
        return Err(Problem::invalid_request(
            "List-Unsubscribe",
            "`One-Click`",
            "missing".to_string(),
        ));
    }
    if shared.api.unsubscribe(customer, token).await? {
        Ok(html(Page::Done))
    } else {
        Err(Problem::new(
            StatusCode::NOT_FOUND,
            "invalid_unsubscribe_link",
            "this unsubscribe link is not valid; use the link of a recent email",
        ))
    }
}

/// Which static page to answer with.
enum Page {
    Confirm,
    Done,
}

fn html(page: Page) -> Response {
    let text = match page {
        Page::Confirm => CONFIRM_PAGE,
        Page::Done => DONE_PAGE,
    };
    let mut response = Html(text).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    response
}

/// Whether a form-encoded body has `List-Unsubscribe=One-Click`.
fn form_has_one_click(bytes: &[u8]) -> bool {
    bytes
        .split(|b| *b == b'&')
        .any(|pair| pair.trim_ascii() == b"List-Unsubscribe=One-Click")
}

/// Whether a multipart body has a `List-Unsubscribe` part whose content is `One-Click`.
fn multipart_has_one_click(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    text.split("name=\"List-Unsubscribe\"")
        .skip(1)
        .any(|after| {
            after
                .split_once("\r\n\r\n")
                .or_else(|| after.split_once("\n\n"))
                .is_some_and(|(_, content)| content.trim_start().starts_with("One-Click"))
        })
}

#[cfg(test)]
mod tests {
    use super::{form_has_one_click, multipart_has_one_click};

    #[test]
    fn one_click_is_found_in_both_encodings() {
        assert!(form_has_one_click(b"List-Unsubscribe=One-Click"));
        assert!(form_has_one_click(b"a=b&List-Unsubscribe=One-Click"));
        assert!(!form_has_one_click(b"List-Unsubscribe=Two-Clicks"));
        let multipart = b"--x\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--x--\r\n";
        assert!(multipart_has_one_click(multipart));
        assert!(!multipart_has_one_click(b"--x\r\n\r\nOne-Click\r\n--x--"));
    }
}
