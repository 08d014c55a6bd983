//! Data-subject rights, mirroring `echo_core::engine::gdpr_api`: exporting an account (to
//! a file path or a Python binary file object), requesting and cancelling its deletion,
//! and erasing the accounts whose grace period is over.

use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};

use echo_core::Error;
use echo_core::engine::Echo as CoreEcho;
use echo_core::gdpr::ErasureSweep;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use tokio::io::AsyncWrite;

use crate::auth::Principal;
use crate::convert::{Typed, core};
use crate::errors::to_py_err;

/// A Python binary file object (anything with `write(bytes)`, e.g. `open(p, "wb")`,
/// `io.BytesIO`, a socket's `makefile("wb")`, a gzip stream) as the writer the core's
/// export streams into, so a bundle of any size goes where the host wants without a copy
/// in memory.
///
/// The core hands it about 64 KiB at a time, so the GIL is taken once per chunk. The first
/// exception the object raises is kept and re-raised as is (an `OSError` for a full disk
/// stays an `OSError`), rather than as the storage error the core turns a failed write into.
struct PyWriter {
    file: Py<PyAny>,
    error: Option<PyErr>,
}

impl PyWriter {
    /// Runs `f` on the file with the GIL, on a thread tokio may block (the call can wait
    /// for the GIL and for the file's own I/O).
    fn call(&mut self, f: impl FnOnce(&Bound<'_, PyAny>) -> PyResult<usize>) -> io::Result<usize> {
        if self.error.is_some() {
            return Err(io::Error::other("the file object already failed"));
        }
        let file = &self.file;
        let result = tokio::task::block_in_place(|| {
            Python::attach(|py| f(file.bind(py)).map_err(|e| (e.value(py).to_string(), e)))
        });
        result.map_err(|(message, e)| {
            self.error = Some(e);
            io::Error::other(message)
        })
    }
}

impl AsyncWrite for PyWriter {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(self.get_mut().call(|file| {
            let written = file.call_method1("write", (PyBytes::new(file.py(), buf),))?;
            // Raw files may write less (and report how much); buffered ones return the
            // length. Hand-written writers often return None after taking everything, so
            // None counts as all of it (a non-blocking raw file is no export destination).
            Ok(if written.is_none() {
                buf.len()
            } else {
                written.extract()?
            })
        }))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(
            self.get_mut()
                .call(|file| {
                    if file.hasattr("flush")? {
                        file.call_method0("flush")?;
                    }
                    Ok(0)
                })
                .map(|_| ()),
        )
    }

    /// The export flushes and never shuts its writer down: closing the file is the caller's.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

/// Where an export goes.
enum Destination {
    Path(PathBuf),
    File(Py<PyAny>),
}

fn destination(value: &Bound<'_, PyAny>) -> PyResult<Destination> {
    let py = value.py();
    let invalid = |msg: &str| to_py_err(py, &Error::invalid("destination", msg));
    if value.hasattr("write")? {
        // Text files would fail on the first chunk with a TypeError; say what to do instead.
        let text_io = py.import("io")?.getattr("TextIOBase")?;
        if value.is_instance(&text_io)? {
            return Err(invalid(
                "is a text file; the bundle is UTF-8 bytes: open the file in binary mode (\"wb\") or pass a path",
            ));
        }
        return Ok(Destination::File(value.clone().unbind()));
    }
    if value.is_instance_of::<pyo3::types::PyString>() || value.hasattr("__fspath__")? {
        return Ok(Destination::Path(value.extract()?));
    }
    Err(invalid(
        "must be a path (str or os.PathLike) or a binary file object with write(), such as open(path, \"wb\") or io.BytesIO()",
    ))
}

/// The work of `Echo.export_account` / `AsyncEcho.export_account` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn export_account(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    destination: &Bound<'_, PyAny>,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    let destination = self::destination(destination)?;
    Ok::<_, PyErr>(async move {
        let summary = match destination {
            Destination::Path(path) => core(echo.export_account_to_file(&p, path).await)?,
            Destination::File(file) => {
                let mut writer = PyWriter { file, error: None };
                let result = echo.export_account(&p, &mut writer).await;
                if let (Err(_), Some(raised)) = (&result, writer.error.take()) {
                    return Err(raised);
                }
                core(result)?
            }
        };
        Typed::one(&summary, "ExportSummary")
    })
}

/// The work of `Echo.request_deletion` / `AsyncEcho.request_deletion` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn request_deletion(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    Ok::<_, PyErr>(async move { Typed::one(&core(echo.request_deletion(&p).await)?, "DeletionRequest") })
}

/// The work of `Echo.cancel_deletion` / `AsyncEcho.cancel_deletion` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn cancel_deletion(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    Ok::<_, PyErr>(async move { Typed::one(&core(echo.cancel_deletion(&p).await)?, "DeletionRecord") })
}

/// The work of `Echo.deletion_requests` / `AsyncEcho.deletion_requests` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn deletion_requests(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    Ok::<_, PyErr>(async move { Typed::list(&core(echo.deletion_requests(&p).await)?, "DeletionRecord") })
}

/// The work of `Echo.erase_due_accounts` / `AsyncEcho.erase_due_accounts` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn erase_due_accounts(
    echo: CoreEcho,
    py: Python<'_>,
    max_batches: Option<u32>,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    // Without a bound, as much as the worker leader's sweep does per pass.
    let max_batches = max_batches.unwrap_or_else(|| ErasureSweep::default().max_batches);
    Ok::<_, PyErr>(async move { Typed::one(&core(echo.erase_due_accounts(max_batches).await)?, "ErasurePass") })
}
