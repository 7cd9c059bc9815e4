//! Finding journey files on disk and loading imports.

use std::path::{Component, Path, PathBuf};

/// Expands files and folders into `*.journey` files, sorted, each once.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    collect_ending(paths, ".journey")
}

/// Expands files and folders into files whose names end with `suffix` (files named directly
/// are kept whatever their name), sorted, each once.
pub fn collect_ending(paths: &[PathBuf], suffix: &str) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    for path in paths {
        let metadata = std::fs::metadata(path)
            .map_err(|error| format!("cannot read `{}`: {}", path.display(), plain(&error)))?;
        if metadata.is_dir() {
            walk(path, suffix, &mut found)?;
        } else {
            found.push(normalize(path));
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

fn walk(dir: &Path, suffix: &str, found: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|error| format!("cannot read folder `{}`: {}", dir.display(), plain(&error)))?;
    for entry in entries {
        let entry = entry.map_err(|error| {
            format!("cannot read folder `{}`: {}", dir.display(), plain(&error))
        })?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        if path.is_dir() {
            walk(&path, suffix, found)?;
        } else if name.ends_with(suffix) {
            found.push(normalize(&path));
        }
    }
    Ok(())
}

/// A path with `.` and `..` resolved lexically, so one file has one name.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// An I/O error in plain words.
pub fn plain(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file or folder".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::InvalidData => "the file is not UTF-8 text".to_string(),
        _ => error.to_string(),
    }
}

/// Loads imports from disk, relative to the importing file.
pub struct DiskLoader;

impl journey_compiler::Loader for DiskLoader {
    fn load(&self, importer: &str, path: &str) -> Result<(String, String), String> {
        let base = Path::new(importer).parent().unwrap_or(Path::new(""));
        let full = normalize(&base.join(path));
        let text = std::fs::read_to_string(&full)
            .map_err(|error| format!("cannot read `{}`: {}", full.display(), plain(&error)))?;
        Ok((full.display().to_string(), text))
    }
}
