//! The simulator's HTTP side: an accept loop on loopback serving one axum
//! handler, which authenticates every request, applies the account's
//! concurrency limit and the configured faults, then the record service.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use forge_core::rng::SplitMix64;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt;

use crate::auth::{self, AuthFailure, NonceCache, Received};
use crate::config::{SimConfig, realm_of};
use crate::records::{self, RecordRef, Reply, SimRecord, Store, WriteRules};

/// The path prefix of the REST record service.
const RECORD_PREFIX: &str = "/services/rest/record/v1/";
/// The largest request body accepted.
const MAX_BODY: usize = 10 << 20;

/// Starts simulators.
#[derive(Debug)]
pub struct Simulator;

impl Simulator {
    /// Binds `127.0.0.1` (port `config.port`, 0 for any free one) and serves
    /// until the handle is stopped or dropped.
    pub async fn start(config: SimConfig) -> std::io::Result<SimHandle> {
        let listener = TcpListener::bind(("127.0.0.1", config.port)).await?;
        let base_url = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
        let state = Arc::new(Shared {
            realm: realm_of(&config.account_id),
            base_url: base_url.clone(),
            clock_offset: AtomicI64::new(config.clock_offset_secs),
            rng: Mutex::new(SplitMix64::new(config.faults.seed)),
            nonces: Mutex::default(),
            store: Mutex::default(),
            stats: Mutex::default(),
            in_flight: AtomicUsize::new(0),
            serving: AtomicUsize::new(0),
            waiting_at_hold: AtomicUsize::new(0),
            held: watch::Sender::new(Hold::Nothing),
            changed: watch::Sender::new(0),
            config,
        });
        let router = Router::new().fallback(handle).with_state(Arc::clone(&state));
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(serve(listener, router, stopped));
        Ok(SimHandle { base_url, state, stop: Some(stop), task: Some(task) })
    }
}

/// Accepts connections until told to stop, then closes them all.
async fn serve(listener: TcpListener, router: Router, mut stopped: oneshot::Receiver<()>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    tokio::task::yield_now().await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let router = router.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                        let router = router.clone();
                        async move {
                            let response = match router.oneshot(request).await {
                                Ok(response) => response,
                                Err(never) => match never {},
                            };
                            match response.extensions().get::<DropConnection>() {
                                Some(_) => Err(DropConnection),
                                None => Ok(response),
                            }
                        }
                    });
                    let connection = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service);
                    let _ = connection.await;
                });
            }
        }
        while connections.try_join_next().is_some() {}
    }
    connections.shutdown().await;
}

/// Marks a response whose connection is to be dropped instead of answered.
#[derive(Debug, Clone, Copy)]
struct DropConnection;

impl fmt::Display for DropConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped on purpose (simulated fault)")
    }
}

impl std::error::Error for DropConnection {}

/// Which requests are held in flight (for tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hold {
    Nothing,
    Everything,
    Writes,
}

impl Hold {
    fn holds(self, method: &Method) -> bool {
        match self {
            Hold::Nothing => false,
            Hold::Everything => true,
            Hold::Writes => method != Method::GET,
        }
    }
}

/// What the simulator has seen.
#[derive(Debug, Default)]
struct Stats {
    requests: u64,
    statuses: BTreeMap<u16, u64>,
    dropped: u64,
    auth_failures: Vec<AuthFailure>,
    peak_in_flight: usize,
    peak_serving: usize,
}

struct Shared {
    config: SimConfig,
    realm: String,
    base_url: String,
    clock_offset: AtomicI64,
    rng: Mutex<SplitMix64>,
    nonces: Mutex<NonceCache>,
    store: Mutex<Store>,
    stats: Mutex<Stats>,
    in_flight: AtomicUsize,
    serving: AtomicUsize,
    waiting_at_hold: AtomicUsize,
    held: watch::Sender<Hold>,
    changed: watch::Sender<u64>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Decrements a counter when a request leaves.
struct Leave<'a>(&'a AtomicUsize, &'a watch::Sender<u64>);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
        self.1.send_modify(|n| *n += 1);
    }
}

impl Shared {
    fn now(&self) -> i64 {
        let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        i64::try_from(secs).unwrap_or(i64::MAX) + self.clock_offset.load(Ordering::SeqCst)
    }

    fn touch(&self) {
        self.changed.send_modify(|n| *n += 1);
    }

    fn enter(&self) -> Leave<'_> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        let mut stats = lock(&self.stats);
        stats.requests += 1;
        stats.peak_in_flight = stats.peak_in_flight.max(now);
        drop(stats);
        self.touch();
        Leave(&self.in_flight, &self.changed)
    }

    /// A concurrency slot, or `None` when the account's limit is reached.
    fn take_slot(&self) -> Option<Leave<'_>> {
        let now = self.serving.fetch_add(1, Ordering::SeqCst) + 1;
        if self.config.faults.concurrency_limit.is_some_and(|limit| now > limit) {
            self.serving.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        let mut stats = lock(&self.stats);
        stats.peak_serving = stats.peak_serving.max(now);
        drop(stats);
        self.touch();
        Some(Leave(&self.serving, &self.changed))
    }

    fn roll(&self) -> f64 {
        lock(&self.rng).next_f64()
    }

    fn latency(&self) -> Duration {
        let faults = &self.config.faults;
        let jitter_ms = u64::try_from(faults.latency_jitter.as_millis()).unwrap_or(u64::MAX);
        let extra = if jitter_ms == 0 { 0 } else { lock(&self.rng).up_to(jitter_ms) };
        faults.latency + Duration::from_millis(extra)
    }

    fn record(&self, response: &Response) {
        let mut stats = lock(&self.stats);
        if response.extensions().get::<DropConnection>().is_some() {
            stats.dropped += 1;
        } else {
            *stats.statuses.entry(response.status().as_u16()).or_default() += 1;
        }
        drop(stats);
        self.touch();
    }
}

fn json_reply(reply: Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match reply.body {
        Some(body) => {
            (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
        }
        None => status.into_response(),
    };
    if let Some(location) = reply.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

fn dropped() -> Response {
    let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    response.extensions_mut().insert(DropConnection);
    response
}

async fn handle(State(state): State<Arc<Shared>>, request: Request) -> Response {
    let _inside = state.enter();
    let mut response = judge(&state, request).await;
    // The Date header tells the simulator's (injectable) clock, as NetSuite's
    // tells NetSuite's: clients use it to diagnose clock skew.
    let now = UNIX_EPOCH + Duration::from_secs(u64::try_from(state.now()).unwrap_or(0));
    if let Ok(date) = HeaderValue::from_str(&httpdate::fmt_http_date(now)) {
        response.headers_mut().insert(header::DATE, date);
    }
    state.record(&response);
    response
}

async fn judge(state: &Shared, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let text = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let received = Received {
        method: parts.method.as_str(),
        scheme: "http",
        host: text(header::HOST.as_str()).unwrap_or_default(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        authorization: text(header::AUTHORIZATION.as_str()),
    };
    let verdict = auth::verify(
        &received,
        &state.realm,
        &state.config.secrets,
        state.now(),
        &mut lock(&state.nonces),
    );
    if let Err(failure) = verdict {
        lock(&state.stats).auth_failures.push(failure);
        return json_reply(Reply {
            status: 401,
            location: None,
            body: Some(auth::invalid_login_body()),
        });
    }

    // Random rejections come at once, before a concurrency slot, as
    // NetSuite's gateway and concurrency gate answer.
    let faults = &state.config.faults;
    let draw = state.roll();
    if draw < faults.p429 {
        return json_reply(too_many());
    }
    if draw < faults.p429 + faults.p503 {
        return maintenance();
    }
    if draw < faults.p429 + faults.p503 + faults.pdrop {
        return dropped();
    }
    let Some(_slot) = state.take_slot() else {
        return json_reply(too_many());
    };
    let latency = state.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if state.held.borrow().holds(&parts.method) {
        state.waiting_at_hold.fetch_add(1, Ordering::SeqCst);
        state.touch();
        let _waiting = Leave(&state.waiting_at_hold, &state.changed);
        let mut held = state.held.subscribe();
        let _ = held.wait_for(|hold| !hold.holds(&parts.method)).await;
    }

    let Ok(bytes) = axum::body::to_bytes(Body::new(body), MAX_BODY).await else {
        return json_reply(records::error(
            400,
            "INVALID_CONTENT",
            "The request body could not be read.",
            None,
        ));
    };
    let validate =
        text("x-netsuite-propertynamevalidation").is_some_and(|v| v.eq_ignore_ascii_case("error"));
    let is_write =
        matches!(parts.method, Method::PUT | Method::POST | Method::PATCH | Method::DELETE);
    let reply = route(state, &parts.method, parts.uri.path(), parts.uri.query(), &bytes, validate);
    if is_write && reply.status < 300 && faults.plost > 0.0 && state.roll() < faults.plost {
        return dropped();
    }
    json_reply(reply)
}

fn too_many() -> Reply {
    let mut reply = records::error(
        429,
        "CONCURRENCY_LIMIT_EXCEEDED",
        "Concurrent request limit exceeded. Request blocked.",
        None,
    );
    if let Some(Value::Object(body)) = &mut reply.body {
        body.insert("title".into(), json!("Bad Request"));
        body.insert("o:errorCode".into(), json!("USER_ERROR"));
    }
    reply
}

fn maintenance() -> Response {
    let page = "<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head>\
                <body><h1>NetSuite is undergoing scheduled maintenance</h1></body></html>";
    (StatusCode::SERVICE_UNAVAILABLE, [(header::CONTENT_TYPE, "text/html")], page).into_response()
}

/// Dispatches an authenticated request to the record service.
fn route(
    state: &Shared,
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: &[u8],
    validate: bool,
) -> Reply {
    let not_found = || {
        records::error(404, "INVALID_REQUEST", &format!("There is no resource at {path}."), None)
    };
    let Some(rest) = path.strip_prefix(RECORD_PREFIX) else { return not_found() };
    if rest.trim_end_matches('/') == "metadata-catalog" {
        if method != Method::GET {
            return records::error(405, "INVALID_REQUEST", "Only GET is supported here.", None);
        }
        let items: Vec<Value> = state
            .config
            .declared_fields
            .keys()
            .map(|t| json!({"name": t, "links": [{"rel": "canonical", "href": format!("{}{RECORD_PREFIX}{t}", state.base_url)}]}))
            .collect();
        return Reply { status: 200, location: None, body: Some(json!({"items": items})) };
    }
    let mut segments = rest.split('/');
    let record_type = segments.next().unwrap_or_default();
    let reference = segments.next();
    if segments.next().is_some()
        || record_type.is_empty()
        || !record_type.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return not_found();
    }
    if state.config.faults.deny.contains(record_type) {
        return records::error(
            403,
            "INSUFFICIENT_PERMISSION",
            &format!(
                "Permission Violation: You need a permission for the '{record_type}' record type to access this page. Contact your account administrator."
            ),
            None,
        );
    }
    let rules = WriteRules {
        validate_names: validate,
        declared: state.config.declared_fields.get(record_type),
        corrupt_field: state.config.faults.corrupt_field.as_deref(),
    };
    let base = &state.base_url;
    let mut store = lock(&state.store);
    let Some(reference) = reference else {
        return match *method {
            Method::POST => store.create(base, record_type, body, &rules),
            _ => records::error(
                405,
                "INVALID_REQUEST",
                "Only POST is supported on a record type.",
                None,
            ),
        };
    };
    let Some(reference) = auth::decode(reference).as_deref().and_then(RecordRef::parse) else {
        return records::error(
            404,
            "NONEXISTENT_ID",
            "The record instance does not exist. Provide a valid record instance ID.",
            None,
        );
    };
    match *method {
        Method::GET => {
            let fields: Option<Vec<String>> = query.and_then(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .find(|(name, _)| name == "fields")
                    .map(|(_, list)| list.split(',').map(str::to_owned).collect())
            });
            store.get(base, record_type, &reference, fields.as_deref())
        }
        Method::PUT => store.upsert(base, record_type, &reference, body, &rules),
        Method::PATCH => store.update(record_type, &reference, body, &rules),
        Method::DELETE => store.delete(record_type, &reference),
        _ => records::error(405, "INVALID_REQUEST", "Method not supported.", None),
    }
}

/// A running simulator. Dropping it stops the server and closes its
/// connections; [`SimHandle::stop`] does the same and waits for it.
pub struct SimHandle {
    base_url: String,
    state: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimHandle")
            .field("base_url", &self.base_url)
            .field("realm", &self.state.realm)
            .finish_non_exhaustive()
    }
}

impl SimHandle {
    /// Where it listens: `http://127.0.0.1:PORT`, no trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The account id as configured.
    pub fn account_id(&self) -> &str {
        &self.state.config.account_id
    }

    /// The realm it accepts (`1234567_SB1`).
    pub fn realm(&self) -> &str {
        &self.state.realm
    }

    /// The secrets it accepts: consumer key, consumer secret, token id,
    /// token secret.
    pub fn secrets(&self) -> [String; 4] {
        self.state.config.secrets.to_array()
    }

    /// The records of one type, by internal id.
    pub fn records(&self, record_type: &str) -> Vec<SimRecord> {
        lock(&self.state.store).records(record_type)
    }

    /// One record by external id.
    pub fn record(&self, record_type: &str, external_id: &str) -> Option<SimRecord> {
        lock(&self.state.store).by_external_id(record_type, external_id)
    }

    /// Why each refused login was refused, in order (NetSuite's Login Audit
    /// Trail).
    pub fn auth_failures(&self) -> Vec<AuthFailure> {
        lock(&self.state.stats).auth_failures.clone()
    }

    /// Answers sent, by HTTP status.
    pub fn status_counts(&self) -> BTreeMap<u16, u64> {
        lock(&self.state.stats).statuses.clone()
    }

    /// Connections dropped on purpose (dropped and lost-response faults).
    pub fn dropped(&self) -> u64 {
        lock(&self.state.stats).dropped
    }

    /// Requests received.
    pub fn requests(&self) -> u64 {
        lock(&self.state.stats).requests
    }

    /// The most requests that were inside the simulator at once.
    pub fn peak_in_flight(&self) -> usize {
        lock(&self.state.stats).peak_in_flight
    }

    /// The most authenticated requests served at once (those holding a
    /// slot of the account's concurrency limit).
    pub fn peak_serving(&self) -> usize {
        lock(&self.state.stats).peak_serving
    }

    /// Authenticated requests being served now.
    pub fn serving(&self) -> usize {
        self.state.serving.load(Ordering::SeqCst)
    }

    /// Requests waiting at the hold gate now.
    pub fn held(&self) -> usize {
        self.state.waiting_at_hold.load(Ordering::SeqCst)
    }

    /// Moves the simulator's clock to the machine's clock plus `secs`.
    pub fn set_clock_offset(&self, secs: i64) {
        self.state.clock_offset.store(secs, Ordering::SeqCst);
    }

    /// Holds authenticated requests, once they have a concurrency slot,
    /// until [`SimHandle::release`]: for tests that need requests in flight
    /// at the same moment.
    pub fn hold(&self) {
        self.state.held.send_replace(Hold::Everything);
    }

    /// Like [`SimHandle::hold`], but holds only writes (every method but
    /// `GET`): a write can be caught in flight after its reads went through.
    pub fn hold_writes(&self) {
        self.state.held.send_replace(Hold::Writes);
    }

    /// Lets held requests go on.
    pub fn release(&self) {
        self.state.held.send_replace(Hold::Nothing);
    }

    /// Waits until `condition` holds, re-checking whenever a request
    /// arrives, takes a slot, or is answered. For tests: no sleeping.
    pub async fn wait_until(&self, condition: impl Fn(&SimHandle) -> bool) {
        let mut changes = self.state.changed.subscribe();
        while !condition(self) {
            if changes.changed().await.is_err() {
                return;
            }
        }
    }

    /// Stops serving and waits until every connection is closed.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
