//! The report page every run and migration leaves in its directory at its end.

use std::path::{Path, PathBuf};

use crate::ui;

/// Writes the report page of `dir` again, best effort: its path, or `None` with a warning
/// (a page that cannot be written never changes a run's outcome).
pub fn refresh(dir: &Path) -> Option<PathBuf> {
    match elma_import_report::write_page(dir, None) {
        Ok(page) => Some(page),
        Err(e) => {
            ui::warn(format!("the report page of `{}` was not written: {e}", dir.display()));
            None
        }
    }
}

/// After a run or migration (done, failed or interrupted): writes its report page and
/// says where it is, unless `silent` (stderr carries JSON lines).
pub fn after(dir: &Path, silent: bool) {
    if let Some(page) = refresh(dir) {
        if !silent {
            ui::say(format!("report page: {}", page.display()));
        }
    }
}
