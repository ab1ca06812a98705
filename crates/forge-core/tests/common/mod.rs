//! A scriptable connector over `Memory` for the layer tests: queued failures,
//! one-shot corruption, a gate that holds calls in flight, and counters.

#![allow(dead_code, unreachable_pub)]

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;
use forge_core::{
    Capabilities, CheckReport, Connector, DeleteOptions, DeleteOutcome, Descriptor, Error,
    ErrorKind, Fields, GetOptions, Memory, Operation, Record, RecordKey, Result, UpsertOptions,
    WriteOutcome,
};
use serde_json::Value;
use tokio::sync::{Semaphore, watch};

/// A failure to inject: how many calls to let pass first, and the error.
type Planned = (usize, Box<dyn FnOnce() -> Error + Send>);

/// A `Memory` ERP whose next calls can be scripted to fail or misbehave.
pub struct Scripted {
    pub memory: Memory,
    failures: Mutex<HashMap<Operation, VecDeque<Planned>>>,
    corrupt_next: Mutex<Option<(String, Value)>>,
    lose_next_write: AtomicBool,
    pub ignore_deletes: AtomicBool,
    calls: Mutex<HashMap<Operation, usize>>,
    gate: Option<Semaphore>,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
    in_flight_tx: watch::Sender<usize>,
}

impl Default for Scripted {
    fn default() -> Self {
        Self::build(None)
    }
}

impl Scripted {
    /// Every call waits for a permit of the gate, which starts closed.
    pub fn gated() -> Self {
        Self::build(Some(Semaphore::new(0)))
    }

    fn build(gate: Option<Semaphore>) -> Self {
        Self {
            memory: Memory::default(),
            failures: Mutex::default(),
            corrupt_next: Mutex::default(),
            lose_next_write: AtomicBool::new(false),
            ignore_deletes: AtomicBool::new(false),
            calls: Mutex::default(),
            gate,
            in_flight: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            in_flight_tx: watch::Sender::new(0),
        }
    }

    /// Lets `n` more gated calls through.
    pub fn open_gate(&self, n: usize) {
        self.gate.as_ref().expect("not gated").add_permits(n);
    }

    /// Watches the number of calls in flight.
    pub fn in_flight(&self) -> watch::Receiver<usize> {
        self.in_flight_tx.subscribe()
    }

    /// The next call of `op` fails with what `make` builds.
    pub fn fail_next(&self, op: Operation, make: impl FnOnce() -> Error + Send + 'static) {
        self.fail_after(op, 0, make);
    }

    /// After `passes` more calls of `op` succeed, the next one fails with
    /// what `make` builds.
    pub fn fail_after(
        &self,
        op: Operation,
        passes: usize,
        make: impl FnOnce() -> Error + Send + 'static,
    ) {
        self.failures.lock().unwrap().entry(op).or_default().push_back((passes, Box::new(make)));
    }

    /// The next `n` calls of `op` fail with `kind`.
    pub fn fail_times(&self, op: Operation, n: usize, kind: ErrorKind) {
        for _ in 0..n {
            self.fail_next(op, move || Error::new(kind, format!("scripted {kind}")));
        }
    }

    /// The next upsert stores `value` in `field` (if written) instead.
    pub fn corrupt_next_upsert(&self, field: &str, value: Value) {
        *self.corrupt_next.lock().unwrap() = Some((field.to_owned(), value));
    }

    /// The next upsert is applied, then reported as failed.
    pub fn lose_next_write(&self) {
        self.lose_next_write.store(true, Ordering::SeqCst);
    }

    /// The most calls that were ever in flight here at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    /// How many times `op` was called.
    pub fn calls(&self, op: Operation) -> usize {
        self.calls.lock().unwrap().get(&op).copied().unwrap_or(0)
    }

    async fn enter(&self, op: Operation) -> Result<()> {
        *self.calls.lock().unwrap().entry(op).or_default() += 1;
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        self.in_flight_tx.send_replace(now);
        if let Some(gate) = &self.gate {
            gate.acquire().await.expect("gate closed").forget();
        }
        let failure = {
            let mut failures = self.failures.lock().unwrap();
            let queue = failures.entry(op).or_default();
            match queue.front_mut() {
                Some((passes, _)) if *passes > 0 => {
                    *passes -= 1;
                    None
                }
                Some(_) => queue.pop_front().map(|(_, make)| make),
                None => None,
            }
        };
        match failure {
            Some(make) => {
                self.leave();
                Err(make())
            }
            None => Ok(()),
        }
    }

    fn leave(&self) {
        let now = self.in_flight.fetch_sub(1, Ordering::SeqCst) - 1;
        self.in_flight_tx.send_replace(now);
    }
}

#[async_trait]
impl Connector for Scripted {
    fn descriptor(&self) -> &Descriptor {
        self.memory.descriptor()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::all()
    }

    async fn check(&self) -> Result<CheckReport> {
        self.enter(Operation::Check).await?;
        let result = self.memory.check().await;
        self.leave();
        result
    }

    async fn get(&self, key: &RecordKey, opts: &GetOptions) -> Result<Option<Record>> {
        self.enter(Operation::Get).await?;
        let result = self.memory.get(key, opts).await;
        self.leave();
        result
    }

    async fn upsert(
        &self,
        key: &RecordKey,
        fields: &Fields,
        opts: &UpsertOptions,
    ) -> Result<WriteOutcome> {
        self.enter(Operation::Upsert).await?;
        let mut fields = fields.clone();
        let corruption = self.corrupt_next.lock().unwrap().take();
        if let Some((field, value)) = corruption
            && fields.get(&field).is_some()
        {
            fields.insert(field, value);
        }
        let result = self.memory.upsert(key, &fields, opts).await;
        self.leave();
        if self.lose_next_write.swap(false, Ordering::SeqCst) {
            return Err(Error::new(ErrorKind::Unavailable, "scripted lost response"));
        }
        result
    }

    async fn delete(&self, key: &RecordKey, opts: &DeleteOptions) -> Result<DeleteOutcome> {
        self.enter(Operation::Delete).await?;
        let result = if self.ignore_deletes.load(Ordering::SeqCst) {
            Ok(DeleteOutcome::Deleted)
        } else {
            self.memory.delete(key, opts).await
        };
        self.leave();
        result
    }
}

pub fn key(id: &str) -> RecordKey {
    RecordKey::parse("customer", id).unwrap()
}

pub fn fields(value: Value) -> Fields {
    Fields::from_value(value).unwrap()
}
