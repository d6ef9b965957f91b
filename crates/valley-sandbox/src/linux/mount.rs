//! The new root's mounts: which host paths are bound read-only (system folders, device nodes,
//! the caller's binds), and the plan of folders, binds and symlinks the child makes under the
//! new root before `pivot_root`.

use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::{SandboxError, SpawnError};

/// `p` as a C string, or the error naming it when it holds a NUL byte.
pub(super) fn cstr(p: &OsStr) -> Result<CString, SpawnError> {
    CString::new(p.as_bytes()).map_err(|_| SpawnError::Nul(p.to_string_lossy().into()))
}

/// Folders every program needs to run (shared libraries, the interpreter's system files).
const SYSTEM_PATHS: [&str; 7] = ["/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc"];
/// Device nodes bound read-write into `/dev`.
const DEVICES: [&str; 4] = ["/dev/null", "/dev/zero", "/dev/random", "/dev/urandom"];

/// One entry of the new root, relative to `/`.
#[derive(Debug, Clone)]
pub(super) enum Mount {
    /// Bind a folder or file read-only (`flags` keeps the source's locked mount flags).
    Bind { path: PathBuf, dir: bool, writable: bool, flags: libc::c_ulong },
    /// A symbolic link (merged-`/usr` systems have `/bin -> usr/bin`).
    Symlink { path: PathBuf, target: PathBuf },
}

/// The mounts of every sandboxed child: the system folders, the device nodes, then `binds`
/// (canonicalised; those inside a system folder are already visible).
pub(super) fn plan_mounts(binds: &[PathBuf]) -> Result<Vec<Mount>, SandboxError> {
    let mut mounts = Vec::new();
    for p in SYSTEM_PATHS {
        let path = Path::new(p);
        if path.symlink_metadata().is_ok() {
            mounts.push(plan_mount(path, false)?);
        }
    }
    for p in DEVICES {
        if Path::new(p).exists() {
            mounts.push(plan_mount(Path::new(p), true)?);
        }
    }
    for p in binds {
        let canonical =
            p.canonicalize().map_err(|source| SandboxError::Bind { path: p.clone(), source })?;
        if SYSTEM_PATHS.iter().any(|s| canonical.starts_with(s)) {
            continue;
        }
        mounts.push(plan_mount(&canonical, false)?);
    }
    Ok(mounts)
}

fn plan_mount(path: &Path, writable: bool) -> Result<Mount, SandboxError> {
    let meta = path
        .symlink_metadata()
        .map_err(|source| SandboxError::Bind { path: path.to_owned(), source })?;
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(path)
            .map_err(|source| SandboxError::Bind { path: path.to_owned(), source })?;
        return Ok(Mount::Symlink { path: path.to_owned(), target });
    }
    let flags = locked_flags(path);
    Ok(Mount::Bind { path: path.to_owned(), dir: meta.is_dir(), writable, flags })
}

/// Mount flags of the source that a bind remount must keep (inside a user namespace the kernel
/// refuses to clear them).
fn locked_flags(path: &Path) -> libc::c_ulong {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return 0;
    };
    // SAFETY: statvfs is plain old data; zeroed is valid and the kernel fills it.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid C string and out-pointer.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return 0;
    }
    let mut flags = 0;
    for (st_flag, ms_flag) in [
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_RELATIME, libc::MS_RELATIME),
    ] {
        if st.f_flag & st_flag != 0 {
            flags |= ms_flag;
        }
    }
    flags
}

/// One bind mount as the child performs it.
#[derive(Debug)]
pub(super) struct BindPlan {
    pub(super) src: CString,
    pub(super) dst: CString,
    pub(super) dir: bool,
    pub(super) readonly: bool,
    pub(super) flags: libc::c_ulong,
}

/// What the child creates under the new root: folders (parents first), binds, symlinks.
pub(super) struct MountPlan {
    pub(super) dirs: Vec<CString>,
    pub(super) binds: Vec<BindPlan>,
    pub(super) symlinks: Vec<(CString, CString)>,
}

/// `p` (absolute) under the new root `root`, as a C string.
pub(super) fn under(root: &OsStr, p: &Path) -> Result<CString, SpawnError> {
    let mut v = root.as_bytes().to_vec();
    v.extend_from_slice(p.as_os_str().as_bytes());
    cstr(OsStr::from_bytes(&v))
}

impl MountPlan {
    /// The plan for `mounts` under the new root `root`, with `/proc`, `/tmp` and `/dev`.
    pub(super) fn new(root: &OsStr, mounts: &[Mount]) -> Result<Self, SpawnError> {
        let mut dirs = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        let mut add_dirs = |p: &Path, dirs: &mut Vec<CString>| -> Result<(), SpawnError> {
            for anc in p.ancestors().collect::<Vec<_>>().into_iter().rev().skip(1) {
                if seen.insert(anc.to_owned()) {
                    dirs.push(under(root, anc)?);
                }
            }
            Ok(())
        };
        let mut binds = Vec::new();
        let mut symlinks = Vec::new();
        for extra in ["/proc", "/tmp", "/dev"] {
            add_dirs(Path::new(extra), &mut dirs)?;
        }
        for m in mounts {
            match m {
                Mount::Bind { path, dir, writable, flags } => {
                    let parent = path.parent().unwrap_or(Path::new("/"));
                    add_dirs(parent, &mut dirs)?;
                    if *dir {
                        add_dirs(path, &mut dirs)?;
                    }
                    binds.push(BindPlan {
                        src: cstr(path.as_os_str())?,
                        dst: under(root, path)?,
                        dir: *dir,
                        readonly: !*writable,
                        flags: *flags,
                    });
                }
                Mount::Symlink { path, target } => {
                    symlinks.push((cstr(target.as_os_str())?, under(root, path)?));
                }
            }
        }
        for (link, target) in [
            ("/dev/fd", "/proc/self/fd"),
            ("/dev/stdin", "/proc/self/fd/0"),
            ("/dev/stdout", "/proc/self/fd/1"),
            ("/dev/stderr", "/proc/self/fd/2"),
        ] {
            symlinks.push((cstr(OsStr::new(target))?, under(root, Path::new(link))?));
        }
        Ok(Self { dirs, binds, symlinks })
    }

    /// No mounts (the child shares the judge's root).
    pub(super) fn none() -> Self {
        Self { dirs: Vec::new(), binds: Vec::new(), symlinks: Vec::new() }
    }
}
