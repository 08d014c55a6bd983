//! Python bindings (issue 7).
