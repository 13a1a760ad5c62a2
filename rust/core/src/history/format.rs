//! History files: `jsonl` (one object per operation per endpoint, after a truncation mark
//! when the recording ring dropped operations; read back with strict validation naming the
//! line: `read`) and `jepsen` (EDN invoke/completion pairs); both written by
//! `write`.

use crate::error::{Error, Result};

/// A history file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Jepsen,
}

impl Format {
    pub fn parse(text: &str) -> Result<Format> {
        match text {
            "jsonl" => Ok(Format::Jsonl),
            "jepsen" => Ok(Format::Jepsen),
            other => Err(Error::InvalidArgument(format!(
                "invalid format {other:?}: expected \"jsonl\" or \"jepsen\""
            ))),
        }
    }
}

/// The first line of a truncated history's `jsonl` form (then one line per operation).
pub(super) const TRUNCATED_KEY: &str = "truncated";
