//! A fake Hugging Face Hub: the routes `hf-hub` (and `huggingface_hub`) use to download a
//! repository's files, over HTTP/1.1 on 127.0.0.1, for test repositories held in memory.
//!
//! - `GET /api/{datasets|models|spaces}/{owner}/{name}/revision/{rev}`: `{"id", "sha",
//!   "siblings"}`;
//! - `GET /api/{kind}s/{owner}/{name}/tree/{rev}[/{path}]?recursive=true`: the file and folder
//!   entries (`type`, `oid`, `size`, `path`);
//! - `HEAD|GET /[datasets/|spaces/]{owner}/{name}/resolve/{rev}/{path}`: the file, with
//!   `X-Repo-Commit`, `ETag` and `Content-Length`.
//!
//! A revision is the commit itself, a branch or a tag the repository lists. A repository with a
//! token answers 401 to requests without `Authorization: Bearer <token>`. Every request is
//! counted, so a test can tell that an offline run asked nothing.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::json;

/// One repository the fake Hub serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeRepo {
    /// `datasets`, `models` or `spaces`.
    pub kind: &'static str,
    /// `owner/name`.
    pub repo: String,
    /// The commit SHA (40 hex digits) every revision resolves to.
    pub commit: String,
    /// Branch and tag names that resolve to the commit (`main` is always one).
    pub refs: Vec<String>,
    /// Files by repository path.
    pub files: BTreeMap<String, Vec<u8>>,
    /// A token the repository wants (a private or gated repository), if any.
    pub token: Option<String>,
}

impl FakeRepo {
    /// A public dataset repository at `commit` with `files`.
    pub fn dataset(repo: &str, commit: &str, files: &[(&str, &[u8])]) -> Self {
        Self {
            kind: "datasets",
            repo: repo.to_owned(),
            commit: commit.to_owned(),
            refs: vec!["main".into()],
            files: files.iter().map(|(p, b)| ((*p).to_owned(), b.to_vec())).collect(),
            token: None,
        }
    }

    fn resolves(&self, rev: &str) -> bool {
        rev == self.commit || rev == "main" || self.refs.iter().any(|r| r == rev)
    }
}

/// A running fake Hub; dropping it stops it.
#[derive(Debug)]
pub struct FakeHub {
    addr: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    requests: Arc<AtomicU64>,
    accept: Option<JoinHandle<()>>,
}

impl FakeHub {
    /// Starts the server on a free port of 127.0.0.1.
    pub fn start(repos: Vec<FakeRepo>) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicU64::new(0));
        let repos = Arc::new(repos);
        let accept = {
            let (stop, requests) = (stop.clone(), requests.clone());
            std::thread::spawn(move || {
                let started = std::time::Instant::now();
                while !stop.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(300)
                {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let (repos, requests) = (repos.clone(), requests.clone());
                            std::thread::spawn(move || serve(stream, &repos, &requests));
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Err(_) => break,
                    }
                }
            })
        };
        Ok(Self { addr, stop, requests, accept: Some(accept) })
    }

    /// The endpoint to give as `HF_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests answered so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

impl Drop for FakeHub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

struct Request {
    method: String,
    path: String,
    query: String,
    auth: Option<String>,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut auth = None;
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            match k.trim().to_ascii_lowercase().as_str() {
                "authorization" => auth = Some(v.trim().to_owned()),
                "content-length" => length = v.trim().parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    Some(Request { method, path: decode(path), query: query.to_owned(), auth })
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn serve(stream: TcpStream, repos: &[FakeRepo], requests: &AtomicU64) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(write_half) = stream.try_clone() else { return };
    let mut reader = BufReader::new(stream);
    let mut out = write_half;
    while let Some(req) = read_request(&mut reader) {
        requests.fetch_add(1, Ordering::Relaxed);
        let (status, headers, body) = answer(&req, repos);
        let reason = match status {
            200 => "OK",
            401 => "Unauthorized",
            404 => "Not Found",
            _ => "Error",
        };
        let mut head = format!("HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\n", body.len());
        for (k, v) in &headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let body = if req.method == "HEAD" { &[][..] } else { &body[..] };
        if out.write_all(head.as_bytes()).and_then(|()| out.write_all(body)).is_err() {
            break;
        }
    }
    let _ = out.shutdown(Shutdown::Both);
}

type Answer = (u16, Vec<(String, String)>, Vec<u8>);

fn not_found(code: &str) -> Answer {
    (404, vec![("X-Error-Code".into(), code.into())], br#"{"error":"not found"}"#.to_vec())
}

fn answer(req: &Request, repos: &[FakeRepo]) -> Answer {
    let p = req.path.trim_start_matches('/');
    // /api/{kind}/{owner}/{name}/{revision|tree}/{rev}[/path]
    if let Some(rest) = p.strip_prefix("api/") {
        let seg: Vec<&str> = rest.splitn(6, '/').collect();
        if seg.len() < 5 {
            return not_found("RepoNotFound");
        }
        let (kind, repo, op, rev) = (seg[0], format!("{}/{}", seg[1], seg[2]), seg[3], seg[4]);
        let Some(r) = repos.iter().find(|r| r.kind == kind && r.repo == repo) else {
            return not_found("RepoNotFound");
        };
        if let Some(a) = unauthorized(r, req) {
            return a;
        }
        if !r.resolves(rev) {
            return not_found("RevisionNotFound");
        }
        return match op {
            "revision" => {
                let siblings: Vec<_> = r.files.keys().map(|f| json!({"rfilename": f})).collect();
                ok_json(&json!({"id": r.repo, "sha": r.commit, "siblings": siblings}))
            }
            "tree" => {
                let under = seg.get(5).copied().unwrap_or("").trim_matches('/');
                let recursive = req.query.contains("recursive=true");
                ok_json(&serde_json::Value::Array(tree(r, under, recursive)))
            }
            _ => not_found("RepoNotFound"),
        };
    }
    // /[datasets/|spaces/]{owner}/{name}/resolve/{rev}/{path}
    let (kind, rest) = match p.split_once('/') {
        Some(("datasets", r)) => ("datasets", r),
        Some(("spaces", r)) => ("spaces", r),
        _ => ("models", p),
    };
    let seg: Vec<&str> = rest.splitn(5, '/').collect();
    if seg.len() < 5 || seg[2] != "resolve" {
        return not_found("RepoNotFound");
    }
    let repo = format!("{}/{}", seg[0], seg[1]);
    let Some(r) = repos.iter().find(|r| r.kind == kind && r.repo == repo) else {
        return not_found("RepoNotFound");
    };
    if let Some(a) = unauthorized(r, req) {
        return a;
    }
    if !r.resolves(seg[3]) {
        return not_found("RevisionNotFound");
    }
    let Some(bytes) = r.files.get(seg[4]) else {
        let mut a = not_found("EntryNotFound");
        a.1.push(("X-Repo-Commit".into(), r.commit.clone()));
        return a;
    };
    let etag = content_hash(bytes);
    let headers = vec![
        ("X-Repo-Commit".into(), r.commit.clone()),
        ("ETag".into(), format!("\"{etag}\"")),
        ("Content-Type".into(), "application/octet-stream".into()),
    ];
    (200, headers, bytes.clone())
}

fn unauthorized(r: &FakeRepo, req: &Request) -> Option<Answer> {
    let want = r.token.as_ref()?;
    if req.auth.as_deref() == Some(&format!("Bearer {want}")) {
        return None;
    }
    Some((401, vec![("X-Error-Code".into(), "GatedRepo".into())], br#"{"error":"auth"}"#.to_vec()))
}

fn ok_json(v: &serde_json::Value) -> Answer {
    (200, vec![("Content-Type".into(), "application/json".into())], v.to_string().into_bytes())
}

fn tree(r: &FakeRepo, under: &str, recursive: bool) -> Vec<serde_json::Value> {
    let mut dirs = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for (path, bytes) in &r.files {
        let rel = if under.is_empty() {
            path.as_str()
        } else if let Some(rest) = path.strip_prefix(under).and_then(|s| s.strip_prefix('/')) {
            rest
        } else {
            continue;
        };
        let parts: Vec<&str> = rel.split('/').collect();
        for i in 1..parts.len() {
            let d = parts[..i].join("/");
            let full = if under.is_empty() { d } else { format!("{under}/{d}") };
            if (recursive || i == 1) && dirs.insert(full.clone()) {
                out.push(json!({"type": "directory", "oid": content_hash(full.as_bytes()), "path": full}));
            }
        }
        if recursive || parts.len() == 1 {
            out.push(json!({"type": "file", "oid": content_hash(bytes), "size": bytes.len(), "path": path}));
        }
    }
    out
}

/// A content hash for ETags and oids (FNV-1a, two seeds): unique enough for test files.
fn content_hash(bytes: &[u8]) -> String {
    let fnv = |seed: u64| {
        bytes.iter().fold(seed, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3))
    };
    format!(
        "{:016x}{:016x}{:08x}",
        fnv(0xcbf2_9ce4_8422_2325),
        fnv(0x8422_2325_cbf2_9ce4),
        bytes.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_paths_and_hashes_content() {
        assert_eq!(decode("a%2Fb%20c%"), "a/b c%");
        assert_ne!(content_hash(b"ab"), content_hash(b"ba"));
    }
}
