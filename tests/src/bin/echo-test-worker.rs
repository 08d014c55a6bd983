//! A worker process for the distributed tests and the worker benchmark: see
//! `echo_tests::worker_cli` for its arguments and output.

fn main() -> std::process::ExitCode {
    echo_tests::worker_cli::main(std::env::args().skip(1).collect())
}
