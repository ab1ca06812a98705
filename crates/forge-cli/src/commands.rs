//! What each command does.

use std::io::IsTerminal;

use forge_core::{Connector, Error, ErrorKind, Fields, GetOptions, RecordKey, RecordType};
use forge_netsuite::tba::{self, SignInput};
use forge_netsuite::{AccountId, Credentials, NetSuite};
use forge_store::{CredentialStore, NewConnection, PutOptions, Secrets};
use forge_verify::{ProofOptions, prove_with};
use secrecy::SecretString;
use serde_json::{Map, Value, json};

use crate::args;
use crate::output::{Failure, Outcome, print_json, warn};
use crate::secrets::{self, NETSUITE, Source};
use crate::stack::{self, Opened};

fn usage(kind: ErrorKind, message: String, hint: &str) -> Failure {
    Failure::usage(Error::new(kind, message).with_hint(hint))
}

pub(crate) async fn connect_netsuite(args: args::ConnectNetsuite) -> Outcome {
    let config = stack::netsuite_config(&args.account_id, args.base_url.as_deref())?;
    forge_store::validate_name(&args.name).map_err(Failure::usage)?;
    let account = config.account.clone();
    eprintln!("account {account}: realm {}, host {}", account.realm(), account.host());
    let source = if args.from_env {
        Source::Env
    } else if args.stdin {
        Source::Stdin
    } else {
        Source::Prompt
    };
    let [ck, cs, tk, ts] = secrets::read(source)?;
    let sealed: Secrets = NETSUITE
        .iter()
        .map(|(name, _, _)| *name)
        .zip(
            [&ck, &cs, &tk, &ts]
                .map(|s| SecretString::from(secrecy::ExposeSecret::expose_secret(s).to_owned())),
        )
        .collect();
    let check = if args.no_check {
        None
    } else {
        let netsuite = NetSuite::new(config.clone(), Credentials::new(ck, cs, tk, ts))?;
        match netsuite.check().await {
            Ok(report) => Some(report.summary),
            Err(err) => {
                let hint = format!(
                    "{}\nthe credentials were not stored",
                    err.hint().unwrap_or("check the secrets")
                );
                return Err(Failure::failed(
                    Error::new(err.kind(), format!("the credential check failed: {err}"))
                        .with_hint(hint),
                ));
            }
        }
    };
    let mut stored = Map::new();
    stored.insert("account_id".into(), json!(account.as_str()));
    if let Some(base) = &config.base_url {
        stored.insert("base_url".into(), json!(base.as_str().trim_end_matches('/')));
    }
    if let Some(n) = args.concurrency {
        stored.insert("concurrency".into(), json!(n));
    }
    let store = stack::store()?;
    let info = store
        .put(
            NewConnection {
                name: &args.name,
                connector: "netsuite",
                config: stored,
                secrets: &sealed,
            },
            PutOptions { replace: args.replace },
        )
        .await
        .map_err(|e| {
            let replace = matches!(e, forge_store::StoreError::Exists(_));
            let mut err = Error::from(e);
            if replace {
                err = err.with_hint("add --replace to overwrite it, or choose another --name");
            }
            Failure::failed(err)
        })?;
    if args.json {
        print_json(&json!({"ok": true, "connection": info, "check": check}));
    } else {
        if let Some(summary) = check {
            println!("check: {summary}");
        } else {
            warn("the credentials were stored without a check (--no-check)");
        }
        println!(
            "stored connection {:?}: {} account {}, secrets sealed with key {}",
            info.name, info.connector, account, info.key_id
        );
        for (name, fingerprint) in &info.fingerprints {
            println!("  {name:<16} fingerprint {fingerprint}");
        }
    }
    Ok(())
}

pub(crate) async fn connections(command: args::Connections) -> Outcome {
    let store = stack::store()?;
    match command {
        args::Connections::List(flags) => {
            let all = store.list().await?;
            if flags.json {
                print_json(&all);
            } else if all.is_empty() {
                println!("no connections; add one with `forge connect netsuite`");
            } else {
                for info in all {
                    let account =
                        info.config.get("account_id").and_then(Value::as_str).unwrap_or("?");
                    println!("{:<24} {:<10} {account}", info.name, info.connector);
                }
            }
        }
        args::Connections::Show(target) => {
            let info = store.list().await?.into_iter().find(|i| i.name == target.name).ok_or_else(
                || Failure::failed(forge_store::StoreError::NotFound(target.name.clone())),
            )?;
            if target.json {
                print_json(&info);
            } else {
                println!("{} ({})", info.name, info.connector);
                for (key, value) in &info.config {
                    println!(
                        "  {key:<16} {}",
                        value.as_str().map_or_else(|| value.to_string(), str::to_owned)
                    );
                }
                println!("  {:<16} {}", "sealed with key", info.key_id);
                for (name, fingerprint) in &info.fingerprints {
                    println!("  {name:<16} fingerprint {fingerprint}");
                }
            }
        }
        args::Connections::Remove(target) => {
            store.remove(&target.name).await?;
            if target.json {
                print_json(&json!({"ok": true, "removed": target.name}));
            } else {
                println!("removed connection {:?}", target.name);
            }
        }
    }
    Ok(())
}

pub(crate) async fn verify(args: args::Verify) -> Outcome {
    let record_type = RecordType::new(&args.record_type).map_err(Failure::usage)?;
    let store = stack::store()?;
    let opened = stack::open(&store, &args.name, None).await?;
    let wrong_secret = opened.wrong_secret()?;
    let info = opened.info();
    let options = match &args.fields {
        Some(fields) => ProofOptions::with_fields(record_type, read_fields(fields).await?)
            .map_err(Failure::usage)?,
        None => ProofOptions::for_type(record_type),
    };
    if !args.json {
        println!(
            "Proving connection {:?} ({}) through the guarded, retrying, governed stack",
            info.name, info.connector
        );
    }
    let json = args.json;
    let report = prove_with(&opened.stack, &options, Some(wrong_secret.as_ref()), &mut |step| {
        if !json {
            println!("{step}");
        }
    })
    .await;
    if json {
        print_json(&report);
    } else {
        let summary = report.to_string();
        println!("{}", summary.lines().last().unwrap_or_default());
    }
    if report.passed {
        Ok(())
    } else {
        let failed = report.first_failure().map_or("a step", |s| s.name.as_str()).to_owned();
        Err(Failure::failed(
            Error::new(ErrorKind::VerificationFailed, format!("the proof failed at {failed}"))
                .with_hint("read the failed step and its hint above"),
        ))
    }
}

fn record_key(args: &args::RecordArgs) -> Result<RecordKey, Failure> {
    RecordKey::parse(&args.record_type, &args.external_id).map_err(Failure::usage)
}

/// Warns about writes a crash left unfinished, and refuses to write over a
/// record that has one.
async fn check_journal(opened: &Opened, key: &RecordKey) -> Outcome {
    let unsettled = opened.journal.unsettled().await?;
    if unsettled.is_empty() {
        return Ok(());
    }
    warn(&format!(
        "{} write(s) of {:?} were interrupted and never finished:",
        unsettled.len(),
        opened.info().name
    ));
    for (id, entry) in &unsettled {
        eprintln!("  entry {}: {} {}", id.0, entry.operation, entry.key);
    }
    eprintln!("  run `forge recover {}` to roll them back or confirm them", opened.info().name);
    if unsettled.iter().any(|(_, entry)| &entry.key == key) {
        return Err(Failure::failed(
            Error::new(ErrorKind::Conflict, format!("{key} has an unfinished write from before"))
                .with_hint(format!(
                    "run `forge recover {}` first, so its before-image is not lost",
                    opened.info().name
                )),
        ));
    }
    Ok(())
}

pub(crate) async fn get(args: args::RecordArgs) -> Outcome {
    let key = record_key(&args)?;
    let store = stack::store()?;
    let opened = stack::open(&store, &args.name, None).await?;
    match opened.stack.get(&key, &GetOptions::default()).await.map_err(Failure::failed)? {
        Some(record) => {
            if args.json {
                print_json(&json!({"ok": true, "found": true, "record": record}));
            } else {
                println!("{key} (internal id {})", record.internal_id.as_deref().unwrap_or("?"));
                print_json(&record.fields);
            }
            Ok(())
        }
        None => {
            if args.json {
                print_json(&json!({"ok": true, "found": false}));
            }
            Err(Failure::failed(
                Error::new(ErrorKind::NotFound, format!("there is no {key}"))
                    .with_hint("check the record type and the external id"),
            ))
        }
    }
}

/// Reads `--data`: inline JSON, or `@FILE`.
async fn read_fields(data: &str) -> Result<Fields, Failure> {
    let text = match args::data_path(data) {
        Some(path) => tokio::fs::read_to_string(&path).await.map_err(|e| {
            usage(
                ErrorKind::InvalidInput,
                format!("could not read {}: {e}", path.display()),
                "give a readable file after @",
            )
        })?,
        None => data.to_owned(),
    };
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        usage(
            ErrorKind::InvalidInput,
            format!("--data is not valid JSON: {e}"),
            r#"give an object such as {"companyName": "Acme"}"#,
        )
    })?;
    Fields::from_value(value).map_err(Failure::usage)
}

pub(crate) async fn upsert(args: args::Upsert) -> Outcome {
    if args.file.is_some() {
        return crate::bulk::run(args).await;
    }
    let (Some(external_id), Some(data)) = (&args.external_id, &args.data) else {
        return Err(usage(
            ErrorKind::InvalidInput,
            "give an external id and --data, or --file".into(),
            "see `forge upsert --help`",
        ));
    };
    let key = RecordKey::parse(&args.record_type, external_id).map_err(Failure::usage)?;
    let fields = read_fields(data).await?;
    let store = stack::store()?;
    let opened = stack::open(&store, &args.name, None).await?;
    check_journal(&opened, &key).await?;
    let outcome =
        opened.stack.upsert(&key, &fields, &Default::default()).await.map_err(Failure::failed)?;
    if args.json {
        print_json(&json!({"ok": true, "outcome": outcome, "verified": true}));
    } else {
        println!(
            "wrote and verified {key} (internal id {})",
            outcome.internal_id.as_deref().unwrap_or("?")
        );
    }
    Ok(())
}

pub(crate) async fn delete(args: args::RecordArgs) -> Outcome {
    let key = record_key(&args)?;
    let store = stack::store()?;
    let opened = stack::open(&store, &args.name, None).await?;
    check_journal(&opened, &key).await?;
    let outcome = opened.stack.delete(&key, &Default::default()).await.map_err(Failure::failed)?;
    if args.json {
        print_json(&json!({"ok": true, "outcome": outcome}));
    } else {
        match outcome {
            forge_core::DeleteOutcome::Deleted => println!("deleted {key}; confirmed gone"),
            forge_core::DeleteOutcome::AlreadyAbsent => println!("{key} was already absent"),
        }
    }
    Ok(())
}

pub(crate) async fn recover(args: args::Recover) -> Outcome {
    let store = stack::store()?;
    let opened = stack::open(&store, &args.name, None).await?;
    let recovered = opened.stack.recover().await.map_err(Failure::failed)?;
    let failed = recovered.iter().filter(|r| r.outcome.is_err()).count();
    if args.json {
        print_json(&json!({"ok": failed == 0, "recovered": recovered}));
    } else if recovered.is_empty() {
        println!("nothing to recover: every write of {:?} finished", args.name);
    } else {
        for r in &recovered {
            match &r.outcome {
                Ok(forge_core::Recovered::Completed) => {
                    println!("entry {}: {} had completed; confirmed", r.id.0, r.key)
                }
                Ok(forge_core::Recovered::NotApplied) => {
                    println!("entry {}: {} was never changed; nothing to undo", r.id.0, r.key)
                }
                Ok(forge_core::Recovered::RolledBack(action)) => {
                    println!("entry {}: {} rolled back ({action:?}) and verified", r.id.0, r.key)
                }
                Err(err) => println!("entry {}: {} could not be recovered: {err}", r.id.0, r.key),
            }
        }
    }
    if failed > 0 {
        return Err(Failure::failed(
            Error::new(
                ErrorKind::Unavailable,
                format!("{failed} write(s) could not be recovered yet"),
            )
            .with_hint("fix the cause shown above and run `forge recover` again"),
        ));
    }
    Ok(())
}

pub(crate) fn sign(args: args::Sign) -> Outcome {
    let account = AccountId::parse(&args.account_id).map_err(Failure::usage)?;
    let url = url_parse(&args.url)?;
    let nonce = match args.nonce {
        Some(nonce) => {
            tba::validate_nonce(&nonce).map_err(Failure::usage)?;
            nonce
        }
        None => tba::nonce()?,
    };
    let timestamp = args.timestamp.unwrap_or_else(tba::timestamp);
    let [ck, cs, tk, ts] = secrets::read(Source::Env)?;
    let credentials = Credentials::new(ck, cs, tk, ts);
    let method = args.method.to_ascii_uppercase();
    let signed = tba::sign(&SignInput {
        method: &method,
        url: &url,
        realm: account.realm(),
        credentials: &credentials,
        nonce: &nonce,
        timestamp,
    });
    if args.json {
        print_json(&json!({
            "base_string": signed.base_string,
            "signature": signed.signature,
            "authorization": signed.authorization,
            "realm": account.realm(),
            "nonce": nonce,
            "timestamp": timestamp,
        }));
    } else {
        println!("realm:          {}", account.realm());
        println!("base string:    {}", signed.base_string);
        println!("signature:      {}", signed.signature);
        println!("Authorization:  {}", signed.authorization);
        if std::io::stdout().is_terminal() {
            eprintln!(
                "(the base string and header contain the consumer key and token id, never the two secrets)"
            );
        }
    }
    Ok(())
}

fn url_parse(url: &str) -> Result<forge_netsuite::client::Url, Failure> {
    forge_netsuite::client::Url::parse(url).map_err(|e| {
        usage(
            ErrorKind::InvalidInput,
            format!("invalid URL {url:?}: {e}"),
            "give the full URL, https://… with its query",
        )
    })
}

pub(crate) async fn rotate_key(flags: args::JsonFlag) -> Outcome {
    let store = stack::store()?;
    let report = store.rotate().await?;
    if flags.json {
        print_json(&report);
    } else {
        println!("re-sealed {} connection(s) under key {}", report.rewritten, report.key_id);
        if !report.retired.is_empty() {
            println!("retired key(s): {}", report.retired.join(", "));
        }
        println!("{}", report.note);
    }
    Ok(())
}
