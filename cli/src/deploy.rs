//! `journey deploy`: asks a running `journey run` to compile its journey folder again and deploy
//! it (`POST /v1/deploy`, the same as sending it `SIGHUP`), and prints what changed. A folder
//! that does not compile is refused with the compiler's report and the running versions stay.
//! Run `journey plan` first to see what the deploy will do to the customers.

use std::process::ExitCode;

use crate::check::usage_error;
use crate::compile::write_stdout;

/// Arguments of `journey deploy`.
#[derive(clap::Args)]
pub struct Args {
    /// Where `journey run` listens.
    #[arg(long, default_value = "http://127.0.0.1:8787")]
    url: String,
    /// The bearer token (default: the `JOURNEY_TOKEN` environment variable).
    #[arg(long)]
    token: Option<String>,
}

/// Runs `journey deploy`.
pub fn run(args: &Args) -> ExitCode {
    let token = args
        .token
        .clone()
        .or_else(|| std::env::var("JOURNEY_TOKEN").ok());
    let (status, body) = match crate::event::post(&args.url, "/v1/deploy", "", token.as_deref()) {
        Ok(answer) => answer,
        Err(message) => return usage_error(&message),
    };
    let document: Option<serde_json::Value> = serde_json::from_str(&body).ok();
    match status {
        200 => {
            let Some(document) = document else {
                return usage_error(&format!(
                    "the answer of {} to POST /v1/deploy is not JSON",
                    args.url
                ));
            };
            if let Some(warnings) = document.get("warnings").and_then(|w| w.as_str()) {
                eprint!("{warnings}");
            }
            let lines: Vec<&str> = document
                .get("deployed")
                .and_then(|d| d.as_array())
                .map(|d| d.iter().filter_map(|l| l.as_str()).collect())
                .unwrap_or_default();
            let mut text = format!("deployed at {}:\n", args.url);
            for line in lines {
                text.push_str(&format!("  {line}\n"));
            }
            match write_stdout(&text) {
                Ok(()) => ExitCode::SUCCESS,
                Err(code) => code,
            }
        }
        422 => {
            let message = document
                .as_ref()
                .and_then(|d| d.pointer("/error/message"))
                .and_then(|m| m.as_str())
                .unwrap_or(&body);
            eprintln!("{message}");
            eprintln!("error: not deployed");
            ExitCode::from(1)
        }
        401 | 403 => usage_error(&format!(
            "{} refused the request ({status}): pass the API token with `--token` or `JOURNEY_TOKEN`",
            args.url
        )),
        _ => usage_error(&format!(
            "{} answered {status} to POST /v1/deploy: {body}",
            args.url
        )),
    }
}
