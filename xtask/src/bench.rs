//! `cargo xtask bench`: the bulk-upsert benchmarks against the simulator,
//! written to `BENCHMARKS.md`. Nothing here is a timed test: the figures are
//! measured and reported, with each target met or missed.
//!
//! `bench` builds `forge` in release mode and re-runs this program in release
//! mode (`bench-run`), so the simulator it hosts in-process is optimised too.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use forge_core::{Connector, Fields, RecordKey};
use forge_netsuite::{AccountId, Credentials, NetSuite, NetSuiteConfig};
use forge_netsuite_sim::{SimConfig, SimFaults, SimHandle, Simulator};
use serde_json::{Value, json};

use crate::harness::{TempDir, connect_to_sim};

/// Requests a guarded upsert makes: snapshot read, write, verifying read.
const REQUESTS_PER_RECORD: f64 = 3.0;

pub(crate) fn run(args: &[String]) -> ExitCode {
    eprintln!(
        "xtask bench: building forge and the benchmark harness in release mode (the first time takes a few minutes)…"
    );
    let build = Command::new(crate::cargo())
        .args(["build", "--release", "--quiet", "--package", "forge-cli", "--bin", "forge"])
        .current_dir(crate::root())
        .status();
    if !build.is_ok_and(|s| s.success()) {
        eprintln!("xtask bench: building forge failed");
        return ExitCode::FAILURE;
    }
    let status = Command::new(crate::cargo())
        .args(["run", "--release", "--quiet", "--package", "xtask", "--", "bench-run"])
        .args(args)
        .current_dir(crate::root())
        .status();
    match status {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}

/// One scenario's outcome for the table.
struct Row {
    name: String,
    setup: String,
    result: String,
    target: String,
    met: Option<bool>,
    detail: Value,
}

pub(crate) fn run_inner(args: &[String]) -> ExitCode {
    let quick = args.iter().any(|a| a == "--quick");
    let runtime =
        match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
            Ok(runtime) => runtime,
            Err(e) => {
                eprintln!("xtask bench: {e}");
                return ExitCode::FAILURE;
            }
        };
    match runtime.block_on(scenarios(quick)) {
        Ok(rows) => {
            let report = render(&rows, quick);
            let path = crate::root().join("BENCHMARKS.md");
            if let Err(e) = std::fs::write(&path, &report) {
                eprintln!("xtask bench: could not write {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
            println!("{report}");
            eprintln!("xtask bench: wrote {}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("xtask bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn forge_binary() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = exe.parent().ok_or("no directory for the xtask binary")?;
    let forge = dir.join("forge");
    if forge.exists() {
        Ok(forge)
    } else {
        Err(format!("{} is missing: run `cargo xtask bench`", forge.display()))
    }
}

fn write_records(path: &Path, prefix: &str, n: usize) -> Result<(), String> {
    let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    let mut out = std::io::BufWriter::new(file);
    for i in 0..n {
        let line = json!({"externalId": format!("{prefix}-{i}"), "fields": {"companyName": format!("Company {i}"), "comments": "bench"}});
        writeln!(out, "{line}").map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())
}

/// Connects `forge` to `sim` and bulk-upserts `n` records; the summary.
fn bulk(sim: &SimHandle, scratch: &TempDir, n: usize, concurrency: usize) -> Result<Value, String> {
    let forge = forge_binary()?;
    let home = scratch.0.join("home");
    connect_to_sim(&forge, &home, sim, "bench", sim.account_id(), &["--no-check"], true)?;
    let input = scratch.0.join("records.jsonl");
    write_records(&input, "bench", n)?;
    let output = Command::new(&forge)
        .args(["upsert", "bench", "customer", "--file"])
        .arg(&input)
        .args(["--concurrency", &concurrency.to_string(), "--json"])
        .env("FORGE_HOME", &home)
        .output()
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&output.stdout).map_err(|e| {
        format!(
            "forge upsert printed no summary ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

/// The bulk scenarios against the simulator, in a blocking thread so the
/// simulator's runtime keeps serving.
async fn bulk_scenario(
    name: &str,
    faults: SimFaults,
    n: usize,
    concurrency: usize,
) -> Result<(Value, Value), String> {
    let sim = Simulator::start(SimConfig { faults, ..SimConfig::default() })
        .await
        .map_err(|e| e.to_string())?;
    let scratch = TempDir::new(&format!("bench-{name}"))?;
    eprintln!("xtask bench: {name}: {n} records…");
    let summary = tokio::task::block_in_place(|| bulk(&sim, &scratch, n, concurrency))?;
    let counts = sim.status_counts();
    let stats = json!({
        "requests": sim.requests(),
        "status_429": counts.get(&429).copied().unwrap_or(0),
        "status_503": counts.get(&503).copied().unwrap_or(0),
        "dropped": sim.dropped(),
        "peak_serving": sim.peak_serving(),
        "peak_arrived": sim.peak_in_flight(),
        "records_stored": sim.records("customer").len(),
    });
    sim.stop().await;
    Ok((summary, stats))
}

/// What a throughput scenario is measured against.
struct Ceiling {
    limit: f64,
    latency_s: f64,
    target: f64,
    records: usize,
}

fn ceiling_row(name: &str, setup: String, summary: &Value, sim: &Value, c: &Ceiling) -> Row {
    let (limit, target, n) = (c.limit, c.target, c.records);
    let ceiling = limit / (c.latency_s * REQUESTS_PER_RECORD);
    let rate = f(&summary["records_per_second"]);
    let ratio = rate / ceiling;
    let failed = summary["failed"].as_u64().unwrap_or(u64::MAX);
    let stored = sim["records_stored"].as_u64().unwrap_or(0);
    let met = ratio >= target && failed == 0 && stored == n as u64;
    Row {
        name: name.into(),
        setup,
        result: format!(
            "{rate:.1} records/s = **{ratio:.3}** of the ceiling {ceiling:.1}/s; {failed} failed; {} × 429 from the simulator; peak served {} (limit {limit})",
            sim["status_429"], sim["peak_serving"]
        ),
        target: format!("≥ {target} of the ceiling, 0 failed"),
        met: Some(met),
        detail: json!({"forge": summary, "simulator": sim}),
    }
}

async fn scenarios(quick: bool) -> Result<Vec<Row>, String> {
    let n = if quick { 300 } else { 2000 };
    let latency = Duration::from_millis(100);
    let mut rows = Vec::new();

    let faults = SimFaults { latency, concurrency_limit: Some(15), ..SimFaults::default() };
    let (summary, sim) = bulk_scenario("ceiling", faults, n, 15).await?;
    rows.push(ceiling_row(
        "1. ceiling",
        format!("latency 100 ms, limit 15, --concurrency 15, {n} records"),
        &summary,
        &sim,
        &Ceiling { limit: 15.0, latency_s: 0.1, target: 0.95, records: n },
    ));

    let faults = SimFaults {
        latency,
        concurrency_limit: Some(15),
        p429: 0.10,
        p503: 0.02,
        seed: 1,
        ..SimFaults::default()
    };
    let (summary, sim) = bulk_scenario("faults", faults, n, 15).await?;
    rows.push(ceiling_row(
        "2. faults",
        format!("as 1, plus 10% random 429s and 2% 503s, {n} records"),
        &summary,
        &sim,
        &Ceiling { limit: 15.0, latency_s: 0.1, target: 0.85, records: n },
    ));

    let faults = SimFaults { latency, concurrency_limit: Some(15), ..SimFaults::default() };
    let (summary, sim) = bulk_scenario("unknown-limit", faults, n, 40).await?;
    let mut row = ceiling_row(
        "3. limit unknown",
        format!("as 1, but --concurrency 40 while the simulator allows 15, {n} records"),
        &summary,
        &sim,
        &Ceiling { limit: 15.0, latency_s: 0.1, target: 0.0, records: n },
    );
    row.result = format!(
        "{}; the cap ended at {} after {} decrease(s)",
        row.result, summary["final_concurrency"], summary["concurrency_lowered"]
    );
    row.target = "settle near 15; report 429s and throughput".into();
    row.met = None;
    rows.push(row);

    let big = if quick { 20_000 } else { 250_000 };
    let (summary, sim) = bulk_scenario("memory", SimFaults::default(), big, 15).await?;
    let rss = f(&summary["peak_rss_mib"]);
    let failed = summary["failed"].as_u64().unwrap_or(u64::MAX);
    rows.push(Row {
        name: "4. memory".into(),
        setup: format!("{big} records, no latency, --concurrency 15"),
        result: format!(
            "peak RSS **{rss:.1} MiB**; {:.0} records/s; {failed} failed; {} stored",
            f(&summary["records_per_second"]),
            sim["records_stored"]
        ),
        target: "peak RSS < 64 MiB".into(),
        met: Some(rss > 0.0 && rss < 64.0 && failed == 0),
        detail: json!({"forge": summary, "simulator": sim}),
    });

    rows.push(signing()?);
    rows.push(baseline(n, latency).await?);
    Ok(rows)
}

/// Runs the forge-netsuite signing bench and reads its median.
fn signing() -> Result<Row, String> {
    eprintln!("xtask bench: signing (cargo bench -p forge-netsuite)…");
    let output = Command::new(crate::cargo())
        .args(["bench", "--quiet", "--package", "forge-netsuite", "--bench", "sign"])
        .current_dir(crate::root())
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("sign_with_four_query_parameters"))
        .ok_or("the signing bench printed no result")?;
    // Columns: fastest │ slowest │ median │ mean.
    let cells: Vec<&str> = line.split('│').map(str::trim).collect();
    let median = cells.get(2).copied().unwrap_or("?").to_owned();
    let mean = cells.get(3).copied().unwrap_or("?").to_owned();
    Ok(Row {
        name: "5. signing".into(),
        setup: "one request with four query parameters (divan, `cargo bench -p forge-netsuite`)"
            .into(),
        result: format!("median **{median}** per signature (mean {mean})"),
        target: "report".into(),
        met: None,
        detail: json!({"divan_line": line.trim()}),
    })
}

/// The same records written one at a time, unguarded, the way a quick
/// script does it: one PUT each, no snapshot, no verification, no retry.
async fn baseline(n: usize, latency: Duration) -> Result<Row, String> {
    eprintln!("xtask bench: baseline: {n} records one at a time…");
    let faults = SimFaults { latency, concurrency_limit: Some(15), ..SimFaults::default() };
    let sim = Simulator::start(SimConfig { faults, ..SimConfig::default() })
        .await
        .map_err(|e| e.to_string())?;
    let account = AccountId::parse(sim.account_id()).map_err(|e| e.to_string())?;
    let config =
        NetSuiteConfig::new(account).with_base_url(sim.base_url()).map_err(|e| e.to_string())?;
    let netsuite =
        NetSuite::new(config, Credentials::from(sim.secrets())).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut failed = 0;
    for i in 0..n {
        let key = RecordKey::parse("customer", &format!("base-{i}")).map_err(|e| e.to_string())?;
        let fields =
            Fields::from_value(json!({"companyName": format!("Company {i}"), "comments": "bench"}))
                .map_err(|e| e.to_string())?;
        if netsuite.upsert(&key, &fields, &Default::default()).await.is_err() {
            failed += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let rate = n as f64 / elapsed;
    sim.stop().await;
    Ok(Row {
        name: "6. baseline".into(),
        setup: format!("the {n} records of 1, written one at a time, unguarded (one PUT each)"),
        result: format!("{rate:.1} records/s; {failed} failed; nothing verified, nothing retried"),
        target: "report".into(),
        met: None,
        detail: json!({"records_per_second": rate, "elapsed_s": elapsed, "failed": failed}),
    })
}

fn render(rows: &[Row], quick: bool) -> String {
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mut out = String::new();
    let _ = writeln!(out, "# Forge benchmarks\n");
    let _ = writeln!(
        out,
        "Measured by `cargo xtask bench` on {date}, on {cores} cores ({cpu}), release build. The NetSuite \
         simulator runs in the harness's process on loopback and checks every signature; `forge upsert \
         --file` runs as its own process, so its peak memory is its own. The ceiling is `limit / (latency \
         × {REQUESTS_PER_RECORD} requests per record)`: a guarded upsert reads, writes and reads back.{}\n",
        if quick {
            " **Quick run (--quick): fewer records than the targets call for.**"
        } else {
            ""
        }
    );
    let _ = writeln!(out, "| scenario | setup | result | target | met |\n|---|---|---|---|---|");
    for row in rows {
        let met = match row.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "–",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {met} |",
            row.name, row.setup, row.result, row.target
        );
    }
    let _ = writeln!(out, "\n## Raw figures\n");
    for row in rows {
        let _ = writeln!(
            out,
            "### {}\n\n```json\n{}\n```\n",
            row.name,
            serde_json::to_string_pretty(&row.detail).unwrap_or_default()
        );
    }
    out
}
