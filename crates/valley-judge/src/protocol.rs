//! The Rust-Python contract: frames exchanged with the zygote (`python/zygote.py`).
//!
//! Each frame is a 4-byte big-endian length and that many bytes of UTF-8 JSON. The zygote first
//! sends a [`Hello`]; then, for each [`Request`], one [`Response`].

use std::collections::BTreeMap;
use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

/// The zygote's first frame: what interpreter is serving.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Hello {
    /// Whether the zygote made itself non-dumpable (no ptrace by graded programs).
    #[serde(default)]
    pub(crate) undumpable: bool,
    /// numpy's version, when importable.
    #[serde(default)]
    pub(crate) numpy: Option<String>,
    /// Whether the lcb prelude template passed its check (children then inherit the prelude
    /// instead of running it).
    #[serde(default)]
    pub(crate) lcb_template: bool,
    /// Each module Rust asked about (`VALLEY_JUDGE_REQUIRE`): its version (or `found`) when the
    /// zygote finds it inside the sandbox, else null.
    #[serde(default)]
    pub(crate) modules: BTreeMap<String, Option<String>>,
}

/// Which Python runner grades the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Runner {
    /// `lcb.py`.
    Lcb,
    /// `taco.py`.
    Taco,
    /// `strict.py`.
    Strict,
    /// `assert_style.py`.
    AssertStyle,
}

/// One record to grade.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Request<'a> {
    pub(crate) id: u64,
    pub(crate) profile: Runner,
    pub(crate) code: &'a str,
    pub(crate) fn_name: Option<&'a str>,
    /// The problem's key: the zygote keeps the tests of the last problem sent, so a request
    /// carries them only when they differ from the previous request's ([`Request::tests`]).
    pub(crate) problem: u64,
    /// The tests, or `None` when the zygote already holds this problem's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) inputs: Option<Vec<&'a serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) outputs: Option<Vec<&'a serde_json::Value>>,
    /// Per-test limit in seconds (LCB: whole seconds, SIGALRM).
    pub(crate) timeout: f64,
    /// Limit for the whole record in seconds; the grading child is killed past it.
    pub(crate) deadline: f64,
    /// `sys.set_int_max_str_digits` in the grading child.
    pub(crate) int_max_str_digits: u32,
    /// Address-space limit in bytes for the grading child (or each test's process).
    pub(crate) memory: Option<u64>,
    /// Float tolerance for the strict comparison.
    pub(crate) float_tol: Option<f64>,
    /// TACO's strict variant.
    pub(crate) strict: bool,
    /// Assert-style problems.
    pub(crate) test: Option<&'a str>,
    pub(crate) entry_point: Option<&'a str>,
    pub(crate) prompt: Option<&'a str>,
}

/// How the grading child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Status {
    /// It reported a result.
    Done,
    /// It died without a result (crash, `os._exit`, SystemExit escaping call-based code).
    Died,
    /// It ran past the record deadline and was killed.
    Deadline,
    /// The zygote itself failed on this job (a judge fault).
    Error,
}

/// The grading child's own report.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ChildResult {
    /// One outcome per test run (`AC WA TLE RE MLE OLE CE`).
    pub(crate) results: Vec<String>,
    /// The failure happened before any test (compile or setup).
    #[serde(default)]
    pub(crate) setup: bool,
    pub(crate) failure: Option<Failure>,
    /// The harness itself failed on this record (TACO's import header did not import, say): a
    /// judge error, not the program's.
    #[serde(default)]
    pub(crate) judge_error: Option<String>,
}

/// The first failure as the child describes it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Failure {
    pub(crate) reason: String,
    pub(crate) test: Option<usize>,
}

/// The zygote's answer to one request.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Response {
    pub(crate) id: Option<u64>,
    pub(crate) status: Status,
    #[serde(default)]
    pub(crate) result: Option<ChildResult>,
    #[serde(default)]
    pub(crate) exit_code: Option<i32>,
    #[serde(default)]
    pub(crate) signal: Option<i32>,
    #[serde(default)]
    pub(crate) cpu_ms: f64,
    #[serde(default)]
    pub(crate) wall_ms: f64,
    #[serde(default)]
    pub(crate) error: Option<String>,
}

/// Writes one frame.
pub(crate) fn write_frame<T: Serialize>(w: &mut impl Write, value: &T) -> std::io::Result<()> {
    let body = serde_json::to_vec(value)?;
    let len = u32::try_from(body.len())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "frame over 4 GiB"))?;
    let mut buf = Vec::with_capacity(body.len() + 4);
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(&body);
    w.write_all(&buf)?;
    w.flush()
}

/// Reads one frame; `Ok(None)` at a clean end of stream.
pub(crate) fn read_frame<T: for<'de> Deserialize<'de>>(
    r: &mut impl Read,
) -> std::io::Result<Option<T>> {
    let mut head = [0u8; 4];
    match r.read_exact(&mut head) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut body = vec![0u8; u32::from_be_bytes(head) as usize];
    r.read_exact(&mut body)?;
    Ok(Some(serde_json::from_slice(&body)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_end_cleanly() {
        let mut buf = Vec::new();
        write_frame(&mut buf, &serde_json::json!({"status": "died", "id": 7, "signal": 11}))
            .unwrap();
        assert_eq!(&buf[..4], &(buf.len() as u32 - 4).to_be_bytes());
        let mut r = &buf[..];
        let resp: Response = read_frame(&mut r).unwrap().unwrap();
        assert_eq!(resp.status, Status::Died);
        assert_eq!((resp.id, resp.signal), (Some(7), Some(11)));
        assert!(read_frame::<Response>(&mut r).unwrap().is_none());
    }
}
