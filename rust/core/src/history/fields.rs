//! An operation's inputs and outputs, named as the files name them and in their order: the one
//! list that the `jsonl` and `jepsen` writers and the checker's descriptions each spell in their
//! own syntax (the reader, `read`, checks the same names on the way in).

use std::fmt::Write as _;

use super::OpKind;

/// A field's value; how it is spelled is each format's choice.
#[derive(Debug, Clone, Copy)]
pub(super) enum FieldValue<'h> {
    Int(u64),
    /// `None`: absent (JSON `null`, EDN `nil`).
    OptInt(Option<u64>),
    Float(f64),
    OptFloat(Option<f64>),
    Bool(bool),
    /// One of a fixed set of names (a mode, an outcome): a JSON string, an EDN keyword.
    Name(&'static str),
    /// Free text (a holder's name): a JSON string in every format.
    Text(&'h str),
}

pub(super) type Field<'h> = (&'static str, FieldValue<'h>);

/// The most inputs (`flip`) and outputs (`read`) an operation has.
const MAX_INPUTS: usize = 5;
const MAX_OUTPUTS: usize = 3;

/// An operation's fields, kept on the stack: histories are written by the million.
pub(super) struct OpFields<'h> {
    input: [Field<'h>; MAX_INPUTS],
    inputs: usize,
    output: [Field<'h>; MAX_OUTPUTS],
    outputs: usize,
}

impl<'h> OpFields<'h> {
    fn new(input: &[Field<'h>], output: &[Field<'h>]) -> Self {
        const UNUSED: Field<'static> = ("", FieldValue::Bool(false));
        let mut fields = OpFields {
            input: [UNUSED; MAX_INPUTS],
            inputs: input.len(),
            output: [UNUSED; MAX_OUTPUTS],
            outputs: output.len(),
        };
        fields.input[..input.len()].copy_from_slice(input);
        fields.output[..output.len()].copy_from_slice(output);
        fields
    }

    pub(super) fn input(&self) -> &[Field<'h>] {
        &self.input[..self.inputs]
    }

    pub(super) fn output(&self) -> &[Field<'h>] {
        &self.output[..self.outputs]
    }
}

impl OpKind {
    /// The operation's fields; holders are named from `holders` (`?` for an unknown index).
    pub(super) fn fields<'h>(&self, holders: &'h [String]) -> OpFields<'h> {
        use FieldValue::{Bool, Float, Int, Name, OptFloat, OptInt, Text};
        let holder = |h: u32| Text(holders.get(h as usize).map_or("?", String::as_str));
        // 0 is the store's "no generation".
        let generation = |g: u64| OptInt((g != 0).then_some(g));
        match *self {
            OpKind::Flip(f) => OpFields::new(
                &[
                    ("generation", Int(f.generation)),
                    ("mode", Name(f.mode.name())),
                    ("expected_version", OptInt(f.expected)),
                    ("fence", OptInt(f.fence)),
                    ("rollback", Bool(f.rollback)),
                ],
                &[("outcome", Name(f.outcome.name()))],
            ),
            OpKind::Read {
                alias,
                rollback,
                version,
            } => OpFields::new(
                &[],
                &[
                    ("alias", generation(alias)),
                    ("rollback", generation(rollback)),
                    ("version", Int(version)),
                ],
            ),
            OpKind::Acquire {
                holder: h,
                ttl,
                now,
                token,
            } => OpFields::new(
                &[
                    ("holder", holder(h)),
                    ("ttl", Float(ttl)),
                    ("now", Float(now)),
                ],
                &[("token", OptInt(token))],
            ),
            OpKind::Renew {
                holder: h,
                token,
                ttl,
                now,
                expiry,
            } => OpFields::new(
                &[
                    ("holder", holder(h)),
                    ("token", Int(token)),
                    ("ttl", Float(ttl)),
                    ("now", Float(now)),
                ],
                &[("expiry", OptFloat(expiry))],
            ),
            OpKind::Release {
                holder: h,
                token,
                released,
            } => OpFields::new(
                &[("holder", holder(h)), ("token", Int(token))],
                &[("released", Bool(released))],
            ),
            OpKind::PutTree { generation } => {
                OpFields::new(&[("generation", Int(generation))], &[])
            }
            OpKind::DeleteTree {
                generation,
                safe,
                deleted,
            } => OpFields::new(
                &[("generation", Int(generation)), ("safe", Bool(safe))],
                &[("deleted", Bool(deleted))],
            ),
        }
    }
}

impl FieldValue<'_> {
    /// Appends the value: an absent one as `null`, a fixed name as `name` spells it, floats
    /// in their shortest form that reads back bit for bit.
    pub(super) fn write_to(
        self,
        out: &mut String,
        null: &str,
        name: impl FnOnce(&mut String, &str),
    ) {
        let _ = match self {
            FieldValue::Int(v) | FieldValue::OptInt(Some(v)) => write!(out, "{v}"),
            FieldValue::Float(v) | FieldValue::OptFloat(Some(v)) => write!(out, "{v:?}"),
            FieldValue::OptInt(None) | FieldValue::OptFloat(None) => {
                out.push_str(null);
                Ok(())
            }
            FieldValue::Bool(v) => write!(out, "{v}"),
            FieldValue::Name(n) => {
                name(out, n);
                Ok(())
            }
            FieldValue::Text(t) => {
                out.push_str(&serde_json::to_string(t).unwrap_or_else(|_| "\"?\"".into()));
                Ok(())
            }
        };
    }
}
