//! The one way ponte opens a file to read it: a file of the share (inbound,
//! in-progress, outbound) or one named on the command line.
//!
//! The scan skips symbolic links, but a name is opened later than it was
//! scanned, and whoever writes to the share can swap a link, a FIFO or a
//! device in under the same name meanwhile (`mv -T`). Followed, a link
//! reads a file elsewhere on the host into a reject report on the share; a
//! FIFO blocks the open for good; /dev/zero never ends. So the name is
//! looked at without following it, opened without following it and without
//! blocking, and the open descriptor, which nobody can swap, is checked
//! again: a regular file on the same file system as the folder naming it.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// Why a file was not opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{}: cannot open: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: {what}, not a regular file: not read (ponte follows no link and reads regular files only)", path.display())]
    NotRegular { path: PathBuf, what: &'static str },
    #[error("{}: on another file system than its folder {}: not read", path.display(), folder.display())]
    OtherFileSystem { path: PathBuf, folder: PathBuf },
}

impl OpenError {
    /// The file was not there (gone since it was listed).
    pub fn is_not_found(&self) -> bool {
        matches!(self, OpenError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }
}

impl From<OpenError> for io::Error {
    fn from(e: OpenError) -> io::Error {
        let kind = match &e {
            OpenError::Io { source, .. } => source.kind(),
            _ => io::ErrorKind::InvalidInput,
        };
        io::Error::new(kind, e)
    }
}

/// Opens `path` for reading: never through a symbolic link, and only a
/// regular file on the file system of the folder that holds it.
pub fn open_file(path: &Path) -> Result<File, OpenError> {
    let io_error = |source| OpenError::Io {
        path: path.to_path_buf(),
        source,
    };
    // Looked at first, so that a FIFO or a device is not even opened (a
    // device's open can have effects of its own)...
    let named = std::fs::symlink_metadata(path).map_err(io_error)?;
    refuse_unless_regular(path, &named)?;
    // ...and opened in a way that holds whatever was swapped in since: a
    // link is refused (ELOOP) and a FIFO does not block the open.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => OpenError::NotRegular {
                path: path.to_path_buf(),
                what: "a symbolic link",
            },
            _ => io_error(e),
        })?;
    let opened = file.metadata().map_err(io_error)?;
    refuse_unless_regular(path, &opened)?;
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let folder_meta = std::fs::metadata(folder).map_err(io_error)?;
    if folder_meta.dev() != opened.dev() {
        return Err(OpenError::OtherFileSystem {
            path: path.to_path_buf(),
            folder: folder.to_path_buf(),
        });
    }
    clear_nonblocking(&file).map_err(io_error)?;
    Ok(file)
}

fn refuse_unless_regular(path: &Path, meta: &std::fs::Metadata) -> Result<(), OpenError> {
    let t = meta.file_type();
    if t.is_file() {
        return Ok(());
    }
    let what = if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a folder"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else {
        "not a file"
    };
    Err(OpenError::NotRegular {
        path: path.to_path_buf(),
        what,
    })
}

/// O_NONBLOCK was for the open only; reads of the file block as usual.
fn clear_nonblocking(file: &File) -> io::Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor this function's caller owns, with
    // integer arguments only.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn refusal(path: &Path) -> String {
        match open_file(path) {
            Ok(_) => panic!("{} was opened", path.display()),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_regular_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ART1.txt");
        std::fs::write(&path, b"TE").unwrap();
        let mut text = String::new();
        open_file(&path).unwrap().read_to_string(&mut text).unwrap();
        assert_eq!(text, "TE");
    }

    #[test]
    fn links_folders_fifos_and_devices_are_refused_unopened() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, b"secret").unwrap();
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(refusal(&link).contains("a symbolic link"));
        let to_zero = dir.path().join("zero.txt");
        std::os::unix::fs::symlink("/dev/zero", &to_zero).unwrap();
        assert!(refusal(&to_zero).contains("a symbolic link"));
        assert!(refusal(dir.path()).contains("a folder"));
        assert!(refusal(Path::new("/dev/null")).contains("a device"));
        let fifo = dir.path().join("fifo.txt");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        // Opening a FIFO without a writer would block this test for good.
        assert!(refusal(&fifo).contains("a FIFO"));
    }

    #[test]
    fn a_missing_file_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let e = open_file(&dir.path().join("gone.txt")).unwrap_err();
        assert!(e.is_not_found(), "{e}");
    }
}
