//! The order of a migration's steps.
//!
//! Step B waits for step A when B references A's app (B's cells name A's items by key)
//! or when both import into the same app and A comes first in the file (the platform
//! runs one import per app at a time). Steps with no path between them may run side by
//! side. A cycle is an error naming it.

use crate::error::MigrateError;
use crate::spec::Migration;

/// The steps' dependencies and an order that respects them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    /// For each step, the steps it waits for (sorted, no repeats).
    pub deps: Vec<Vec<usize>>,
    /// Every step once, each after all it waits for: wave by wave, file order within a wave.
    pub order: Vec<usize>,
    /// Steps grouped by depth: wave 0 waits for nothing, wave k for something in wave k−1.
    /// Steps of one wave may run concurrently.
    pub waves: Vec<Vec<usize>>,
}

impl Graph {
    /// The graph of a migration.
    ///
    /// # Errors
    /// [`MigrateError::Cycle`] when steps wait for each other in a circle (a step
    /// referencing its own app included).
    pub fn of(migration: &Migration) -> Result<Graph, MigrateError> {
        let steps = &migration.steps;
        let mut deps: Vec<Vec<usize>> = vec![Vec::new(); steps.len()];
        let mut why: Vec<Vec<(usize, String)>> = vec![Vec::new(); steps.len()];
        for (j, step) in steps.iter().enumerate() {
            for (column, r) in &step.references {
                if r.app == step.app {
                    return Err(MigrateError::Cycle {
                        cycle: format!(
                            "{} → {} (column `{column}` references the app the step imports into)",
                            step.label(j),
                            step.label(j)
                        ),
                    });
                }
                for i in migration.steps_of(&r.app) {
                    deps[j].push(i);
                    why[j].push((i, format!("column `{column}`")));
                }
            }
            for i in migration.steps_of(&step.app) {
                if i < j {
                    deps[j].push(i);
                    why[j].push((i, "same app".into()));
                }
            }
        }
        for d in &mut deps {
            d.sort_unstable();
            d.dedup();
        }
        if let Some(cycle) = find_cycle(&deps) {
            let text = cycle
                .windows(2)
                .map(|w| {
                    let (from, to) = (w[0], w[1]);
                    let reason = why[from].iter().find(|(i, _)| *i == to).map_or("", |(_, r)| r.as_str());
                    format!("{} waits for {} ({reason})", steps[from].label(from), steps[to].label(to))
                })
                .collect::<Vec<_>>()
                .join("; ");
            return Err(MigrateError::Cycle { cycle: text });
        }
        let mut level = vec![0usize; steps.len()];
        let mut count = 0;
        let mut placed = vec![false; steps.len()];
        while count < steps.len() {
            // Acyclic: some unplaced step has all its dependencies placed.
            let Some(next) = (0..steps.len()).find(|&j| !placed[j] && deps[j].iter().all(|&i| placed[i]))
            else {
                unreachable!("checked acyclic above")
            };
            level[next] = deps[next].iter().map(|&i| level[i] + 1).max().unwrap_or(0);
            placed[next] = true;
            count += 1;
        }
        let depth = level.iter().max().map_or(0, |m| m + 1);
        let mut waves = vec![Vec::new(); depth];
        for (j, &l) in level.iter().enumerate() {
            waves[l].push(j);
        }
        let order = waves.concat();
        Ok(Graph { deps, order, waves })
    }

    /// When each step would start and end (seconds from the start), given how long each
    /// takes and at most `parallel` at once: a step starts as soon as everything it waits
    /// for has ended and a slot is free, earlier steps of the file first.
    pub fn schedule(&self, durations: &[f64], parallel: usize) -> Vec<(f64, f64)> {
        let n = self.deps.len();
        let parallel = parallel.max(1);
        let mut times: Vec<Option<(f64, f64)>> = vec![None; n];
        let mut now = 0.0f64;
        let mut done = 0;
        while done < n {
            let running: Vec<usize> = (0..n).filter(|&j| times[j].is_some_and(|(_, e)| e > now)).collect();
            let mut slots = parallel.saturating_sub(running.len());
            for j in 0..n {
                if slots == 0 {
                    break;
                }
                let ready = times[j].is_none()
                    && self.deps[j].iter().all(|&i| times[i].is_some_and(|(_, e)| e <= now));
                if ready {
                    times[j] = Some((now, now + durations.get(j).copied().unwrap_or(0.0).max(0.0)));
                    slots -= 1;
                    done += 1;
                }
            }
            // Advance to the next end after now.
            let next =
                times.iter().flatten().map(|&(_, e)| e).filter(|&e| e > now).fold(f64::INFINITY, f64::min);
            if next.is_finite() {
                now = next;
            } else if done < n {
                // Zero-length steps ended at `now`: loop again at the same time.
                continue;
            }
        }
        times.into_iter().map(|t| t.unwrap_or((0.0, 0.0))).collect()
    }
}

/// A cycle as a list of steps `[a, b, …, a]` where each waits for the next.
fn find_cycle(deps: &[Vec<usize>]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(j: usize, deps: &[Vec<usize>], mark: &mut [Mark], path: &mut Vec<usize>) -> Option<Vec<usize>> {
        mark[j] = Mark::Open;
        path.push(j);
        for &i in &deps[j] {
            match mark[i] {
                Mark::Open => {
                    let from = path.iter().position(|&p| p == i).unwrap_or(0);
                    let mut cycle = path[from..].to_vec();
                    cycle.push(i);
                    return Some(cycle);
                }
                Mark::New => {
                    if let Some(c) = visit(i, deps, mark, path) {
                        return Some(c);
                    }
                }
                Mark::Done => {}
            }
        }
        path.pop();
        mark[j] = Mark::Done;
        None
    }
    let mut mark = vec![Mark::New; deps.len()];
    for j in 0..deps.len() {
        if mark[j] == Mark::New {
            if let Some(c) = visit(j, deps, &mut mark, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn migration(steps: &[(&str, &[(&str, &str)])]) -> Migration {
        let mut text = String::new();
        for (app, refs) in steps {
            text.push_str(&format!("[[step]]\nfile = \"{app}.csv\"\napp = \"{app}\"\nkey = \"K\"\n"));
            if !refs.is_empty() {
                let inner: Vec<String> = refs
                    .iter()
                    .map(|(col, to)| format!("{col} = {{ app = \"{to}\", by = \"K\" }}"))
                    .collect();
                text.push_str(&format!("references = {{ {} }}\n", inner.join(", ")));
            }
        }
        Migration::parse(Path::new("/m/m.toml"), &text).unwrap()
    }

    #[test]
    fn a_referencing_step_waits_and_an_independent_one_runs_alongside() {
        let m = migration(&[
            ("crm.contacts", &[("Company", "crm.companies")]),
            ("crm.companies", &[]),
            ("logistics.orders", &[]),
        ]);
        let g = Graph::of(&m).unwrap();
        assert_eq!(g.deps, vec![vec![1], vec![], vec![]]);
        assert_eq!(g.order, vec![1, 2, 0]);
        assert_eq!(g.waves, vec![vec![1, 2], vec![0]]);
    }

    #[test]
    fn a_chain_of_three_and_a_diamond() {
        let m = migration(&[
            ("crm.companies", &[]),
            ("crm.contacts", &[("Company", "crm.companies")]),
            ("crm.deals", &[("Company", "crm.companies"), ("Contact", "crm.contacts")]),
        ]);
        let g = Graph::of(&m).unwrap();
        assert_eq!(g.deps, vec![vec![], vec![0], vec![0, 1]]);
        assert_eq!(g.waves, vec![vec![0], vec![1], vec![2]]);
    }

    #[test]
    fn references_to_apps_no_step_imports_add_no_wait() {
        let m = migration(&[("crm.contacts", &[("Company", "crm.companies")])]);
        let g = Graph::of(&m).unwrap();
        assert_eq!(g.deps, vec![Vec::<usize>::new()]);
    }

    #[test]
    fn two_files_into_one_app_run_one_after_the_other_in_file_order() {
        let m = migration(&[("crm.companies", &[]), ("crm.contacts", &[]), ("crm.companies", &[])]);
        let g = Graph::of(&m).unwrap();
        assert_eq!(g.deps, vec![vec![], vec![], vec![0]]);
        assert_eq!(g.waves, vec![vec![0, 1], vec![2]]);
    }

    #[test]
    fn a_cycle_is_an_error_naming_every_step_in_it() {
        let m = migration(&[
            ("a.x", &[("Y", "a.y")]),
            ("a.y", &[("Z", "a.z")]),
            ("a.z", &[("X", "a.x")]),
            ("a.free", &[]),
        ]);
        let err = Graph::of(&m).unwrap_err().to_string();
        for needle in ["step 1 (a.x", "step 2 (a.y", "step 3 (a.z", "column `Y`", "column `X`"] {
            assert!(err.contains(needle), "{needle} missing from: {err}");
        }
        assert!(!err.contains("a.free"), "{err}");
    }

    #[test]
    fn a_step_referencing_its_own_app_is_a_cycle() {
        let m = migration(&[("crm.contacts", &[("Manager", "crm.contacts")])]);
        let err = Graph::of(&m).unwrap_err().to_string();
        assert!(err.contains("column `Manager` references the app the step imports into"), "{err}");
    }

    #[test]
    fn the_schedule_overlaps_independent_steps_and_respects_the_bound() {
        let m = migration(&[
            ("crm.companies", &[]),
            ("crm.contacts", &[("Company", "crm.companies")]),
            ("logistics.orders", &[]),
        ]);
        let g = Graph::of(&m).unwrap();
        let t = g.schedule(&[10.0, 5.0, 12.0], 4);
        assert_eq!(t, vec![(0.0, 10.0), (10.0, 15.0), (0.0, 12.0)]);
        // One at a time: file order among the ready ones.
        let t = g.schedule(&[10.0, 5.0, 12.0], 1);
        assert_eq!(t, vec![(0.0, 10.0), (10.0, 15.0), (15.0, 27.0)]);
    }
}
