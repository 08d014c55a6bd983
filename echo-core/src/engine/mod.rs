//! The `Echo` facade and the run engine.
