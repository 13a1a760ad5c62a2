//! What a flip asks and answers: its [`Mode`], its [`Outcome`], a batch's [`FlipCounts`] and
//! where a batch writes its outcomes ([`OutcomeSink`]). A leaf module: the store flips with them
//! and the history records and checks them, neither through the other.

use crate::error::{Error, Result};

/// How a flip decides whether to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Always apply (last write wins).
    Lww,
    /// Apply iff the generation is greater than the alias (generation compare-and-swap).
    IfNewer,
    /// Apply iff the endpoint's version equals the expected one (like etcd's mod_revision).
    Exact,
}

impl Mode {
    pub fn parse(text: &str) -> Result<Mode> {
        match text {
            "lww" => Ok(Mode::Lww),
            "if_newer" => Ok(Mode::IfNewer),
            "exact" => Ok(Mode::Exact),
            other => Err(Error::InvalidArgument(format!(
                "invalid mode {other:?}: expected \"lww\", \"if_newer\" or \"exact\""
            ))),
        }
    }
}

/// Result of one flip. The discriminants are the per-endpoint outcome codes of
/// `Store::flip_endpoints` with a sink (and of the Python binding), in the order of `FlipCounts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Outcome {
    Applied = 0,
    /// Refused by the mode's condition.
    Stale = 1,
    /// Refused because the fence was lower than the highest token seen.
    Fenced = 2,
    /// The endpoint has no tree of that generation.
    Missing = 3,
    /// The flip would record the rollback from the active tree, which is gone (the alias
    /// dangles): refused, nothing changed. Only a flip without rollback can move such an alias.
    Dangling = 4,
}

impl Outcome {
    /// The outcome a file names, by its name or, for one release, the refused kind's old name
    /// "stale" (histories written before the rename).
    pub fn parse(text: &str) -> Option<Outcome> {
        if text == "stale" {
            return Some(Outcome::Stale);
        }
        (0..=u8::MAX)
            .map_while(Outcome::from_code)
            .find(|o| o.name() == text)
    }

    /// The outcome of a code written by `Store::flip_endpoints` with a sink.
    pub fn from_code(code: u8) -> Option<Outcome> {
        Some(match code {
            0 => Outcome::Applied,
            1 => Outcome::Stale,
            2 => Outcome::Fenced,
            3 => Outcome::Missing,
            4 => Outcome::Dangling,
            _ => return None,
        })
    }
}

impl Mode {
    /// The mode's name in files and in the Python API.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Lww => "lww",
            Mode::IfNewer => "if_newer",
            Mode::Exact => "exact",
        }
    }
}

impl Outcome {
    /// The outcome's name in files and in the Python API. A flip refused by its mode's condition
    /// is "outdated" ("stale" means an applied flip that lowered the alias, as in the design);
    /// readers still accept the refused kind's old name, "stale" (`Outcome::parse`).
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Stale => "outdated",
            Outcome::Fenced => "fenced",
            Outcome::Missing => "missing",
            Outcome::Dangling => "dangling",
        }
    }
}

/// Where a batch flip writes, per position of the batch, the outcome code (`Outcome as u8`)
/// and the alias before the attempt (0 = none). Both slices must have the batch's length.
#[derive(Debug)]
pub struct OutcomeSink<'a> {
    pub outcomes: &'a mut [u8],
    pub previous: &'a mut [u64],
}

/// Outcome counts of a batch flip.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlipCounts {
    pub applied: u64,
    pub stale: u64,
    pub fenced: u64,
    pub missing: u64,
    pub dangling: u64,
    /// Applied flips that lowered an alias.
    pub stale_flips: u64,
}

#[cfg(test)]
mod tests {
    use super::Outcome;

    #[test]
    fn outcome_names_read_back_and_the_refused_kind_keeps_its_old_name_for_reading() {
        for code in 0..=u8::MAX {
            let Some(outcome) = Outcome::from_code(code) else {
                break;
            };
            assert_eq!(Outcome::parse(outcome.name()), Some(outcome));
        }
        assert_eq!(Outcome::Stale.name(), "outdated");
        assert_eq!(Outcome::parse("stale"), Some(Outcome::Stale));
        assert_eq!(Outcome::parse("lowered"), None);
    }
}
