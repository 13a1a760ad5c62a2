//! Thin PyO3 binding of `dnsrace-core`: typed argument conversion (`args`, `ints`: scalars,
//! buffers, ranges and sequences), arrays out (`output`), the interpreter detached around batch
//! work large enough to pay for it (`detach`), core errors mapped to the classes of `dnsrace.errors` (`errors`).

use pyo3::prelude::*;

mod args;
mod buffers;
mod detach;
mod errors;
mod history;
mod ints;
mod output;
mod plan;
mod store;
#[cfg(feature = "testing")]
mod testing;

#[pymodule(gil_used = false)]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<plan::PyPlan>()?;
    m.add_class::<store::RecordStore>()?;
    history::register(m)?;
    #[cfg(feature = "testing")]
    testing::register(m)?;
    Ok(())
}
