//! The store's file doors: output files written atomically (a path checked before any work, then
//! the whole content or nothing) and input files read only when they are regular files. Shared by
//! snapshots and history exports (a leaf module: no store, no history).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why `path` cannot become a file, checked before doing any work (`None`: it can): an empty
/// path, a directory, a symbolic link or anything else that exists and is not a regular file,
/// a missing parent directory, or a parent that is not a directory.
pub fn output_path_problem(path: &Path) -> Option<&'static str> {
    if path.as_os_str().is_empty() {
        return Some("empty path");
    }
    if path.is_dir() {
        return Some("is a directory");
    }
    // The rename would replace a device, FIFO or socket by a regular file, and a symlink
    // rather than its target: refuse anything that exists and is not a regular file.
    if let Ok(meta) = fs::symlink_metadata(path) {
        if meta.file_type().is_symlink() {
            return Some("is a symbolic link");
        }
        if !meta.file_type().is_file() {
            return Some("exists and is not a regular file");
        }
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

/// The bytes of a regular file. Anything else (FIFO, device, directory, socket) is refused
/// without reading, and without blocking: the file is opened with `O_NONBLOCK` (an open FIFO
/// would otherwise wait for a writer) and checked with `fstat` on that same descriptor.
pub fn read_regular_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let mut file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(std::io::Error::other(
            "not a regular file (a FIFO, device, directory or socket)",
        ));
    }
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(meta.len() as usize)
        .map_err(|_| std::io::Error::other("file too large to read into memory"))?;
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
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
