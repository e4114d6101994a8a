//! What the .xlsx row assembler reads cells from: calamine's cell reader or the
//! streaming engine's (`xlsx_stream`). A leaf, so neither engine's module
//! imports the other's.

use calamine::{XlsxCellFormula, XlsxError};

/// A worksheet's cells in file order, as calamine's cell reader yields them.
pub(crate) trait CellSource {
    /// The next cell with its value and formula; `None` at the end of the sheet.
    fn next_cell(&mut self) -> Result<Option<XlsxCellFormula<'_>>, XlsxError>;
}
