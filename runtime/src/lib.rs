//! The journey runtime: the VM that executes compiled journeys (a pure function of programs,
//! customer state, input and time), the simulator that drives it on a virtual clock, the test
//! runner, and the message rendering they share.
//!
//! The durable shell (store, scheduler, delivery, ingest) comes next and wraps the same VM.

pub mod render;
pub mod scenario;
pub mod simulate;
pub mod testing;
pub mod timeline;
pub mod vm;
