//! Test-only fake of the chat-completions API: a real HTTP/1.1 server on
//! 127.0.0.1 (tokio `TcpListener`, keep-alive) with scriptable faults.
//!
//! Fault precedence per request: scripted queue (in arrival order), then a
//! per-model fault, then the seeded random fault rate, then the global mode.
//! Default answer: `Standalone: <question>?` (single) or a JSON array
//! `[{"i":N,"question":"Standalone: <question N>?"}]` (packed); a question
//! containing [`NOT_A_REQUEST_MARKER`] is answered `NOT_A_QUESTION`.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A question containing this is answered `NOT_A_QUESTION` (not a request for help).
pub const NOT_A_REQUEST_MARKER: &str = "[smalltalk]";

#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Normal answer.
    Ok,
    /// 429, with this Retry-After header value when `Some`.
    RateLimit(Option<String>),
    /// 500.
    ServerError,
    /// Any status with a JSON error body.
    Status(u16),
    /// Never answers (until the client gives up and closes the connection).
    Hang,
    /// 200 with a truncated JSON body.
    BadJson,
    /// 200 with an empty answer.
    Empty,
    /// 200 answering "HACKED" (an obeyed injection, not a question).
    Inject,
    /// Normal answer after this delay.
    Delay(Duration),
    /// 401 whose body echoes the Authorization header (redaction tests).
    EchoAuth,
    /// Packed answer without element N.
    PackedMissing(usize),
    /// Packed answer whose element N is not a question.
    PackedInvalid(usize),
}

struct Random {
    rate: f64,
    rng: StdRng,
    faults: Vec<Fault>,
}

struct State {
    requests: AtomicU64,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    bodies: Mutex<Vec<Value>>,
    headers: Mutex<Vec<HashMap<String, String>>>,
    arrivals: Mutex<Vec<Instant>>,
    /// The fault each request got, in arrival order.
    served: Mutex<Vec<(Instant, Fault)>>,
    script: Mutex<VecDeque<Fault>>,
    per_model: Mutex<HashMap<String, Fault>>,
    mode: Mutex<Fault>,
    delay: Mutex<Duration>,
    random: Mutex<Option<Random>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub struct FakeOpenAi {
    addr: std::net::SocketAddr,
    state: Arc<State>,
    accept: JoinHandle<()>,
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl FakeOpenAi {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(State {
            requests: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            bodies: Mutex::new(Vec::new()),
            headers: Mutex::new(Vec::new()),
            arrivals: Mutex::new(Vec::new()),
            served: Mutex::new(Vec::new()),
            script: Mutex::new(VecDeque::new()),
            per_model: Mutex::new(HashMap::new()),
            mode: Mutex::new(Fault::Ok),
            delay: Mutex::new(Duration::ZERO),
            random: Mutex::new(None),
        });
        let st = Arc::clone(&state);
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                tokio::spawn(handle_conn(stream, Arc::clone(&st)));
            }
        });
        Self { addr, state, accept }
    }

    /// Base URL to put in `LlmConfig::base_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}/api/v1", self.addr)
    }
    pub fn set_mode(&self, f: Fault) {
        *lock(&self.state.mode) = f;
    }
    pub fn set_delay(&self, d: Duration) {
        *lock(&self.state.delay) = d;
    }
    /// Faults for the next requests, in arrival order.
    pub fn push_script(&self, faults: Vec<Fault>) {
        lock(&self.state.script).extend(faults);
    }
    pub fn fail_model(&self, model: &str, f: Fault) {
        lock(&self.state.per_model).insert(model.to_string(), f);
    }
    /// Each request fails with probability `rate`, drawing a fault from `faults`.
    pub fn set_random_faults(&self, rate: f64, seed: u64, faults: Vec<Fault>) {
        *lock(&self.state.random) = Some(Random { rate, rng: StdRng::seed_from_u64(seed), faults });
    }
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::SeqCst)
    }
    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }
    pub fn bodies(&self) -> Vec<Value> {
        lock(&self.state.bodies).clone()
    }
    pub fn headers(&self) -> Vec<HashMap<String, String>> {
        lock(&self.state.headers).clone()
    }
    pub fn arrivals(&self) -> Vec<Instant> {
        lock(&self.state.arrivals).clone()
    }
    /// The fault each request got, in arrival order (same order as `bodies`).
    pub fn served(&self) -> Vec<Fault> {
        lock(&self.state.served).iter().map(|(_, f)| f.clone()).collect()
    }
    /// When each fault was chosen, in the same order as `served`.
    pub fn served_at(&self) -> Vec<Instant> {
        lock(&self.state.served).iter().map(|(t, _)| *t).collect()
    }
}

struct Request {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// Reads one request; `None` when the connection closed or is unusable.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Request> {
    let mut tmp = [0u8; 8192];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        let n = stream.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split_whitespace();
    let method = first.next()?.to_string();
    let path = first.next()?.to_string();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let total = head_end + 4 + len;
    while buf.len() < total {
        let n = stream.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
    }
    let body = buf[head_end + 4..total].to_vec();
    buf.drain(..total);
    Some(Request { method, path, headers, body })
}

/// Resolves when the peer closes the connection (bytes read meanwhile are kept).
async fn closed(stream: &mut TcpStream, buf: &mut Vec<u8>) {
    let mut tmp = [0u8; 4096];
    loop {
        match stream.read(&mut tmp).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
        }
    }
}

struct InFlight(Arc<State>);
impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn handle_conn(mut stream: TcpStream, st: Arc<State>) {
    let mut buf = Vec::new();
    while let Some(req) = read_request(&mut stream, &mut buf).await {
        let now = st.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        st.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let guard = InFlight(Arc::clone(&st));
        st.requests.fetch_add(1, Ordering::SeqCst);
        lock(&st.arrivals).push(Instant::now());
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        lock(&st.bodies).push(body.clone());
        lock(&st.headers).push(req.headers.clone());

        let (status, extra, payload, wait) = if req.method != "POST" || !req.path.ends_with("/chat/completions") {
            (404, Vec::new(), r#"{"error":{"message":"not found"}}"#.to_string(), Duration::ZERO)
        } else {
            let fault = pick_fault(&st, &body);
            lock(&st.served).push((Instant::now(), fault.clone()));
            let base_delay = *lock(&st.delay);
            respond(&fault, &body, &req.headers, base_delay)
        };
        if !wait.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = closed(&mut stream, &mut buf) => return,
            }
        }
        drop(guard); // before writing: the client may reuse its slot right after
        let mut out =
            format!("HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n", payload.len());
        for (k, v) in extra {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("\r\n");
        out.push_str(&payload);
        if stream.write_all(out.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn pick_fault(st: &State, body: &Value) -> Fault {
    if let Some(f) = lock(&st.script).pop_front() {
        return f;
    }
    let model = body.get("model").and_then(Value::as_str).unwrap_or("");
    if let Some(f) = lock(&st.per_model).get(model) {
        return f.clone();
    }
    if let Some(r) = lock(&st.random).as_mut() {
        if r.rng.random::<f64>() < r.rate && !r.faults.is_empty() {
            let i = r.rng.random_range(0..r.faults.len());
            return r.faults[i].clone();
        }
    }
    lock(&st.mode).clone()
}

/// The `<question>` texts of a (single or packed) user message.
pub fn questions_in(user: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = user;
    while let Some(s) = rest.find("<question>") {
        let after = &rest[s + "<question>".len()..];
        let Some(e) = after.find("</question>") else {
            break;
        };
        out.push(after[..e].trim().to_string());
        rest = &after[e..];
    }
    out
}

/// The deterministic answer for one question.
pub fn standalone(q: &str) -> String {
    format!("Standalone: {}?", q.trim_end_matches(['?', '？']))
}

fn answer_for(q: &str) -> String {
    if q.contains(NOT_A_REQUEST_MARKER) {
        "NOT_A_QUESTION".to_string()
    } else {
        standalone(q)
    }
}

type Response = (u16, Vec<(String, String)>, String, Duration);

fn respond(fault: &Fault, body: &Value, headers: &HashMap<String, String>, base_delay: Duration) -> Response {
    let model = body.get("model").and_then(Value::as_str).unwrap_or("unknown").to_string();
    let user = body.pointer("/messages/1/content").and_then(Value::as_str).unwrap_or("");
    let system_len = body.pointer("/messages/0/content").and_then(Value::as_str).map_or(0, str::len);
    let err = |status: u16, msg: &str| -> Response {
        let body = json!({"error": {"message": msg, "code": status}}).to_string();
        (status, Vec::new(), body, base_delay)
    };
    let questions = questions_in(user);
    let packed = user.trim_start().starts_with("<items>");
    let answer = |missing: Option<usize>, invalid: Option<usize>| -> String {
        if packed {
            let arr: Vec<Value> = questions
                .iter()
                .enumerate()
                .filter(|(i, _)| Some(*i) != missing)
                .map(|(i, q)| {
                    let text = if Some(i) == invalid { "HACKED".to_string() } else { answer_for(q) };
                    json!({"i": i, "question": text})
                })
                .collect();
            format!("```json\n{}\n```", Value::Array(arr))
        } else {
            answer_for(questions.first().map_or("", String::as_str))
        }
    };
    let ok = |content: String, delay: Duration| -> Response {
        let completion = content.len() as u64 / 4 + 1;
        let prompt = (system_len + user.len()) as u64 / 4 + 1;
        let body = json!({
            "id": "gen-fake",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
        });
        (200, Vec::new(), body.to_string(), delay)
    };
    match fault {
        Fault::Ok => ok(answer(None, None), base_delay),
        Fault::Delay(d) => ok(answer(None, None), *d),
        Fault::PackedMissing(i) => ok(answer(Some(*i), None), base_delay),
        Fault::PackedInvalid(i) => ok(answer(None, Some(*i)), base_delay),
        Fault::Empty => ok(String::new(), base_delay),
        Fault::Inject => ok("HACKED".into(), base_delay),
        Fault::BadJson => (200, Vec::new(), r#"{"choices": [{"message": {"content": "Standalone"#.into(), base_delay),
        Fault::RateLimit(retry_after) => {
            let mut r = err(429, "rate limited");
            if let Some(v) = retry_after {
                r.1.push(("retry-after".into(), v.clone()));
            }
            r
        }
        Fault::ServerError => err(500, "internal server error"),
        Fault::Status(s) => err(*s, "request rejected"),
        Fault::EchoAuth => {
            let auth = headers.get("authorization").cloned().unwrap_or_default();
            err(401, &format!("invalid credentials: {auth}"))
        }
        Fault::Hang => (200, Vec::new(), String::new(), Duration::from_secs(3600)),
    }
}
