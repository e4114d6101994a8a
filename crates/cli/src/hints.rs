//! What to do next, after a run or a migration stopped: advice that names the command
//! line's flags and commands. The libraries say what happened; this module says how to
//! go on, with the directory the user resumes (a migration's, not its step's).

use std::path::{Path, PathBuf};

use elma_import_migrate::MigrateError;
use elma_import_runner::journal::JournalError;
use elma_import_runner::RunError;

/// Where a resume continues: a run directory, or a migration directory with the step
/// whose run stopped.
#[derive(Debug, Clone)]
pub struct Resume {
    /// The directory to pass to `elma-import resume`.
    pub dir: PathBuf,
    /// The step (1-based) when `dir` is a migration's.
    pub step: Option<usize>,
}

/// The hints for an error of a command, with `resume` the directory the user resumes.
pub fn of(err: &anyhow::Error, resume: Option<&Path>) -> Vec<String> {
    for cause in err.chain() {
        if let Some(coded) = cause.downcast_ref::<crate::exit::Coded>() {
            return of(&coded.error, resume);
        }
        if let Some(e) = cause.downcast_ref::<RunError>() {
            let at = resume.map(|dir| Resume { dir: dir.to_path_buf(), step: None });
            return run(e, at.as_ref());
        }
        if let Some(e) = cause.downcast_ref::<MigrateError>() {
            return migrate(e, resume);
        }
    }
    Vec::new()
}

/// The hints for a migration's error.
pub fn migrate(e: &MigrateError, dir: Option<&Path>) -> Vec<String> {
    match e {
        MigrateError::Run { error, step } => {
            let number = step
                .strip_prefix("step ")
                .and_then(|s| s.split_whitespace().next())
                .and_then(|n| n.parse().ok());
            let at = dir.map(|dir| Resume { dir: dir.to_path_buf(), step: number });
            run(error, at.as_ref())
        }
        MigrateError::Journal(JournalError::Locked { pid, .. }) => locked(*pid),
        MigrateError::Client { .. } | MigrateError::Io { .. } => dir
            .map(|d| vec![format!("continue with `elma-import resume {}`", d.display())])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn locked(pid: Option<u32>) -> Vec<String> {
    vec![format!(
        "wait for {} to end: two processes on one run could import rows twice",
        pid.map_or_else(|| "the other process".to_string(), |p| format!("process {p}"))
    )]
}

/// The hints for a run's error; `at` says where the user resumes.
pub fn run(e: &RunError, at: Option<&Resume>) -> Vec<String> {
    let resume = |extra: &str| match at {
        Some(r) => format!("`elma-import resume {}{extra}`", r.dir.display()),
        None => format!("`elma-import resume RUN_DIR{extra}`"),
    };
    let chunk_arg = |n: u32| match at.and_then(|r| r.step) {
        Some(step) => format!("{step}:{n}"),
        None => n.to_string(),
    };
    match e {
        RunError::InvalidRows { .. } => vec![
            "fix the file (`elma-import fix` rewrites the unambiguous mistakes) and run it again in a new run directory (another `--run-dir`, or none)".into(),
            format!("or import the valid rows only and list the rest: {}", resume(" --skip-invalid")),
        ],
        RunError::Uncertain { chunks, .. } => {
            let first = chunks.first().map_or(1, |c| c.number());
            vec![
                "check what the app holds (`elma-import verify` compares it with the file)".into(),
                format!(
                    "then settle each chunk by your word: {} when its rows are in the app, or {} to import again those not found there",
                    resume(&format!(" --assume-imported {}", chunk_arg(first))),
                    resume(&format!(" --assume-not-imported {}", chunk_arg(first)))
                ),
                format!(
                    "or, if a column's values identify items (an e-mail, a code): {}",
                    resume(" --key-column COLUMN")
                ),
            ]
        }
        RunError::BlockedTooLong { .. } => vec![format!(
            "another import holds the app; continue later with {} (--blocked-timeout sets how long to wait)",
            resume("")
        )],
        RunError::Stalled { .. } => vec![format!(
            "{} polls the same import again (--stall-timeout sets how long it may stand still)",
            resume("")
        )],
        RunError::AlreadyInApp { .. } => vec![
            "`elma-import verify FILE --app APP` lists the rows the app holds already; leave them out of \
             the file and run it in a new run directory"
                .into(),
            format!("or import them a second time anyway: {}", resume(" --again")),
        ],
        RunError::DiskFull { .. } => vec![format!("free some space, then continue with {}", resume(""))],
        RunError::Interrupted(_) => vec![format!("continue with {}", resume(""))],
        RunError::Client { error, .. } if !error.is_setup() => {
            vec![format!("nothing is lost: continue with {} once the platform answers", resume(""))]
        }
        RunError::Io { .. } | RunError::Journal(JournalError::Io { .. }) => {
            vec![format!("nothing is lost: continue with {}", resume(""))]
        }
        RunError::NeedsDirectory { .. } => vec![format!(
            "pass --directory ID (to {} as well), or set `directory` in the profile",
            resume("")
        )],
        RunError::AlreadyImported { earlier_dir, finished, .. } => {
            let again = "pass --again to import it a second time".to_string();
            match (earlier_dir, finished) {
                (Some(dir), false) if dir.join("run.json").is_file() => vec![
                    format!("continue that run instead: `elma-import resume {}`", dir.display()),
                    format!("or {again}"),
                ],
                _ => vec![again],
            }
        }
        RunError::ChunkChanged { .. } => vec![
            "a chunk file is not the one written, so the run cannot tell what it would send".into(),
            "check what the app holds (`elma-import verify`), then start a new run of the rows missing"
                .into(),
        ],
        RunError::JournalLost(dir) => vec![
            format!("check what the app holds with `elma-import verify {}`", dir.display()),
            "then start a new run (with --again) of the rows missing".into(),
        ],
        RunError::SourceChanged(_) => vec!["start a new run of the file as it is now".into()],
        RunError::Journal(JournalError::Locked { pid, .. }) => locked(*pid),
        RunError::Setting { name, .. } if name == "key column" => {
            vec!["name a column of the file whose values identify items, as a header or a field code".into()]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use elma_import_runner::Chunk;

    #[test]
    fn advice_names_the_directory_to_resume_and_for_a_migration_the_step() {
        let e = RunError::Uncertain {
            dir: "m/steps/02-crm.contacts".into(),
            chunks: vec![Chunk(2)],
            reason: "x".into(),
        };
        let migration = Resume { dir: "m".into(), step: Some(2) };
        let text = run(&e, Some(&migration)).join("\n");
        assert!(text.contains("`elma-import resume m --assume-imported 2:3`"), "{text}");
        let alone = Resume { dir: "runs/r1".into(), step: None };
        let text = run(&e, Some(&alone)).join("\n");
        assert!(text.contains("`elma-import resume runs/r1 --key-column COLUMN`"), "{text}");
        let refused = RunError::InvalidRows { invalid: 3, rows: 10, errors: "e.csv".into() };
        assert!(run(&refused, Some(&alone)).join(" ").contains("resume runs/r1 --skip-invalid"));
        let interrupted = RunError::Interrupted("m/steps/02-crm.contacts".into());
        assert_eq!(run(&interrupted, Some(&migration)), ["continue with `elma-import resume m`"]);
    }
}
