//! The durable runtime: coming with the bytecode and runtime issues.
