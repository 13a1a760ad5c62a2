//! DNS name validation and interning to dense ids.

use std::borrow::Cow;
use std::hash::BuildHasher;

use hashbrown::HashTable;

use crate::error::{Error, Result};

/// Longest name in presentation form without the trailing dot (RFC 1035 limit of 255 octets on
/// the wire).
pub const MAX_NAME_LEN: usize = 253;
pub const MAX_LABEL_LEN: usize = 63;

/// Validate a DNS name and return its canonical form: ASCII lower case, one trailing dot
/// dropped. Labels are 1..63 letters, digits or hyphens and neither start nor end with a hyphen
/// (RFC 1123 host names). Borrows when the input is already canonical.
pub fn canonical_name(name: &str) -> Result<Cow<'_, str>> {
    let body = name.strip_suffix('.').unwrap_or(name);
    let bad = |why: &str| {
        Err(Error::InvalidName(format!(
            "invalid DNS name {name:?}: {why}"
        )))
    };
    if body.is_empty() {
        return bad("empty");
    }
    if body.len() > MAX_NAME_LEN {
        return bad("longer than 253 characters");
    }
    let mut upper = false;
    for label in body.split('.') {
        if label.is_empty() {
            return bad("empty label");
        }
        if label.len() > MAX_LABEL_LEN {
            return bad("label longer than 63 characters");
        }
        let bytes = label.as_bytes();
        if bytes[0] == b'-' || bytes[bytes.len() - 1] == b'-' {
            return bad("label starts or ends with a hyphen");
        }
        for &b in bytes {
            match b {
                b'a'..=b'z' | b'0'..=b'9' | b'-' => {}
                b'A'..=b'Z' => upper = true,
                _ => return bad("labels may hold only letters, digits and hyphens"),
            }
        }
    }
    Ok(if upper {
        Cow::Owned(body.to_ascii_lowercase())
    } else {
        Cow::Borrowed(body)
    })
}

/// Interned canonical names. Names live back to back in one arena string and the hash table
/// holds only 4-byte ids, so a registered endpoint costs its name's bytes plus about 10 bytes.
pub(crate) struct NameTable {
    arena: String,
    /// `starts[id]..starts[id + 1]` is the name of `id`.
    starts: Vec<u32>,
    index: HashTable<u32>,
    hasher: foldhash::fast::RandomState,
}

impl NameTable {
    pub(crate) fn new() -> Self {
        Self {
            arena: String::new(),
            starts: vec![0],
            index: HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.starts.len() - 1
    }

    pub(crate) fn name(&self, id: u32) -> &str {
        let id = id as usize;
        &self.arena[self.starts[id] as usize..self.starts[id + 1] as usize]
    }

    /// Look up a canonical name.
    pub(crate) fn get(&self, canonical: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(canonical);
        self.index
            .find(hash, |&id| self.name(id) == canonical)
            .copied()
    }

    /// Room for `additional` names of about `bytes` bytes in total, allocated exactly for large
    /// batches so that a 500k-name registration does not leave half the arena unused.
    pub(crate) fn reserve(&mut self, additional: usize, bytes: usize) {
        if additional >= self.len() {
            self.starts.reserve_exact(additional);
            self.arena.reserve_exact(bytes);
        } else {
            self.starts.reserve(additional);
            self.arena.reserve(bytes);
        }
        self.index.reserve(additional, |&id| {
            hash_name(&self.hasher, &self.arena, &self.starts, id)
        });
    }

    /// Intern a canonical name, returning its id and whether it was new.
    pub(crate) fn insert(&mut self, canonical: &str) -> Result<(u32, bool)> {
        if let Some(id) = self.get(canonical) {
            return Ok((id, false));
        }
        let end = self.arena.len() + canonical.len();
        if end > u32::MAX as usize || self.len() >= u32::MAX as usize - 1 {
            return Err(Error::InvalidArgument(
                "store full: at most 2^32 name bytes and 2^32-2 endpoints".into(),
            ));
        }
        let id = self.len() as u32;
        self.arena.push_str(canonical);
        self.starts.push(end as u32);
        let hash = self.hasher.hash_one(canonical);
        let (hasher, arena, starts) = (&self.hasher, &self.arena, &self.starts);
        self.index
            .insert_unique(hash, id, |&id| hash_name(hasher, arena, starts, id));
        Ok((id, true))
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.arena.capacity() + self.starts.capacity() * 4 + self.index.allocation_size()
    }

    pub(crate) fn name_bytes(&self) -> usize {
        self.arena.len()
    }
}

fn hash_name(hasher: &foldhash::fast::RandomState, arena: &str, starts: &[u32], id: u32) -> u64 {
    let id = id as usize;
    hasher.hash_one(&arena[starts[id] as usize..starts[id + 1] as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonicalises_case_and_trailing_dot() {
        assert_eq!(canonical_name("Example.COM.").unwrap(), "example.com");
        assert!(matches!(canonical_name("a.b").unwrap(), Cow::Borrowed(_)));
    }

    #[test]
    fn rejects_bad_names() {
        for bad in [
            "", ".", "a..b", "-a.com", "a-.com", "a_b.com", "é.com", "a b", "a.com..",
        ] {
            assert!(
                matches!(canonical_name(bad), Err(Error::InvalidName(_))),
                "{bad:?}"
            );
        }
        let long_label = "a".repeat(64);
        assert!(canonical_name(&long_label).is_err());
        assert!(canonical_name(&"a".repeat(63)).is_ok());
        let long_name = ["a".repeat(63).as_str(); 4].join("."); // 255 chars
        assert!(canonical_name(&long_name).is_err());
        let ok_name = format!(
            "{}.{}",
            "a".repeat(63),
            ["b".repeat(63).as_str(); 3].join(".")
        ); // 255
        assert!(canonical_name(&ok_name).is_err());
        let exact = format!(
            "{}.{}",
            "a".repeat(61),
            ["b".repeat(63).as_str(); 3].join(".")
        );
        assert_eq!(exact.len(), 253);
        assert!(canonical_name(&exact).is_ok());
    }

    #[test]
    fn interning_is_dense_and_idempotent() {
        let mut t = NameTable::new();
        assert_eq!(t.insert("a.com").unwrap(), (0, true));
        assert_eq!(t.insert("b.com").unwrap(), (1, true));
        assert_eq!(t.insert("a.com").unwrap(), (0, false));
        assert_eq!(t.get("b.com"), Some(1));
        assert_eq!(t.get("c.com"), None);
        assert_eq!(t.name(1), "b.com");
        assert_eq!(t.len(), 2);
    }
}
