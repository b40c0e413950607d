//! Listing tag refs under a prefix without walking every ref.
//!
//! libgit2's `references_glob` and `tag_names` scan every ref (70–90 ms at 100,000 packed tags).
//! Git keeps `packed-refs` sorted, so a prefix is a contiguous run of lines: binary-search for its
//! first line with positioned reads, read the run, then overlay the loose refs of that directory.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::ErrorKind;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;

use git2::Oid;

use super::sorted_lines::SortedLines;
use crate::{Error, Result};

/// Where a ref points, and whether that is an annotated tag object when the ref store says so
/// for free (`packed-refs` records peeled tags; a loose ref does not tell).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefTarget {
    pub id: Oid,
    pub annotated: Option<bool>,
    /// What an annotated tag peels to, when `packed-refs` records it (`^<id>` lines).
    pub peeled: Option<Oid>,
}

/// Refs whose names start with `prefix` (which ends in `/`), with their direct targets.
/// Loose refs win over packed ones, as in git. Symbolic loose refs are skipped.
pub fn list_prefix(common_dir: &Path, prefix: &str) -> Result<BTreeMap<String, RefTarget>> {
    // Collected in visiting order and built into a map at the end (in bulk: a sorted file gives
    // sorted input, the loose refs follow).
    let mut found: Vec<(String, RefTarget)> = Vec::new();
    each_with_prefix(common_dir, prefix, |name, target| {
        found.push((name.to_owned(), target))
    })?;
    Ok(found.into_iter().collect())
}

/// Calls `each` with every ref whose name starts with `prefix` (which ends in `/`) and its
/// direct target, each once, packed ones in file order then the loose ones, without holding
/// them all: 100,000 tags listed into a map are some 20 MB while it is built. Loose refs win.
/// [`list_prefix`] is this, collected.
pub fn each_with_prefix(
    common_dir: &Path,
    prefix: &str,
    mut each: impl FnMut(&str, RefTarget),
) -> Result<()> {
    let mut loose = BTreeMap::new();
    loose_under(
        &common_dir.join(prefix.trim_end_matches('/')),
        prefix,
        &mut loose,
    )?;
    packed_each(&common_dir.join("packed-refs"), prefix, |name, target| {
        if !loose.contains_key(name) {
            each(name, target);
        }
    })?;
    for (name, target) in loose {
        each(&name, target);
    }
    Ok(())
}

fn loose_under(dir: &Path, prefix: &str, refs: &mut BTreeMap<String, RefTarget>) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
            return Ok(())
        }
        Err(e) => return Err(Error::io(dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(Error::io(dir))?;
        let Ok(file_name) = entry.file_name().into_string() else {
            continue;
        };
        let file_type = entry.file_type().map_err(Error::io(entry.path()))?;
        let name = format!("{prefix}{file_name}");
        if file_type.is_dir() {
            loose_under(&entry.path(), &format!("{name}/"), refs)?;
        } else if file_type.is_file() && !file_name.ends_with(".lock") {
            let content = match std::fs::read_to_string(entry.path()) {
                Ok(content) => content,
                Err(e) if e.kind() == ErrorKind::NotFound => continue, // Deleted meanwhile.
                Err(e) => return Err(Error::io(entry.path())(e)),
            };
            if let Ok(id) = Oid::from_str(content.trim()) {
                refs.insert(
                    name,
                    RefTarget {
                        id,
                        annotated: None,
                        peeled: None,
                    },
                );
            }
        }
    }
    Ok(())
}

/// A digest of everything the refs under `prefix` are read from: the whole `packed-refs` file
/// and each loose ref under the prefix (its name and id). Equal digests mean equal listings, so
/// what is derived from a listing can be cached under its digest and never be stale.
///
/// `packed-refs` is hashed as it streams by (it is 10 MB at 100,000 tags); it is opened without
/// blocking and read only when it is a regular file.
pub fn listing_digest(common_dir: &Path, prefix: &str) -> Result<[u8; 32]> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;

    let mut hasher = Sha256::new();
    let path = common_dir.join("packed-refs");
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(&path);
    match opened {
        Ok(mut file) => {
            let meta = file.metadata().map_err(Error::io(&path))?;
            if !meta.is_file() {
                return Err(Error::Invalid {
                    file: path,
                    message: "is not a regular file".into(),
                });
            }
            hasher.update(b"packed\n");
            let mut buf = vec![0u8; 256 << 10];
            loop {
                let n = match file.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) => return Err(Error::io(&path)(e)),
                };
                hasher.update(&buf[..n]);
            }
        }
        Err(e) if e.kind() == ErrorKind::NotFound => hasher.update(b"no packed-refs\n"),
        Err(e) => return Err(Error::io(&path)(e)),
    }
    let mut loose = BTreeMap::new();
    let dir = common_dir.join(prefix.trim_end_matches('/'));
    loose_under(&dir, prefix, &mut loose)?;
    for (name, target) in &loose {
        hasher.update(format!("loose {name} {}\n", target.id).as_bytes());
    }
    Ok(hasher.finalize().into())
}

/// Calls `each` with every ref of `packed-refs` whose name starts with `prefix` (in file order)
/// and its target, peeled when the file says so. One reused line buffer and name, no per-line
/// conversions but a UTF-8 check: the listing of 100,000 tags is most of what `list` costs.
fn packed_each(path: &Path, prefix: &str, mut each: impl FnMut(&str, RefTarget)) -> Result<()> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(path)(e)),
    };
    let len = file.metadata().map_err(Error::io(path))?.len();
    let lines = SortedLines {
        file: &file,
        len,
        path,
        key: refname,
    };
    // The header names the file's traits: `# pack-refs with: peeled fully-peeled sorted`.
    let (traits, data_start) = match lines.line_at(0)? {
        Some((header, end)) if header.starts_with("# pack-refs with:") => (header, end),
        _ => (String::new(), 0),
    };
    let has = |t: &str| traits.split_whitespace().any(|x| x == t);
    let sorted = has("sorted");
    // With `peeled`, every annotated tag under refs/tags/ is followed by its `^<id>` line.
    let peeled = has("peeled") || has("fully-peeled");
    let start = if sorted {
        lines.lower_bound(data_start, prefix)?
    } else {
        data_start
    };
    // From the first match on, read sequentially: a prefix can cover the whole file.
    let mut reader = BufReader::with_capacity(64 << 10, &file);
    reader
        .seek(SeekFrom::Start(start))
        .map_err(Error::io(path))?;
    // The last ref kept, given to `each` once the next line shows whether it is peeled (a `^`
    // line peels only the ref line just before it).
    let mut pending: Option<RefTarget> = None;
    let mut pending_name = String::new();
    let mut last_kept = false;
    let mut at = start;
    let mut buf = Vec::with_capacity(256);
    loop {
        buf.clear();
        let read = reader
            .read_until(b'\n', &mut buf)
            .map_err(Error::io(path))?;
        if read == 0 {
            break;
        }
        let line_start = at;
        at += read as u64;
        let bytes = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let lossy;
        let line = match std::str::from_utf8(bytes) {
            Ok(line) => line,
            Err(_) => {
                lossy = String::from_utf8_lossy(bytes);
                &lossy
            }
        };
        if let Some(peel) = line.strip_prefix('^') {
            if let (true, Some(target), Ok(peel)) = (
                last_kept,
                pending.as_mut(),
                super::parse_id(peel.trim_end_matches('\r')),
            ) {
                target.annotated = Some(true);
                target.peeled = Some(peel);
            }
            continue;
        }
        let Some(name) = refname(line) else { continue };
        if let Some(target) = pending.take() {
            each(&pending_name, target);
        }
        if name.starts_with(prefix) {
            let (hex, _) = line
                .split_once(' ')
                .ok_or_else(|| lines.corrupt(line_start))?;
            let id = super::parse_id(hex).map_err(|_| lines.corrupt(line_start))?;
            let annotated = peeled.then_some(false);
            pending_name.clear();
            pending_name.push_str(name);
            pending = Some(RefTarget {
                id,
                annotated,
                peeled: None,
            });
            last_kept = true;
        } else if sorted && name > prefix {
            break;
        } else {
            last_kept = false;
        }
    }
    if let Some(target) = pending {
        each(&pending_name, target);
    }
    Ok(())
}

/// The target of exactly `name` in `packed-refs`, found by binary search when it is sorted.
pub fn packed_lookup(common_dir: &Path, name: &str) -> Result<Option<Oid>> {
    let path = common_dir.join("packed-refs");
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&path)(e)),
    };
    let len = file.metadata().map_err(Error::io(&path))?.len();
    let lines = SortedLines {
        file: &file,
        len,
        path: &path,
        key: refname,
    };
    let sorted_from = match lines.line_at(0)? {
        Some((header, end)) if header.starts_with("# pack-refs with:") => header
            .split_whitespace()
            .any(|t| t == "sorted")
            .then_some(end),
        _ => None,
    };
    let Some(data_start) = sorted_from else {
        // Not sorted: the file is read through for the name itself (the last line of it wins,
        // as a map of the listing kept it).
        let mut found = None;
        packed_each(&path, name, |listed, target| {
            if listed == name {
                found = Some(target.id);
            }
        })?;
        return Ok(found);
    };
    // Sorted: the one line, found by binary search (a few hundred bytes read, not 64 KiB):
    // one read per step, unless a line is longer than a step reads.
    if let Some(found) = quick_find(&file, len, data_start, name).map_err(Error::io(&path))? {
        return match found {
            Some(hex) => Oid::from_str(&hex)
                .map(Some)
                .map_err(|_| lines.corrupt(data_start)),
            None => Ok(None),
        };
    }
    let start = lines.lower_bound(data_start, name)?;
    let Some(record) = lines.record_at_or_after(start)? else {
        return Ok(None);
    };
    if record.key(&lines) != name {
        return Ok(None);
    }
    let (hex, _) = record
        .line
        .split_once(' ')
        .ok_or_else(|| lines.corrupt(record.start))?;
    Oid::from_str(hex)
        .map(Some)
        .map_err(|_| lines.corrupt(record.start))
}

/// How much one step of [`quick_find`] reads: several `packed-refs` lines.
const STEP_BYTES: usize = 512;

/// A record line [`quick_find`] read: where it starts, where the next line starts, its id (hex)
/// and its ref name.
struct Found {
    start: u64,
    next: u64,
    hex: String,
    name: String,
}

/// The id (hex) of the record `name` in the sorted records of `packed-refs` from `data_start`
/// on, by a binary search reading [`STEP_BYTES`] per step: `Some(None)` when there is none,
/// `None` when a line did not fit in a step's read (the caller searches line by line).
fn quick_find(
    file: &File,
    len: u64,
    data_start: u64,
    name: &str,
) -> std::io::Result<Option<Option<String>>> {
    let mut buf = [0u8; STEP_BYTES];
    let mut record_from =
        |from: u64, at_line: bool| record_from(file, len, &mut buf, from, at_line);
    // As `SortedLines::lower_bound`: records starting before `lo` sort below `name`; those at
    // or after `hi` do not.
    let (mut lo, mut hi) = (data_start, len);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match record_from(mid, mid == data_start)? {
            None => return Ok(None),
            Some(Some(found)) if found.start < hi => {
                if found.name.as_str() < name {
                    lo = found.next;
                } else {
                    hi = found.start;
                }
            }
            Some(_) => hi = mid,
        }
    }
    Ok(match record_from(lo, true)? {
        None => None,
        Some(Some(found)) if found.name == name => Some(Some(found.hex)),
        Some(_) => Some(None),
    })
}

/// The first record line starting at or after `from` (a line start when `at_line`), read in
/// one step into `buf`: `Some(None)` at the end of the file, `None` when the line does not fit.
fn record_from(
    file: &File,
    len: u64,
    buf: &mut [u8; STEP_BYTES],
    from: u64,
    at_line: bool,
) -> std::io::Result<Option<Option<Found>>> {
    use std::os::unix::fs::FileExt;
    let read_at = if at_line { from } else { from - 1 };
    let want = (len - read_at).min(STEP_BYTES as u64) as usize;
    let got = file.read_at(&mut buf[..want], read_at)?;
    let window = &buf[..got];
    let ended = read_at + got as u64 >= len;
    let mut pos = if at_line {
        0
    } else {
        match memchr::memchr(b'\n', window) {
            Some(nl) => nl + 1,
            None if ended => return Ok(Some(None)),
            None => return Ok(None),
        }
    };
    let found = |line: &str, start: u64, next: u64| {
        refname(line).map(|name| Found {
            start,
            next,
            hex: line.split_once(' ').map_or("", |(h, _)| h).to_owned(),
            name: name.to_owned(),
        })
    };
    loop {
        if read_at + pos as u64 >= len {
            return Ok(Some(None));
        }
        let start = read_at + pos as u64;
        let Some(nl) = memchr::memchr(b'\n', &window[pos..]) else {
            // The file's last line without a newline, or a line cut by the window.
            if ended {
                let line = String::from_utf8_lossy(&window[pos..]);
                return Ok(Some(found(&line, start, len)));
            }
            return Ok(None);
        };
        let line = String::from_utf8_lossy(&window[pos..pos + nl]);
        pos += nl + 1;
        if let Some(record) = found(&line, start, read_at + pos as u64) {
            return Ok(Some(Some(record)));
        }
    }
}

/// Where the tag ref `refname` points, read as git does (the loose file, else `packed-refs` by
/// binary search), without libgit2: its lookup maps `packed-refs` into each repository handle
/// it is asked through, and with 100,000 tags the server's 32 reading threads held 32 copies of
/// a 10 MiB file in memory (VmHWM 300 MiB). `Some(None)`: no such ref. `None`: not a plain case
/// (a symbolic or unreadable loose ref, a damaged `packed-refs`) — the caller asks libgit2.
pub fn tag_lookup(common_dir: &Path, refname: &str) -> Option<Option<Oid>> {
    match std::fs::read(common_dir.join(refname)) {
        Ok(content) => {
            let text = std::str::from_utf8(&content).ok()?;
            let hex = text.strip_suffix('\n').unwrap_or(text);
            Oid::from_str(hex)
                .ok()
                .filter(|_| hex.len() == 40)
                .map(Some)
        }
        Err(e) if e.kind() == ErrorKind::NotFound => packed_lookup(common_dir, refname).ok(),
        Err(_) => None,
    }
}

/// The ref name of a `packed-refs` record line (`<id> <name>`); `None` for the header,
/// comments and peeled (`^<id>`) lines.
fn refname(line: &str) -> Option<&str> {
    if line.starts_with('^') || line.starts_with('#') {
        return None;
    }
    line.split_once(' ').map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(n: usize) -> String {
        format!("{:040x}", n)
    }

    fn write_packed(dir: &Path, names: &[&str], sorted: bool) {
        let mut text = format!(
            "# pack-refs with: peeled fully-peeled {}\n",
            if sorted { "sorted " } else { "" }
        );
        for (i, name) in names.iter().enumerate() {
            // Tags of `p12-x` are lightweight: no peeled line.
            let peel = if name.contains("p12-x") {
                String::new()
            } else {
                format!("^{}\n", oid(200))
            };
            text.push_str(&format!("{} {name}\n{peel}", oid(i + 1)));
        }
        std::fs::write(dir.join("packed-refs"), text).unwrap();
    }

    #[test]
    fn finds_exactly_the_prefix_in_packed_and_loose() {
        let dir = tempfile::tempdir().unwrap();
        let mut names: Vec<String> = (0..300).map(|i| format!("refs/tags/p{i}/v1.0.0")).collect();
        names.push("refs/heads/main".into());
        names.push("refs/tags/p12/v1.1.0".into());
        names.push("refs/tags/p12-x/v1.0.0".into());
        names.sort();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        for sorted in [true, false] {
            write_packed(dir.path(), &names, sorted);
            let found = list_prefix(dir.path(), "refs/tags/p12/").unwrap();
            assert_eq!(
                found.keys().collect::<Vec<_>>(),
                ["refs/tags/p12/v1.0.0", "refs/tags/p12/v1.1.0"]
            );
            assert!(list_prefix(dir.path(), "refs/tags/zzz/")
                .unwrap()
                .is_empty());
            assert_eq!(list_prefix(dir.path(), "refs/tags/p0/").unwrap().len(), 1);
            let light = list_prefix(dir.path(), "refs/tags/p12-x/").unwrap();
            assert_eq!(light["refs/tags/p12-x/v1.0.0"].annotated, Some(false));
            assert_eq!(list_prefix(dir.path(), "refs/tags/").unwrap().len(), 302);
        }
        let loose = dir.path().join("refs/tags/p12");
        std::fs::create_dir_all(&loose).unwrap();
        std::fs::write(loose.join("v1.0.0"), format!("{}\n", oid(99))).unwrap();
        std::fs::write(loose.join("v2.0.0"), format!("{}\n", oid(98))).unwrap();
        std::fs::write(loose.join("v3.0.0.lock"), "junk").unwrap();
        let found = list_prefix(dir.path(), "refs/tags/p12/").unwrap();
        assert_eq!(visited(dir.path(), "refs/tags/p12/"), found);
        assert_eq!(
            visited(dir.path(), "refs/tags/"),
            list_prefix(dir.path(), "refs/tags/").unwrap()
        );
        assert_eq!(found.len(), 3);
        let loose_one = found["refs/tags/p12/v1.0.0"];
        assert_eq!(loose_one.id, Oid::from_str(&oid(99)).unwrap());
        assert_eq!(loose_one.annotated, None);
        assert_eq!(found["refs/tags/p12/v1.1.0"].annotated, Some(true));
    }

    /// What `each_with_prefix` visits, each ref once, as a map to compare with `list_prefix`.
    fn visited(dir: &Path, prefix: &str) -> BTreeMap<String, RefTarget> {
        let mut seen = BTreeMap::new();
        each_with_prefix(dir, prefix, |name, target| {
            assert!(
                seen.insert(name.to_owned(), target).is_none(),
                "{name} twice"
            );
        })
        .unwrap();
        seen
    }

    #[test]
    fn peeled_lines_belong_to_the_record_before() {
        let dir = tempfile::tempdir().unwrap();
        let a = "1".repeat(40);
        let b = "2".repeat(40);
        let c = "3".repeat(40);
        std::fs::write(
            dir.path().join("packed-refs"),
            format!("# pack-refs with: peeled fully-peeled sorted \n{a} refs/heads/main\n{a} refs/tags/x/v1.0.0\n^{b}\n{c} refs/tags/y/v1.0.0\n"),
        )
        .unwrap();
        let found = list_prefix(dir.path(), "refs/tags/").unwrap();
        assert_eq!(visited(dir.path(), "refs/tags/"), found);
        let peeled: Vec<_> = found.iter().filter(|(_, t)| t.peeled.is_some()).collect();
        assert_eq!(peeled.len(), 1);
        let x = found["refs/tags/x/v1.0.0"];
        assert_eq!(
            (x.id, x.peeled),
            (Oid::from_str(&a).unwrap(), Some(Oid::from_str(&b).unwrap()))
        );
        assert_eq!(found["refs/tags/y/v1.0.0"].annotated, Some(false));
    }

    #[test]
    fn one_ref_is_found_exactly_packed_or_loose() {
        let dir = tempfile::tempdir().unwrap();
        let mut names: Vec<String> = (0..300).map(|i| format!("refs/tags/p{i}/v1.0.0")).collect();
        names.push("refs/tags/p12/v1.0.0-rc.1".into());
        names.push("refs/tags/p12-x/v1.0.0".into());
        names.sort();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let id_of = |name: &str| {
            let at = names.iter().position(|n| *n == name).unwrap();
            Some(Oid::from_str(&oid(at + 1)).unwrap())
        };
        for sorted in [true, false] {
            write_packed(dir.path(), &names, sorted);
            for name in [
                "refs/tags/p0/v1.0.0",
                "refs/tags/p12/v1.0.0",
                "refs/tags/p12/v1.0.0-rc.1",
                "refs/tags/p12-x/v1.0.0",
                "refs/tags/p299/v1.0.0",
            ] {
                assert_eq!(packed_lookup(dir.path(), name).unwrap(), id_of(name));
                assert_eq!(tag_lookup(dir.path(), name), Some(id_of(name)), "{name}");
            }
            for absent in [
                "refs/tags/p12/v1.0",
                "refs/tags/p12/v1.0.0-rc",
                "refs/tags/zz/v1",
            ] {
                assert_eq!(packed_lookup(dir.path(), absent).unwrap(), None, "{absent}");
                assert_eq!(tag_lookup(dir.path(), absent), Some(None), "{absent}");
            }
        }
        // A loose ref wins; anything but a plain id is left to libgit2.
        let loose = dir.path().join("refs/tags/p12");
        std::fs::create_dir_all(&loose).unwrap();
        std::fs::write(loose.join("v1.0.0"), format!("{}\n", oid(99))).unwrap();
        assert_eq!(
            tag_lookup(dir.path(), "refs/tags/p12/v1.0.0"),
            Some(Some(Oid::from_str(&oid(99)).unwrap()))
        );
        std::fs::write(loose.join("v1.0.0"), "ref: refs/tags/p0/v1.0.0\n").unwrap();
        assert_eq!(tag_lookup(dir.path(), "refs/tags/p12/v1.0.0"), None);
        std::fs::write(loose.join("v1.0.0"), "").unwrap();
        assert_eq!(tag_lookup(dir.path(), "refs/tags/p12/v1.0.0"), None);
        // A tag `p0` as a file where the directory `p0/` would be.
        std::fs::write(dir.path().join("refs/tags/p7"), format!("{}\n", oid(5))).unwrap();
        assert_eq!(tag_lookup(dir.path(), "refs/tags/p7/v1.0.0"), None);
    }

    #[test]
    fn one_ref_is_found_past_long_lines_and_a_missing_last_newline() {
        let dir = tempfile::tempdir().unwrap();
        let long = format!("refs/tags/{}/v1.0.0", "l".repeat(2 * STEP_BYTES));
        let mut names: Vec<String> = (0..50).map(|i| format!("refs/tags/p{i}/v1.0.0")).collect();
        names.push(long.clone());
        names.sort();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        write_packed(dir.path(), &names, true);
        for (at, name) in names.iter().enumerate() {
            let id = Some(Oid::from_str(&oid(at + 1)).unwrap());
            assert_eq!(packed_lookup(dir.path(), name).unwrap(), id, "{name}");
        }
        assert_eq!(packed_lookup(dir.path(), "refs/tags/m/v1").unwrap(), None);
        let path = dir.path().join("packed-refs");
        let text = std::fs::read_to_string(&path).unwrap();
        let cut = text.trim_end().rsplit_once('\n').unwrap().0.to_owned();
        // The last record without its peeled line and newline.
        std::fs::write(&path, &cut).unwrap();
        let last = names.last().unwrap();
        let id = Some(Oid::from_str(&oid(names.len())).unwrap());
        assert_eq!(packed_lookup(dir.path(), last).unwrap(), id);
        assert_eq!(packed_lookup(dir.path(), "refs/tags/zz/v1").unwrap(), None);
    }

    #[test]
    fn missing_packed_refs_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(list_prefix(dir.path(), "refs/tags/a/").unwrap().is_empty());
    }
}
