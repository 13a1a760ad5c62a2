//! Output files written atomically: a path checked before any work, then the whole content or
//! nothing. Shared by snapshots and history exports (a leaf module: no store, no history).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why `path` cannot become a file, checked before doing any work (`None`: it can): an empty
/// path, a directory, a missing parent directory, or a parent that is not a directory.
pub fn output_path_problem(path: &Path) -> Option<&'static str> {
    if path.as_os_str().is_empty() {
        return Some("empty path");
    }
    if path.is_dir() {
        return Some("is a directory");
    }
    if !parent_dir(path).is_dir() {
        return Some("its directory does not exist");
    }
    None
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Write `bytes` to `path` so that `path` holds either its old content or all of `bytes`:
/// a fresh temporary file in the same directory (same file system, so the rename is atomic),
/// fsync, rename, then fsync of the directory so the rename itself survives a power loss.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = parent_dir(path);
    let file_name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("path has no file name"))?
        .to_string_lossy();
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let tmp = dir.join(format!(".{file_name}.{}.{stamp}.tmp", std::process::id()));
    let result = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        File::open(&dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
