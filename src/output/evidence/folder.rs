//! The evidence folder: where pcap files are created (mode 0600, in folders of mode 0700: the
//! packets hold what the capture holds, keys and credentials included), and its size limit,
//! kept by removing the oldest files first.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The pcap files of the folder, oldest first, and their total size.
pub struct Folder {
    root: PathBuf,
    /// Finished files (relative path, bytes), oldest first.
    files: VecDeque<(String, u64)>,
    total: u64,
    max_total: u64,
    /// Files removed to stay under the limit, and their bytes.
    pub removed: u64,
    pub removed_bytes: u64,
}

impl Folder {
    /// Open (create) the folder and account for the pcap files already in it, oldest first;
    /// remove the oldest if they are over `max_total` already.
    pub fn open(root: &Path, max_total: u64) -> io::Result<Folder> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(root)?;
        let mut f = Folder {
            root: root.to_path_buf(),
            files: VecDeque::new(),
            total: 0,
            max_total,
            removed: 0,
            removed_bytes: 0,
        };
        f.rescan()?;
        Ok(f)
    }

    /// Account again for what is in the folder (SIGHUP: files may have been moved or removed
    /// by hand or by a rotation tool).
    pub fn rescan(&mut self) -> io::Result<()> {
        let mut found = Vec::new();
        walk(&self.root, &self.root, 0, &mut found)?;
        found.sort();
        self.files = found.into_iter().map(|(_, rel, len)| (rel, len)).collect();
        self.total = self.files.iter().map(|(_, n)| n).sum();
        self.enforce();
        Ok(())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Bytes of the finished files.
    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn files(&self) -> usize {
        self.files.len()
    }

    /// Create a new file at `rel` (its folders made as needed); if the name is taken, the
    /// first free `-N` variant. Returns the name used and the file, opened for appending.
    pub fn create(&self, rel: &str) -> io::Result<(String, File)> {
        let path = self.root.join(rel);
        if let Some(dir) = path.parent() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
        let stem = rel.strip_suffix(".pcap").unwrap_or(rel);
        for n in 0..1000u32 {
            let name = if n == 0 {
                rel.to_string()
            } else {
                format!("{stem}-{n}.pcap")
            };
            match OpenOptions::new()
                .append(true)
                .create_new(true)
                .mode(0o600)
                .open(self.root.join(&name))
            {
                Ok(file) => return Ok((name, file)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{rel}: no free name"),
        ))
    }

    /// Open a file this folder created, to append to it.
    pub fn append(&self, rel: &str) -> io::Result<File> {
        OpenOptions::new().append(true).open(self.root.join(rel))
    }

    /// A file is finished at `bytes`: counted, and the oldest files removed while the folder
    /// is over its limit (never the newest).
    pub fn finished(&mut self, rel: String, bytes: u64) {
        self.total += bytes;
        self.files.push_back((rel, bytes));
        self.enforce();
    }

    fn enforce(&mut self) {
        while self.total > self.max_total && self.files.len() > 1 {
            let Some((rel, n)) = self.files.pop_front() else {
                break;
            };
            self.total -= n;
            let path = self.root.join(&rel);
            if fs::remove_file(&path).is_ok() {
                self.removed += 1;
                self.removed_bytes += n;
                // The day's folder, once its last file is gone (fails while it has others).
                if let Some(dir) = path.parent() {
                    if dir != self.root {
                        let _ = fs::remove_dir(dir);
                    }
                }
            }
        }
    }
}

/// The pcap files under `dir` (two levels: kind and day), as (modified, relative path, size).
fn walk(
    root: &Path,
    dir: &Path,
    depth: usize,
    out: &mut Vec<(std::time::SystemTime, String, u64)>,
) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        let path = entry.path();
        if meta.is_dir() && depth < 2 {
            walk(root, &path, depth + 1, out)?;
        } else if meta.is_file() && path.extension().is_some_and(|e| e == "pcap") {
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            let when = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
            out.push((when, rel, meta.len()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn creates_private_files_and_removes_the_oldest_over_the_limit() {
        let dir = std::env::temp_dir().join(format!("vs-evidence-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut f = Folder::open(&dir, 250).unwrap();
        // A taken name gets the first free variant.
        let (a, _) = f.create("alerts/day/a.pcap").unwrap();
        let (b, _) = f.create("alerts/day/a.pcap").unwrap();
        assert_eq!(
            (a.as_str(), b.as_str()),
            ("alerts/day/a.pcap", "alerts/day/a-1.pcap")
        );
        for n in [a, b] {
            fs::remove_file(dir.join(n)).unwrap();
        }
        for i in 0..4 {
            let (name, mut file) = f.create(&format!("alerts/day/x{i}.pcap")).unwrap();
            file.write_all(&[0; 100]).unwrap();
            let mode = file.metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            f.finished(name, 100);
        }
        // 400 bytes written, 250 allowed: the two oldest went.
        assert_eq!((f.files(), f.total(), f.removed), (2, 200, 2));
        assert!(!dir.join("alerts/day/x1.pcap").exists());
        assert!(dir.join("alerts/day/x3.pcap").exists());
        let mode = fs::metadata(dir.join("alerts/day"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o700);
        // A new run finds them.
        let mut again = Folder::open(&dir, 250).unwrap();
        assert_eq!((again.files(), again.total()), (2, 200));
        // A rotation script removed one (SIGHUP): accounted for again, nothing else removed.
        fs::remove_file(dir.join("alerts/day/x2.pcap")).unwrap();
        again.rescan().unwrap();
        assert_eq!((again.files(), again.total(), again.removed), (1, 100, 0));
        fs::remove_dir_all(&dir).unwrap();
    }
}
