//! Embeds valley's git revision (`VALLEY_GIT_REV`) for the provenance manifests: `git rev-parse
//! HEAD` at build time, or `unknown` outside a git checkout (a source tarball, a vendored build).
//! Uncommitted changes are not reflected: the revision names the commit the build started from.

use std::path::Path;
use std::process::Command;

fn main() {
    let rev = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=VALLEY_GIT_REV={rev}");
    // Rebuild when HEAD moves (a commit, a checkout); the paths may not exist outside git.
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        let dir = Path::new(&dir);
        println!("cargo:rerun-if-changed={}", dir.join("HEAD").display());
        if let Some(head) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={}", dir.join(head).display());
        }
        println!("cargo:rerun-if-changed={}", dir.join("packed-refs").display());
    }
    println!("cargo:rerun-if-changed=build.rs");
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!text.is_empty()).then_some(text)
}
