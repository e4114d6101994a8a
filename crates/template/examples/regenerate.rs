//! Regenerates the committed demo templates under `templates/` from their schemas:
//! `cargo run -p elma-import-template --example regenerate`.

use std::path::Path;

use elma_import_contract::schema::AppSchema;
use elma_import_template::{write_template, TemplateOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates").canonicalize()?;
    for (id, ext) in [("crm.contacts", "xlsx"), ("crm.contacts", "csv"), ("logistics.orders", "xlsx")] {
        let schema = AppSchema::from_json(&std::fs::read_to_string(dir.join(format!("{id}.schema.json")))?)?;
        let info =
            write_template(&schema, &dir.join(format!("{id}.template.{ext}")), &TemplateOptions::default())?;
        println!("{} ({} columns)", info.path.display(), info.headers.len());
    }
    Ok(())
}
