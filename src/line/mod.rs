//! The per-item engine: a pure state machine, events in, commands out.
