//! `forge sim netsuite`: the simulator in the foreground, for demos and for
//! trying Forge without a NetSuite account.

use std::collections::BTreeSet;
use std::io::Write;
use std::time::Duration;

use forge_core::{Error, ErrorKind};
use forge_netsuite_sim::{SimConfig, SimFaults, SimSecrets, Simulator};

use crate::args::SimNetsuite;
use crate::output::{Failure, Outcome};
use crate::secrets::NETSUITE;

pub(crate) async fn netsuite(args: SimNetsuite) -> Outcome {
    let from_env: Vec<Option<String>> =
        NETSUITE.iter().map(|(_, var, _)| std::env::var(var).ok()).collect();
    let generated = from_env.iter().all(Option::is_none);
    let secrets = if generated {
        SimSecrets::random()
    } else if let [Some(ck), Some(cs), Some(tk), Some(ts)] = &from_env[..] {
        SimSecrets {
            consumer_key: ck.trim().into(),
            consumer_secret: cs.trim().into(),
            token_id: tk.trim().into(),
            token_secret: ts.trim().into(),
        }
    } else {
        return Err(Failure::usage(
            Error::new(ErrorKind::ConfigInvalid, "only some of the NETSUITE_* secrets are set")
                .with_hint("set all four, or none to have throwaway ones generated"),
        ));
    };
    for (name, rate) in [
        ("--p429", args.p429),
        ("--p503", args.p503),
        ("--pdrop", args.pdrop),
        ("--plost", args.plost),
    ] {
        if !(0.0..=1.0).contains(&rate) {
            return Err(Failure::usage(Error::new(
                ErrorKind::InvalidInput,
                format!("{name} {rate} is not a share between 0 and 1"),
            )));
        }
    }
    let faults = SimFaults {
        seed: args.seed,
        latency: Duration::from_millis(args.latency_ms),
        latency_jitter: Duration::from_millis(args.jitter_ms),
        concurrency_limit: args.concurrency_limit,
        p429: args.p429,
        p503: args.p503,
        pdrop: args.pdrop,
        plost: args.plost,
        corrupt_field: args.corrupt,
        deny: args.deny.into_iter().collect::<BTreeSet<_>>(),
    };
    let config = SimConfig {
        account_id: args.account_id,
        secrets,
        faults,
        port: args.port,
        ..SimConfig::default()
    };
    let sim = Simulator::start(config).await.map_err(|e| {
        Failure::usage(
            Error::new(
                ErrorKind::ConfigInvalid,
                format!("could not listen on port {}: {e}", args.port),
            )
            .with_hint("choose another --port, or 0 for any free one"),
        )
    })?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", sim.base_url());
    if generated {
        let secrets = sim.secrets();
        for ((_, var, _), value) in NETSUITE.iter().zip(secrets) {
            let _ = writeln!(out, "export {var}={value}");
        }
    }
    let _ = out.flush();
    drop(out);
    eprintln!(
        "NetSuite simulator for account {} (realm {}) at {}{}; Ctrl-C stops it",
        sim.account_id(),
        sim.realm(),
        sim.base_url(),
        if generated {
            ", with the throwaway secrets above"
        } else {
            ", with the secrets from NETSUITE_*"
        }
    );
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("served {} request(s); stopping", sim.requests());
    sim.stop().await;
    Ok(())
}
