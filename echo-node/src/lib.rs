//! Node bindings (issue 8).
