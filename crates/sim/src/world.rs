//! The world of one seed: the apps, the files, the platform's settings and faults, and the
//! bad luck to come (crashes, Ctrl-C, restarts, a changed chunk file, a repeated run),
//! all drawn from the seed.

use std::fmt::Write as _;

use elma_import_contract::schema::AppSchema;
use elma_import_contract::wire::FileFormat;
use elma_import_emulator::FaultProfile;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The app of single runs, and of a migration's second step (its `Parent` links to
/// [`PARENTS`]). `Ref` is the simulation's own mark of a source row: every row has a
/// unique one, so the app's items tell which row each came from.
pub const CHILDREN: &str = r#"{"namespace":"sim","code":"children","name":"Children","fields":[
  {"code":"ref","name":"Ref","type":"STRING","required":true,"single":true},
  {"code":"__name","name":"Name","type":"STRING","required":false,"single":true},
  {"code":"email","name":"Email","type":"EMAIL","required":false,"single":true},
  {"code":"amount","name":"Amount","type":"INTEGER","required":false,"single":true},
  {"code":"at","name":"At","type":"DATETIME","required":false,"single":true},
  {"code":"parent","name":"Parent","type":"SYS_COLLECTION","required":false,"single":true,
   "data":{"namespace":"sim","code":"parents"}}]}"#;

/// The app of a migration's first step.
pub const PARENTS: &str = r#"{"namespace":"sim","code":"parents","name":"Parents","fields":[
  {"code":"ref","name":"Ref","type":"STRING","required":true,"single":true},
  {"code":"code","name":"Code","type":"STRING","required":false,"single":true},
  {"code":"__name","name":"Name","type":"STRING","required":false,"single":true},
  {"code":"since","name":"Since","type":"DATETIME","required":false,"single":true}]}"#;

/// The two apps.
pub fn schemas() -> Vec<AppSchema> {
    [PARENTS, CHILDREN].iter().map(|s| AppSchema::from_json(s).expect("the simulation's schemas")).collect()
}

/// What a seed simulates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One file into `sim.children`.
    Run,
    /// Parents then children, the children's `Parent` resolved by the parents' `Code`.
    Migration,
}

/// A source row of the children's file.
#[derive(Debug, Clone, PartialEq)]
pub struct Child {
    /// The simulation's mark.
    pub reference: String,
    /// Name.
    pub name: String,
    /// E-mail (may repeat, may be malformed).
    pub email: String,
    /// Amount (may be malformed).
    pub amount: String,
    /// A date-time in the `ru` format.
    pub at: String,
    /// The parent's code (migrations).
    pub parent: String,
}

/// A source row of the parents' file.
#[derive(Debug, Clone, PartialEq)]
pub struct Parent {
    /// The simulation's mark.
    pub reference: String,
    /// Its code, the key children refer to (may repeat).
    pub code: String,
    /// Name.
    pub name: String,
    /// A date-time.
    pub since: String,
}

/// Everything a seed's run or migration meets.
#[derive(Debug, Clone)]
pub struct World {
    /// The seed.
    pub seed: u64,
    /// Run or migration.
    pub kind: Kind,
    /// The children's rows (the run's file, or the migration's second step).
    pub children: Vec<Child>,
    /// The parents' rows (migrations).
    pub parents: Vec<Parent>,
    /// The run's key column (`None`: rows are looked up by content). Migrations use
    /// `Code` and `Email`.
    pub key: Option<&'static str>,
    /// Run the app's event handlers.
    pub handlers: bool,
    /// Rows per chunk.
    pub rows_per_chunk: u64,
    /// Chunk files' format.
    pub chunk_format: FileFormat,
    /// Import the valid rows of a file with invalid ones from the start.
    pub skip_invalid: bool,
    /// The zone the run reads date-times in.
    pub client_zone: &'static str,
    /// The zone the platform reads them in.
    pub platform_zone: &'static str,
    /// The platform's temporary-file lifetime.
    pub ttl_secs: u64,
    /// The platform's import speed.
    pub rows_per_sec: f64,
    /// Its handler queue's drain rate.
    pub handler_rate: f64,
    /// Faults while the world is unlucky.
    pub faults: FaultProfile,
    /// Executions before the faults stop.
    pub unlucky_executions: u32,
    /// Rows of the children whose whole item is in the app before the run (imported
    /// earlier by other means).
    pub preexisting: Vec<usize>,
    /// Rows whose key only (another item with their e-mail) is in the app before the run.
    pub preexisting_keys: Vec<usize>,
    /// Chance that an execution crashes at a journal boundary.
    pub crash_chance: f64,
    /// Most crashes.
    pub max_crashes: u32,
    /// Chance that an execution is interrupted (Ctrl-C).
    pub cancel_chance: f64,
    /// Chance of an emulator restart between executions.
    pub restart_chance: f64,
    /// Change a chunk file on disk after the first crash.
    pub tamper: bool,
    /// Try the same file again in a new run directory after the first stop.
    pub repeat: bool,
    /// `--pause auto` (with handlers): the pacer's decisions are journaled and replayed
    /// on every resume.
    pub auto_pause: bool,
    /// The children's file holds text columns only (`Ref,Name,Email`): by content, a row
    /// stored reworded cannot be told from one that never landed by any other field.
    pub text_only: bool,
}

const ZONES: [&str; 4] = ["+03:00", "+00:00", "Europe/Berlin", "Europe/Moscow"];

impl World {
    /// The world of `seed`.
    pub fn of(seed: u64) -> World {
        let mut rng = StdRng::seed_from_u64(seed);
        let kind = if rng.random_bool(0.3) { Kind::Migration } else { Kind::Run };
        let parents = if kind == Kind::Migration { gen_parents(&mut rng) } else { Vec::new() };
        let children = gen_children(&mut rng, &parents);
        let key = match (kind, rng.random_range(0..3)) {
            (Kind::Migration, _) => Some("Email"),
            (_, 0) => None,
            (_, 1) => Some("Email"),
            _ => Some("Ref"),
        };
        let zone_differs = rng.random_bool(0.3);
        let platform_zone = "+03:00";
        let client_zone = if zone_differs { ZONES[rng.random_range(1..ZONES.len())] } else { platform_zone };
        let short_ttl = rng.random_bool(0.25);
        let faults = FaultProfile {
            seed: Some(seed),
            http_500: pick(&mut rng, 0.3, 0.05),
            http_503: pick(&mut rng, 0.3, 0.05),
            http_429: pick(&mut rng, 0.3, 0.05),
            retry_after_secs: 1,
            drop_before: pick(&mut rng, 0.3, 0.05),
            drop_after: pick(&mut rng, 0.5, 0.15),
            fail_imports: pick(&mut rng, 0.4, 0.3),
            // The platform stores some names otherwise than the file wrote them: a look-up
            // by content misses those rows.
            reword: pick(&mut rng, 0.15, 0.5),
            reword_fields: vec!["__name".into()],
            ..FaultProfile::default()
        };
        let n = children.len();
        let preexisting = if rng.random_bool(0.2) { sample(&mut rng, n, 3) } else { Vec::new() };
        let preexisting_keys = if rng.random_bool(0.2) { sample(&mut rng, n, 3) } else { Vec::new() };
        World {
            seed,
            kind,
            children,
            parents,
            key,
            handlers: rng.random_bool(0.4),
            rows_per_chunk: rng.random_range(1..=12),
            chunk_format: if rng.random_bool(0.25) { FileFormat::Xlsx } else { FileFormat::Csv },
            skip_invalid: rng.random_bool(0.3),
            client_zone,
            platform_zone,
            ttl_secs: if short_ttl { rng.random_range(20..90) } else { 3600 },
            rows_per_sec: if short_ttl { rng.random_range(1.0..6.0) } else { rng.random_range(2.0..200.0) },
            handler_rate: rng.random_range(5.0..500.0),
            faults,
            unlucky_executions: rng.random_range(1..6),
            preexisting,
            preexisting_keys,
            crash_chance: rng.random_range(0.0..0.7),
            max_crashes: rng.random_range(0..6),
            cancel_chance: if rng.random_bool(0.3) { 0.2 } else { 0.0 },
            restart_chance: if rng.random_bool(0.3) { 0.3 } else { 0.0 },
            tamper: rng.random_bool(0.04),
            repeat: rng.random_bool(0.1),
            auto_pause: rng.random_bool(0.4),
            // Drawn last, so the draws before it are what they were.
            text_only: kind == Kind::Run && rng.random_bool(0.15),
        }
    }

    /// The children's file (`.csv`): `Ref,Name,Email,Amount,At[,Parent]`, or
    /// `Ref,Name,Email` when [`World::text_only`].
    pub fn children_csv(&self) -> String {
        let mut out = String::new();
        let migration = self.kind == Kind::Migration;
        out.push_str(match (migration, self.text_only) {
            (true, _) => "Ref,Name,Email,Amount,At,Parent\n",
            (false, true) => "Ref,Name,Email\n",
            (false, false) => "Ref,Name,Email,Amount,At\n",
        });
        for c in &self.children {
            let _ = write!(out, "{},{},{}", c.reference, c.name, c.email);
            if !self.text_only {
                let _ = write!(out, ",{},{}", c.amount, c.at);
            }
            if migration {
                let _ = write!(out, ",{}", c.parent);
            }
            out.push('\n');
        }
        out
    }

    /// The parents' file (`.csv`): `Ref,Code,Name,Since`.
    pub fn parents_csv(&self) -> String {
        let mut out = String::from("Ref,Code,Name,Since\n");
        for p in &self.parents {
            let _ = writeln!(out, "{},{},{},{}", p.reference, p.code, p.name, p.since);
        }
        out
    }
}

/// `chance` of a fault at all, then a probability up to `most`.
fn pick(rng: &mut StdRng, chance: f64, most: f64) -> f64 {
    if rng.random_bool(chance) {
        rng.random_range(0.0..most)
    } else {
        0.0
    }
}

fn sample(rng: &mut StdRng, n: usize, most: usize) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    let mut out: Vec<usize> = (0..rng.random_range(1..=most)).map(|_| rng.random_range(0..n)).collect();
    out.sort_unstable();
    out.dedup();
    out
}

fn when(rng: &mut StdRng) -> String {
    // Historical dates too: Moscow's clock was +04:00 some summers before 2011.
    format!(
        "{:02}.{:02}.{} {:02}:{:02}",
        rng.random_range(1..=28),
        rng.random_range(1..=12),
        rng.random_range(2005..=2026),
        rng.random_range(0..24),
        rng.random_range(0..60)
    )
}

fn gen_parents(rng: &mut StdRng) -> Vec<Parent> {
    let n = rng.random_range(1..=8);
    let repeat = rng.random_bool(0.15);
    (0..n)
        .map(|i| {
            let code = if repeat && i == n - 1 && n > 1 { "C1".to_string() } else { format!("C{}", i + 1) };
            Parent {
                reference: format!("P{}", i + 1),
                code,
                name: format!("Parent {}", i + 1),
                since: when(rng),
            }
        })
        .collect()
}

fn gen_children(rng: &mut StdRng, parents: &[Parent]) -> Vec<Child> {
    let n = rng.random_range(1..=40);
    let repeats = rng.random_bool(0.2);
    let invalid = rng.random_bool(0.25);
    (0..n)
        .map(|i| {
            let email = if repeats && rng.random_bool(0.4) {
                format!("u{}@example.org", rng.random_range(0..3))
            } else if invalid && rng.random_bool(0.15) {
                "not-an-address".to_string()
            } else {
                format!("u{}@example.org", 1000 + i)
            };
            let amount = if invalid && rng.random_bool(0.1) {
                "1.5".to_string()
            } else {
                rng.random_range(0..10_000).to_string()
            };
            let parent = if parents.is_empty() {
                String::new()
            } else if rng.random_bool(0.05) {
                "C404".to_string()
            } else {
                parents[rng.random_range(0..parents.len())].code.clone()
            };
            Child {
                reference: format!("R{}", i + 1),
                name: format!("Child {}", i + 1),
                email,
                amount,
                at: when(rng),
                parent,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_one_world() {
        let (a, b) = (World::of(42), World::of(42));
        assert_eq!(a.children, b.children);
        assert_eq!(a.children_csv(), b.children_csv());
        assert_ne!(World::of(42).children_csv(), World::of(43).children_csv());
        assert_eq!(schemas().len(), 2);
    }
}
