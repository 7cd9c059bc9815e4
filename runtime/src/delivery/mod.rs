//! Email delivery, the imperative shell around the VM's `Effect::Send`: a rendered message
//! becomes an email (`email`), is signed (`dkim`), waits for the rate limit (`rate`) and goes to
//! a folder of `.eml` files or an SMTP relay (`transport`); the answer is an `Outcome` and, for a
//! temporary failure, `retry` says when to try again.
//!
//! What is left to the engine: the outbox records, the idempotency record written before a
//! message is handed over, consent checks right before sending, dead letters and address
//! suppression (it acts on `Outcome::Permanent`), and the unsubscribe endpoint. SMS and webhook
//! messages are not delivered here.

pub mod config;
pub mod dkim;
pub mod email;
pub mod rate;
pub mod retry;
pub mod transport;

pub use config::Config;
pub use email::{BuildError, build};
pub use retry::next_attempt;
pub use transport::{Deliverer, Outcome, Outgoing, SetupError};
