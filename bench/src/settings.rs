//! The command line, and how much work a run does.

use std::time::Duration;

use crate::cancellation::Plan;
use crate::workload::Sizes;

/// What to run and how to print it.
#[derive(Clone, Debug)]
pub struct Settings {
    /// One JSON object per row instead of the table.
    pub json: bool,
    /// Only this backend (`postgres`, `mysql` or `sqlite`), or every one.
    pub backend: Option<String>,
    /// Workloads 1–4 and 6.
    pub sizes: Sizes,
    /// Workload 5.
    pub plan: Plan,
    /// `--storm`: the storm, the herds and the slow network instead of the comparison.
    pub storm: Storm,
    /// `--bulk`: the 100,000-row bulk insert instead of the comparison (see `bulk`).
    pub bulk: bool,
}

/// How large the `--storm` run is.
#[derive(Clone, Debug)]
pub struct Storm {
    /// Whether to run it (instead of the comparison).
    pub on: bool,
    /// Statements in each backend's storm.
    pub statements: usize,
    /// Herds of simultaneous cancels on each backend.
    pub herd_rounds: usize,
}

/// What `--help` prints.
pub const USAGE: &str = "\
usage: tethered-bench [--json] [--quick] [--backend postgres|mysql|sqlite] [--rounds N] [--trials N]
       tethered-bench --storm [--storm-statements N] [--herd-rounds R] [--backend postgres|mysql]
       tethered-bench --bulk [--rounds N]

  --json        one JSON object per row (table rows, cancellation rows, goals) instead of the table
  --quick       a smoke run: fewer rounds, smaller rounds, 20 cancellation trials
  --backend     run one backend only
  --rounds      measured rounds per workload (default 15; one warm-up round comes first)
  --trials      cancellation trials per way of stopping tethered (default 100)
  --storm       instead of the comparison: random stops under contention, herds of 8
                simultaneous cancels and a slow network, counted on the server's view;
                exits non-zero if a stop was lost or a wrong statement was hit
  --storm-statements  statements in each backend's storm (default 100000)
  --herd-rounds herds of 8 simultaneous cancels per backend (default 1000)
  --bulk        instead of the comparison: a 100,000-row insert on PostgreSQL, insert_many,
                copy_in and raw tokio-postgres binary copy, in interleaved rounds

Servers: TETHERED_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test),
         TETHERED_MYSQL_URL (default mysql://root@127.0.0.1:3306/test);
SQLite's file: TETHERED_BENCH_SQLITE_URL (default sqlite:///tmp/tethered-bench.db).
Profiling: PROFILE_ONLY=<backend>/<raw|sqlx|tethered|tethered-root> [PROFILE_WORKLOAD=1..4]
           [PROFILE_QUERIES=N] runs one contestant alone (see bench/README.md).";

impl Settings {
    /// The settings for `args` (the command line without the program's name); `Err` with
    /// the message to print (the usage, for `--help`).
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Settings, String> {
        let mut settings = Settings::full();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
            match arg.as_str() {
                "--json" => settings.json = true,
                "--quick" => {
                    let (storm, bulk) = (settings.storm.clone(), settings.bulk);
                    settings = Settings::quick(settings.json, settings.backend);
                    (settings.storm, settings.bulk) = (storm, bulk);
                }
                "--storm" => settings.storm.on = true,
                "--bulk" => settings.bulk = true,
                "--storm-statements" => {
                    settings.storm.statements = count(&value("--storm-statements")?)?;
                }
                "--herd-rounds" => settings.storm.herd_rounds = count(&value("--herd-rounds")?)?,
                "--backend" => {
                    let backend = value("--backend")?;
                    if !["postgres", "mysql", "sqlite"].contains(&backend.as_str()) {
                        return Err(format!(
                            "unknown backend {backend}: postgres, mysql or sqlite"
                        ));
                    }
                    settings.backend = Some(backend);
                }
                "--rounds" => settings.sizes.rounds = count(&value("--rounds")?)?,
                "--trials" => settings.plan.trials = count(&value("--trials")?)?,
                "-h" | "--help" => return Err(USAGE.to_owned()),
                other => return Err(format!("unknown argument {other}\n{USAGE}")),
            }
        }
        Ok(settings)
    }

    /// The whole comparison: a few minutes on a 2-core machine.
    fn full() -> Settings {
        Settings {
            json: false,
            backend: None,
            sizes: Sizes {
                rounds: 15,
                sequential_selects: 6_000,
                concurrent_selects: 19_200,
                tasks: 64,
                shared_connections: 8,
                transactions: 6,
                rows_per_transaction: 1_000,
                range_selects: 300,
                rows_per_range: 1_000,
                streams: 10,
            },
            plan: Plan {
                cancel_after: Duration::from_millis(20),
                trials: 100,
                sleep: Duration::from_secs(10),
                abandon_trials: 3,
                abandon_sleep: Duration::from_secs(3),
            },
            storm: Storm {
                on: false,
                statements: 100_000,
                herd_rounds: 1_000,
            },
            bulk: false,
        }
    }

    /// A smoke run, to check that everything works.
    fn quick(json: bool, backend: Option<String>) -> Settings {
        let full = Settings::full();
        Settings {
            json,
            backend,
            sizes: Sizes {
                rounds: 3,
                sequential_selects: 1_000,
                concurrent_selects: 3_200,
                transactions: 1,
                range_selects: 50,
                streams: 2,
                ..full.sizes
            },
            plan: Plan {
                trials: 20,
                abandon_trials: 1,
                ..full.plan
            },
            storm: full.storm,
            bulk: full.bulk,
        }
    }

    /// Whether `backend` is to be run.
    pub fn runs(&self, backend: &str) -> bool {
        self.backend.as_deref().is_none_or(|only| only == backend)
    }
}

fn count(value: &str) -> Result<usize, String> {
    match value.parse() {
        Ok(count) if count > 0 => Ok(count),
        _ => Err(format!("{value} is not a positive count")),
    }
}

#[cfg(test)]
mod tests {
    use super::Settings;

    fn parse(args: &[&str]) -> Result<Settings, String> {
        Settings::parse(args.iter().map(|arg| (*arg).to_owned()))
    }

    #[test]
    fn a_backend_named_runs_alone() {
        let settings = parse(&["--backend", "sqlite"]).expect("sqlite is a backend");
        assert!(settings.runs("sqlite"));
        assert!(!settings.runs("postgres"));
        let every = parse(&[]).expect("no arguments");
        assert!(
            ["postgres", "mysql", "sqlite"]
                .iter()
                .all(|b| every.runs(b))
        );
        assert!(parse(&["--backend", "oracle"]).is_err());
    }
}
