//! `forge upsert NAME TYPE --file records.jsonl`: guarded upserts of a whole
//! file, as fast as the account's concurrency limit allows, in bounded
//! memory whatever the file's size.

use std::collections::{BTreeMap, HashSet};
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use forge_core::{
    Connector, Error, ErrorKind, ExternalId, Fields, RecordKey, RecordType, Rollback,
};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::task::JoinSet;

use crate::args::Upsert;
use crate::output::{Failure, Outcome, print_json, warn};
use crate::stack::{self, Stack};

/// How often progress is printed when stderr is not a terminal.
const PLAIN_PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// One input line.
#[derive(Debug, Deserialize)]
struct Line {
    #[serde(rename = "externalId")]
    external_id: Option<String>,
    fields: Option<Map<String, Value>>,
}

/// What the run did, printed at the end and with `--json`.
#[derive(Debug, Default, Serialize)]
struct Summary {
    /// Records read (valid lines).
    records: u64,
    /// Written and verified.
    written: u64,
    /// Failed, rolled back included.
    failed: u64,
    /// Failed writes the guard rolled back (verified).
    rolled_back: u64,
    /// Failures by error kind.
    failed_by_kind: BTreeMap<String, u64>,
    /// Lines that were not a record (bad JSON, no externalId…).
    bad_lines: u64,
    /// HTTP requests sent, retries included.
    requests: u64,
    /// 429s (and request-limit errors) answered by retrying.
    rate_limited_retried: u64,
    /// Requests per record read.
    requests_per_record: f64,
    /// Wall time.
    elapsed_s: f64,
    /// Records (written or failed) per second.
    records_per_second: f64,
    /// The governor's cap at the end, and how often it was lowered.
    final_concurrency: usize,
    concurrency_lowered: u64,
    /// Stopped by Ctrl-C before the input ended.
    interrupted: bool,
    /// The process's peak resident memory, where the OS reports it.
    peak_rss_mib: Option<f64>,
}

/// The result of one record's guarded upsert.
struct Done {
    line: u64,
    external_id: String,
    fields: Fields,
    result: Result<(), Error>,
}

/// The process's peak resident set size, from Linux's /proc.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some((kib / 1024.0 * 10.0).round() / 10.0)
}

/// Counts a file's non-blank lines, streaming, for the progress total.
async fn count_lines(path: &Path) -> Option<u64> {
    let file = tokio::fs::File::open(path).await.ok()?;
    let mut lines = BufReader::new(file).lines();
    let mut n = 0;
    while let Ok(Some(line)) = lines.next_line().await {
        if !line.trim().is_empty() {
            n += 1;
        }
    }
    Some(n)
}

fn read_error(what: &str, err: impl std::fmt::Display) -> Failure {
    Failure::usage(
        Error::new(ErrorKind::InvalidInput, format!("{what}: {err}"))
            .with_hint("give a readable JSON Lines file, or - for standard input"),
    )
}

/// Progress: a bar on a terminal, a line every so often otherwise.
enum Progress {
    Bar(ProgressBar),
    Plain { last: Instant },
    Quiet,
}

impl Progress {
    /// Whether any progress is shown, and so whether the input's total is
    /// worth a first pass over the file to count.
    fn shown(json: bool) -> bool {
        std::io::stderr().is_terminal() || !json
    }

    fn new(total: Option<u64>, json: bool) -> Self {
        if !Self::shown(json) {
            return Self::Quiet;
        }
        if !std::io::stderr().is_terminal() {
            return Self::Plain { last: Instant::now() };
        }
        let bar = match total {
            Some(total) => ProgressBar::new(total),
            None => ProgressBar::new_spinner(),
        };
        let template = if total.is_some() {
            "{bar:30} {pos}/{len} records  eta {eta}  {msg}"
        } else {
            "{spinner} {pos} records  {msg}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        Self::Bar(bar)
    }

    fn record(&mut self, summary: &Summary, started: Instant, total: Option<u64>) {
        let done = summary.written + summary.failed;
        match self {
            Self::Bar(bar) => {
                let rate = done as f64 / started.elapsed().as_secs_f64().max(1e-9);
                bar.set_position(done);
                bar.set_message(format!(
                    "{rate:.1} records/s  {} failed",
                    summary.failed + summary.bad_lines
                ));
            }
            Self::Plain { last } if last.elapsed() >= PLAIN_PROGRESS_EVERY => {
                *last = Instant::now();
                let rate = done as f64 / started.elapsed().as_secs_f64().max(1e-9);
                let of = total.map(|t| format!("/{t}")).unwrap_or_default();
                eprintln!(
                    "progress: {done}{of} records, {} failed, {rate:.1} records/s",
                    summary.failed + summary.bad_lines
                );
            }
            _ => {}
        }
    }

    fn finish(&self) {
        if let Self::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

pub(crate) async fn run(args: Upsert) -> Outcome {
    let record_type = RecordType::new(&args.record_type).map_err(Failure::usage)?;
    let source = args.file.clone().unwrap_or_else(|| "-".into());
    let store = stack::store()?;
    let opened = stack::open(&store, &args.name, args.concurrency).await?;
    let cap = args.concurrency.unwrap_or_else(|| stack::concurrency(opened.info()));
    let unsettled: HashSet<RecordKey> =
        opened.journal.unsettled().await?.into_iter().map(|(_, entry)| entry.key).collect();
    if !unsettled.is_empty() {
        warn(&format!(
            "{} write(s) of {:?} were interrupted and never finished; their records are skipped until `forge recover {}`",
            unsettled.len(),
            args.name,
            args.name
        ));
    }
    let (input, total): (Box<dyn AsyncBufRead + Unpin + Send>, Option<u64>) = if source == "-" {
        (Box::new(BufReader::new(tokio::io::stdin())), None)
    } else {
        let path = Path::new(&source);
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| read_error(&format!("could not open {source}"), e))?;
        let total = if Progress::shown(args.json) { count_lines(path).await } else { None };
        (Box::new(BufReader::new(file)), total)
    };
    let mut failures = match &args.failures {
        Some(path) => Some(BufWriter::new(
            tokio::fs::File::create(path)
                .await
                .map_err(|e| read_error(&format!("could not create {}", path.display()), e))?,
        )),
        None => None,
    };

    let stack: Arc<Stack> = Arc::new(opened.stack);
    let workers = cap.max(1) * 2;
    let mut lines = input.lines();
    let mut tasks: JoinSet<Done> = JoinSet::new();
    let mut summary = Summary::default();
    let mut progress = Progress::new(total, args.json);
    let started = Instant::now();
    let mut line_no = 0u64;
    let mut input_done = false;
    let interrupt = tokio::signal::ctrl_c();
    tokio::pin!(interrupt);

    while !(input_done && tasks.is_empty()) {
        tokio::select! {
            biased;
            _ = &mut interrupt, if !summary.interrupted => {
                summary.interrupted = true;
                input_done = true;
                warn("interrupted: taking no new records; finishing the writes in flight (they are verified or rolled back)");
            }
            Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                let done = joined.map_err(|e| Failure::failed(Error::new(ErrorKind::Unexpected, format!("a write task failed: {e}"))))?;
                settle_one(&mut summary, &mut failures, done).await?;
                progress.record(&summary, started, total);
            }
            next = lines.next_line(), if !input_done && tasks.len() < workers => {
                let text = match next {
                    Ok(Some(text)) => text,
                    Ok(None) => { input_done = true; continue; }
                    Err(err) => {
                        warn(&format!("reading the input stopped at line {}: {err}", line_no + 1));
                        input_done = true;
                        continue;
                    }
                };
                line_no += 1;
                if text.trim().is_empty() {
                    continue;
                }
                match parse(&text, &record_type) {
                    Ok((key, fields)) => {
                        summary.records += 1;
                        let external_id = key.external_id.to_string();
                        if unsettled.contains(&key) {
                            let err = Error::new(ErrorKind::Conflict, format!("{key} has an unfinished write from before"))
                                .with_hint(format!("run `forge recover {}` first", args.name));
                            settle_one(&mut summary, &mut failures, Done { line: line_no, external_id, fields, result: Err(err) }).await?;
                            continue;
                        }
                        let stack = Arc::clone(&stack);
                        tasks.spawn(async move {
                            let result = stack.upsert(&key, &fields, &Default::default()).await.map(|_| ());
                            Done { line: line_no, external_id, fields, result }
                        });
                    }
                    Err(why) => {
                        summary.bad_lines += 1;
                        eprintln!("line {line_no}: {why}");
                        if let Some(out) = failures.as_mut() {
                            let entry = json!({"line": line_no, "raw": text, "error": {"kind": "InvalidInput", "message": why, "hint": "fix the line: {\"externalId\": \"…\", \"fields\": {…}}"}});
                            write_line(out, &entry).await?;
                        }
                    }
                }
            }
        }
    }
    progress.finish();
    if let Some(out) = failures.as_mut() {
        out.flush().await.map_err(|e| read_error("could not write the failures file", e))?;
    }

    let retry = stack.inner().stats();
    let governor = stack.inner().inner().stats();
    let elapsed = started.elapsed().as_secs_f64();
    summary.requests = retry.attempts;
    summary.rate_limited_retried = retry.rate_limited_retries;
    summary.requests_per_record =
        if summary.records == 0 { 0.0 } else { retry.attempts as f64 / summary.records as f64 };
    summary.elapsed_s = (elapsed * 1000.0).round() / 1000.0;
    summary.records_per_second =
        ((summary.written + summary.failed) as f64 / elapsed.max(1e-9) * 10.0).round() / 10.0;
    summary.final_concurrency = governor.cap;
    summary.concurrency_lowered = governor.decreases;
    summary.peak_rss_mib = peak_rss_mib();
    let failure = failure(&args, &summary);
    report(&args, &summary, failure.as_ref());
    match failure {
        Some(failure) if args.json => Err(failure.json_printed()),
        Some(failure) => Err(failure),
        None => Ok(()),
    }
}

/// The run's failure, if anything failed, was bad, or was left undone.
fn failure(args: &Upsert, summary: &Summary) -> Option<Failure> {
    if summary.failed > 0 || summary.bad_lines > 0 || summary.interrupted {
        let hint = match &args.failures {
            Some(path) => format!("re-run just the failures with `--file {}`", path.display()),
            None => "add --failures FILE to collect the failed lines for a re-run".to_owned(),
        };
        let commonest =
            summary.failed_by_kind.iter().max_by_key(|(_, n)| **n).map(|(kind, _)| kind.as_str());
        let kind = if summary.interrupted {
            ErrorKind::Cancelled
        } else {
            ErrorKind::ALL
                .into_iter()
                .find(|k| Some(k.as_str()) == commonest)
                .unwrap_or(ErrorKind::InvalidInput)
        };
        let what = if summary.interrupted {
            format!(
                "interrupted after {} record(s); the rest of the input was not written",
                summary.written + summary.failed
            )
        } else {
            format!(
                "{} record(s) failed and {} line(s) were not records",
                summary.failed, summary.bad_lines
            )
        };
        return Some(Failure::failed(Error::new(kind, what).with_hint(hint)));
    }
    None
}

/// A line's record, or why it is not one.
fn parse(text: &str, record_type: &RecordType) -> Result<(RecordKey, Fields), String> {
    let line: Line = serde_json::from_str(text).map_err(|e| format!("not a JSON record: {e}"))?;
    let external_id = line.external_id.ok_or("no \"externalId\"")?;
    let external_id = ExternalId::new(external_id).map_err(|e| e.to_string())?;
    let fields = line.fields.ok_or("no \"fields\" object")?;
    Ok((RecordKey::new(record_type.clone(), external_id), Fields::from(fields)))
}

async fn write_line(out: &mut BufWriter<tokio::fs::File>, entry: &Value) -> Result<(), Failure> {
    let mut text = entry.to_string();
    text.push('\n');
    out.write_all(text.as_bytes())
        .await
        .map_err(|e| read_error("could not write the failures file", e))
}

/// Counts one finished record and writes it to the failures file if it
/// failed: `externalId` and `fields` first, so the file is valid input.
async fn settle_one(
    summary: &mut Summary,
    failures: &mut Option<BufWriter<tokio::fs::File>>,
    done: Done,
) -> Result<(), Failure> {
    let Err(err) = done.result else {
        summary.written += 1;
        return Ok(());
    };
    summary.failed += 1;
    *summary.failed_by_kind.entry(err.kind().to_string()).or_default() += 1;
    if err.guard().is_some_and(|g| matches!(g.rollback, Rollback::RolledBack { .. })) {
        summary.rolled_back += 1;
    }
    if let Some(out) = failures.as_mut() {
        let entry = json!({
            "externalId": done.external_id,
            "fields": done.fields,
            "line": done.line,
            "error": {"kind": err.kind(), "message": err.to_string(), "hint": err.hint(), "vendor_code": err.vendor_code()},
        });
        write_line(out, &entry).await?;
    }
    Ok(())
}

fn report(args: &Upsert, s: &Summary, failure: Option<&Failure>) {
    if args.json {
        #[derive(Serialize)]
        struct Output<'a> {
            ok: bool,
            #[serde(flatten)]
            summary: &'a Summary,
            error: Option<&'a Error>,
        }
        print_json(&Output { ok: failure.is_none(), summary: s, error: failure.map(|f| &f.error) });
        return;
    }
    println!(
        "{} {} record(s) via {:?}: {} written and verified, {} failed ({} rolled back), {} bad line(s){}",
        if s.interrupted { "interrupted:" } else { "done:" },
        args.record_type,
        args.name,
        s.written,
        s.failed,
        s.rolled_back,
        s.bad_lines,
        if s.interrupted { "; the rest of the input was not read" } else { "" }
    );
    for (kind, n) in &s.failed_by_kind {
        println!("  failed as {kind}: {n}");
    }
    println!(
        "  requests: {} sent ({:.2} per record), {} rate-limited and retried; concurrency ended at {} (lowered {} time(s))",
        s.requests,
        s.requests_per_record,
        s.rate_limited_retried,
        s.final_concurrency,
        s.concurrency_lowered
    );
    let rss = s.peak_rss_mib.map(|m| format!(", peak memory {m} MiB")).unwrap_or_default();
    println!("  elapsed: {:.1} s, {:.1} records/s{rss}", s.elapsed_s, s.records_per_second);
}
