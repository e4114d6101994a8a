//! `elma-import fix`: rewrite the unambiguous mistakes and list every change.

use std::path::PathBuf;

use clap::Args;
use elma_import_sheet::{column_letters, Format, WriteOptions};
use elma_import_validate::Validator;
use serde_json::json;

use crate::commands::validate::report_header_errors;
use crate::exit::{self, usage};
use crate::opts::{CheckArgs, ConnArgs, Global, SchemaSource, SourceArgs};
use crate::settings::{load_schema, runtime};
use crate::ui;

/// Arguments of `fix`.
#[derive(Debug, Args)]
#[command(after_help = "Fixes only mistakes with one canonical form: yes/no/да/нет/1/0 in \
BOOLEAN columns, ISO dates (2001-02-03) in date columns, an option's code instead of its name, \
phone numbers with + ( ) - and spaces, bare UUIDs in user/app-link columns. Never guesses: \
01.02.2003 under --locale en stays an error.

Examples:
  elma-import fix contacts.csv --schema S.json -o contacts.fixed.csv
  elma-import fix contacts.xlsx --schema S.json -o fixed.xlsx \\
      --changes changes.csv --json")]
pub struct FixArgs {
    /// The input.
    #[command(flatten)]
    pub source: SourceArgs,
    /// The app.
    #[command(flatten)]
    pub schema: SchemaSource,
    /// Validation settings.
    #[command(flatten)]
    pub check: CheckArgs,
    /// The fixed file (.csv or .xlsx); every row is written, fixed or not.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Write the list of changes to this .csv instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub changes: Option<PathBuf>,
    /// Connection, for --app.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// Runs `fix`.
pub fn run(args: FixArgs, global: &Global) -> anyhow::Result<u8> {
    args.source
        .refuse_as_output([("-o", Some(args.output.as_path())), ("--changes", args.changes.as_deref())])?;
    let schema = runtime()?.block_on(load_schema(&args.schema, &args.conn))?;
    let mut reader = args.source.open()?;
    let header = args.check.mapped_header(&args.check.column_map()?, reader.header())?;
    let validator = match Validator::new(&schema, &header, &args.check.options()) {
        Ok(v) => v,
        Err(errors) => return report_header_errors(&args.source.file, &errors, &schema, global),
    };
    let format = Format::from_path(&args.output)
        .ok_or_else(|| usage(format!("`{}`: name the output .csv or .xlsx", args.output.display())))?;
    let options = WriteOptions {
        date_format: args.check.locale.excel_datetime_format().to_string(),
        ..WriteOptions::default()
    };
    let mut out = elma_import_sheet::create(&args.output, format, &options)?;
    out.write_row(&header)?;
    let mut changes_out = match &args.changes {
        Some(p) => {
            let file = elma_import_sheet::AtomicFile::create(p)
                .map_err(|e| usage(format!("cannot write `{}`: {e}", p.display())))?;
            let mut w = csv::Writer::from_writer(file);
            w.write_record(["row", "column", "header", "before", "after", "rule"])?;
            Some(w)
        }
        None => None,
    };
    let (_, total) = reader.progress();
    let bar = ui::bar(total, "fixing", true);
    let (mut rows, mut rows_changed, mut changes, mut still_invalid) = (0u64, 0u64, 0u64, 0u64);
    let mut errs = Vec::new();
    while let Some(batch) = reader.next_batch()? {
        for row in batch.iter().filter(|r| !r.is_blank()) {
            rows += 1;
            let fixed = validator.fix_row(row);
            let written = match &fixed {
                Some((fixed_row, fixes)) => {
                    rows_changed += 1;
                    for f in fixes {
                        changes += 1;
                        let column = column_letters(f.column);
                        match changes_out.as_mut() {
                            Some(w) => w.write_record([
                                f.row.to_string().as_str(),
                                column.as_str(),
                                f.header.as_str(),
                                f.before.as_str(),
                                f.after.as_str(),
                                f.rule.as_str(),
                            ])?,
                            None if !global.json => ui::out(format!(
                                "row {}, column {column} `{}`: `{}` → `{}` ({})",
                                f.row,
                                f.header,
                                f.before,
                                f.after,
                                f.rule.as_str()
                            ))?,
                            None => {}
                        }
                    }
                    fixed_row
                }
                None => row,
            };
            errs.clear();
            validator.check_row(written, &mut errs);
            if !errs.is_empty() {
                still_invalid += 1;
            }
            out.write_row(written)?;
        }
        bar.set_position(reader.progress().0);
        reader.recycle(batch);
    }
    bar.finish_and_clear();
    out.finish()?;
    if let Some(w) = changes_out {
        w.into_inner().map_err(|e| e.into_error())?.finish()?;
    }
    if global.json {
        ui::print_json(&json!({
            "file": args.source.file, "output": args.output, "changes_file": args.changes,
            "rows": rows, "rows_changed": rows_changed, "changes": changes, "still_invalid_rows": still_invalid,
            "error": (still_invalid > 0).then(|| format!(
                "{} of {} rows of `{}` are still invalid after {} change(s): see `elma-import validate` on it",
                ui::count(still_invalid), ui::count(rows), args.output.display(), ui::count(changes)
            )),
        }))?;
    } else {
        ui::say(format!(
            "wrote {}: {} change(s) in {} of {} rows; {} row(s) still invalid{}",
            args.output.display(),
            ui::count(changes),
            ui::count(rows_changed),
            ui::count(rows),
            ui::count(still_invalid),
            if still_invalid > 0 { " (see `elma-import validate` on the output)" } else { "" }
        ));
    }
    Ok(if still_invalid == 0 { exit::OK } else { exit::DATA })
}
