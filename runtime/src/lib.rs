//! The journey runtime: the VM that executes compiled journeys (a pure function of programs,
//! customer state, input and time), the simulator that drives it on a virtual clock, the test
//! runner, the message rendering they share, and the durable shell around the VM (`journey run`:
//! store, engine, ingest, delivery).

pub mod api;
pub mod config;
pub mod delivery;
pub mod engine;
pub mod ingest;
pub mod render;
pub mod scenario;
pub mod simulate;
pub mod store;
pub mod testing;
pub mod timeline;
pub mod vm;
