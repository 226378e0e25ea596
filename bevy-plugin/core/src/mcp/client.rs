//! A blocking MCP client over any byte stream pair (a child's stdout/stdin in production,
//! pipes in tests). One reader thread dispatches responses to waiting callers, routes
//! `notifications/progress` by token, answers the server's `ping`, and refuses other
//! server-to-client requests with -32601 (we declare no client capabilities).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TrySendError};
use serde_json::{json, Value};

use super::error::McpError;
use super::types::{Progress, ServerNotification};
use crate::framing::{encode_line, Frame, FrameReader};
use crate::jsonrpc::{self, Incoming};

/// Called on the reader thread for each progress notification of a request.
pub type ProgressHandler = Arc<dyn Fn(Progress) + Send + Sync>;

/// Lets another thread cancel a waiting request (sends `notifications/cancelled`).
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// How one request waits.
#[derive(Clone)]
pub struct RequestOptions {
    /// Give up when neither a reply nor a progress notification came for this long.
    pub idle_timeout: Duration,
    /// Give up after this long in any case (`None`: only the idle time-out applies).
    pub total_timeout: Option<Duration>,
    /// Attach a progress token and call this for each progress notification.
    pub progress: Option<ProgressHandler>,
    /// Checked every 20 ms while waiting.
    pub cancel: Option<CancelToken>,
}

impl RequestOptions {
    /// Only an idle time-out, no progress, no cancellation.
    pub fn timeout(idle_timeout: Duration) -> Self {
        Self {
            idle_timeout,
            total_timeout: None,
            progress: None,
            cancel: None,
        }
    }
}

const CANCEL_POLL: Duration = Duration::from_millis(20);

type Reply = Result<Value, McpError>;

struct Pending {
    waiting: HashMap<u64, (String, Sender<Reply>)>,
    progress: HashMap<String, (ProgressHandler, Arc<Mutex<Instant>>)>,
    /// Set once the connection is gone; new requests fail at once with this reason.
    closed: Option<String>,
}

struct Shared {
    writer: Mutex<Option<Box<dyn Write + Send>>>,
    pending: Mutex<Pending>,
    next_id: AtomicU64,
    notifications: Sender<ServerNotification>,
    skipped_lines: AtomicU64,
}

/// Cheap to clone; all clones share one connection.
#[derive(Clone)]
pub struct McpClient {
    shared: Arc<Shared>,
    notifications: Receiver<ServerNotification>,
}

impl McpClient {
    /// Starts the reader thread over `reader`; sends nothing yet (see [`McpClient::initialize`]).
    pub fn start(reader: impl Read + Send + 'static, writer: impl Write + Send + 'static) -> Self {
        let (notify_tx, notify_rx) = bounded(256);
        let shared = Arc::new(Shared {
            writer: Mutex::new(Some(Box::new(writer))),
            pending: Mutex::new(Pending {
                waiting: HashMap::new(),
                progress: HashMap::new(),
                closed: None,
            }),
            next_id: AtomicU64::new(1),
            notifications: notify_tx,
            skipped_lines: AtomicU64::new(0),
        });
        let reader_shared = Arc::clone(&shared);
        thread::Builder::new()
            .name("mcp-reader".into())
            .spawn(move || read_loop(reader_shared, reader))
            .expect("spawning the MCP reader thread");
        Self {
            shared,
            notifications: notify_rx,
        }
    }

    /// Sends a request and waits for its result.
    pub fn request(&self, method: &str, params: Option<Value>, timeout: Duration) -> Reply {
        self.request_with(method, params, &RequestOptions::timeout(timeout))
    }

    /// Sends a request with progress/cancellation options and waits for its result. On time-out
    /// or cancellation the server is told with `notifications/cancelled` and a late reply is
    /// dropped.
    pub fn request_with(
        &self,
        method: &str,
        params: Option<Value>,
        opts: &RequestOptions,
    ) -> Reply {
        let id = self.shared.next_id.fetch_add(1, Ordering::SeqCst);
        let (tx, rx) = bounded(1);
        let last_activity = Arc::new(Mutex::new(Instant::now()));
        let token = opts.progress.as_ref().map(|_| format!("p{id}"));
        let params = match (&token, params) {
            (Some(token), params) => Some(with_progress_token(params, token)),
            (None, params) => params,
        };
        {
            let mut pending = self.shared.pending.lock().expect("pending lock");
            if let Some(reason) = &pending.closed {
                return Err(McpError::Disconnected {
                    method: method.into(),
                    reason: reason.clone(),
                });
            }
            pending.waiting.insert(id, (method.to_owned(), tx));
            if let (Some(token), Some(handler)) = (&token, &opts.progress) {
                pending.progress.insert(
                    token.clone(),
                    (Arc::clone(handler), Arc::clone(&last_activity)),
                );
            }
        }
        let result = self
            .send(method, &jsonrpc::request(id, method, params))
            .and_then(|()| self.wait(id, method, &rx, opts, &last_activity));
        let mut pending = self.shared.pending.lock().expect("pending lock");
        pending.waiting.remove(&id);
        if let Some(token) = &token {
            pending.progress.remove(token);
        }
        result
    }

    fn wait(
        &self,
        id: u64,
        method: &str,
        rx: &Receiver<Reply>,
        opts: &RequestOptions,
        last_activity: &Mutex<Instant>,
    ) -> Reply {
        let started = Instant::now();
        loop {
            let idle_deadline = *last_activity.lock().expect("activity lock") + opts.idle_timeout;
            let mut deadline = idle_deadline;
            if let Some(total) = opts.total_timeout {
                deadline = deadline.min(started + total);
            }
            let now = Instant::now();
            let mut slice = deadline.saturating_duration_since(now);
            if opts.cancel.is_some() {
                slice = slice.min(CANCEL_POLL);
            }
            match rx.recv_timeout(slice) {
                Ok(reply) => return reply,
                Err(RecvTimeoutError::Disconnected) => {
                    let reason = self
                        .close_reason()
                        .unwrap_or_else(|| "reader stopped".into());
                    return Err(McpError::Disconnected {
                        method: method.into(),
                        reason,
                    });
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
            if opts.cancel.as_ref().is_some_and(CancelToken::is_cancelled) {
                self.send_cancelled(id, "cancelled by the client");
                return Err(McpError::Cancelled {
                    method: method.into(),
                });
            }
            let now = Instant::now();
            let idle_deadline = *last_activity.lock().expect("activity lock") + opts.idle_timeout;
            let total_over = opts.total_timeout.is_some_and(|t| now >= started + t);
            if now >= idle_deadline || total_over {
                self.send_cancelled(id, "request timed out");
                return Err(McpError::Timeout {
                    method: method.into(),
                    after: started.elapsed(),
                });
            }
        }
    }

    fn send_cancelled(&self, id: u64, reason: &str) {
        let params = json!({"requestId": id, "reason": reason});
        // Best effort: if the connection is gone there is nothing left to cancel.
        let _ = self.notify("notifications/cancelled", Some(params));
    }

    /// Sends a notification.
    pub fn notify(&self, method: &str, params: Option<Value>) -> Result<(), McpError> {
        self.send(method, &jsonrpc::notification(method, params))
    }

    fn send(&self, method: &str, message: &Value) -> Result<(), McpError> {
        write_message(&self.shared, message).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotConnected {
                let reason = self
                    .close_reason()
                    .unwrap_or_else(|| "client closed".into());
                McpError::Disconnected {
                    method: method.into(),
                    reason,
                }
            } else {
                McpError::Write {
                    method: method.into(),
                    source,
                }
            }
        })
    }

    /// Closes our end of the connection (the server sees EOF on stdin). Pending requests fail.
    pub fn close(&self) {
        self.shared.writer.lock().expect("writer lock").take();
        mark_closed(&self.shared, "the client closed the connection");
    }

    /// Why the connection is closed, `None` while it is open.
    pub fn close_reason(&self) -> Option<String> {
        self.shared
            .pending
            .lock()
            .expect("pending lock")
            .closed
            .clone()
    }

    /// True once the connection is gone.
    pub fn is_closed(&self) -> bool {
        self.close_reason().is_some()
    }

    /// Server notifications other than progress (resource updates, log messages, list
    /// changes). Bounded: when nobody drains it, new notifications are dropped.
    pub fn notifications(&self) -> &Receiver<ServerNotification> {
        &self.notifications
    }

    /// How many stdout lines were skipped because they were not JSON-RPC (or too long).
    pub fn skipped_lines(&self) -> u64 {
        self.shared.skipped_lines.load(Ordering::Relaxed)
    }
}

fn with_progress_token(params: Option<Value>, token: &str) -> Value {
    let mut params = match params {
        Some(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let meta = params.entry("_meta").or_insert_with(|| json!({}));
    if let Value::Object(meta) = meta {
        meta.insert("progressToken".into(), json!(token));
    }
    Value::Object(params)
}

fn write_message(shared: &Shared, message: &Value) -> std::io::Result<()> {
    let mut writer = shared.writer.lock().expect("writer lock");
    let Some(writer) = writer.as_mut() else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotConnected,
            "client closed",
        ));
    };
    writer.write_all(&encode_line(message))?;
    writer.flush()
}

fn mark_closed(shared: &Shared, reason: &str) {
    let mut pending = shared.pending.lock().expect("pending lock");
    if pending.closed.is_none() {
        pending.closed = Some(reason.to_owned());
    }
    let reason = pending.closed.clone().unwrap_or_default();
    for (_, (method, tx)) in pending.waiting.drain() {
        let _ = tx.send(Err(McpError::Disconnected {
            method,
            reason: reason.clone(),
        }));
    }
    pending.progress.clear();
}

fn read_loop(shared: Arc<Shared>, reader: impl Read) {
    let mut frames = FrameReader::new(reader);
    let reason = loop {
        match frames.next_frame() {
            Ok(Some(Frame::Json(value))) => dispatch(&shared, jsonrpc::classify(value)),
            Ok(Some(Frame::NotJson(line))) => {
                shared.skipped_lines.fetch_add(1, Ordering::Relaxed);
                log::warn!("MCP server wrote a non-JSON line to stdout (skipped): {line}");
            }
            Ok(Some(Frame::TooLong(len))) => {
                shared.skipped_lines.fetch_add(1, Ordering::Relaxed);
                log::warn!("MCP server wrote a {len}-byte line, over the cap (skipped)");
            }
            Ok(None) => break "the server closed its stdout".to_owned(),
            Err(e) => break format!("reading the server's stdout failed: {e}"),
        }
    };
    log::debug!("MCP reader stopped: {reason}");
    mark_closed(&shared, &reason);
}

fn dispatch(shared: &Shared, message: Incoming) {
    match message {
        Incoming::Response { id, outcome } => {
            let waiter = id.as_u64().and_then(|id| {
                shared
                    .pending
                    .lock()
                    .expect("pending lock")
                    .waiting
                    .remove(&id)
            });
            match waiter {
                Some((method, tx)) => {
                    let reply = outcome.map_err(|e| McpError::Rpc {
                        method,
                        code: e.code,
                        message: e.message,
                    });
                    let _ = tx.send(reply);
                }
                None => log::debug!("MCP reply for unknown or abandoned request id {id}"),
            }
        }
        Incoming::Notification { method, params } if method == "notifications/progress" => {
            route_progress(shared, params.unwrap_or(Value::Null));
        }
        Incoming::Notification { method, params } => {
            let note = ServerNotification { method, params };
            if let Err(TrySendError::Full(note)) = shared.notifications.try_send(note) {
                log::debug!(
                    "dropping MCP notification {} (nobody reads them)",
                    note.method
                );
            }
        }
        Incoming::Request { id, method, .. } => {
            let reply = if method == "ping" {
                jsonrpc::result_response(id, json!({}))
            } else {
                let message = format!("client does not support '{method}'");
                jsonrpc::error_response(id, jsonrpc::METHOD_NOT_FOUND, &message)
            };
            if let Err(e) = write_message(shared, &reply) {
                log::debug!("cannot answer the server's '{method}' request: {e}");
            }
        }
        Incoming::Invalid(reason) => {
            shared.skipped_lines.fetch_add(1, Ordering::Relaxed);
            log::warn!("MCP server sent an invalid JSON-RPC message (skipped): {reason}");
        }
    }
}

fn route_progress(shared: &Shared, params: Value) {
    let token = match params.get("progressToken") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => return,
    };
    let handler = shared
        .pending
        .lock()
        .expect("pending lock")
        .progress
        .get(&token)
        .cloned();
    let Some((handler, last_activity)) = handler else {
        log::debug!("progress for unknown token {token}");
        return;
    };
    *last_activity.lock().expect("activity lock") = Instant::now();
    handler(Progress {
        progress: params
            .get("progress")
            .and_then(Value::as_f64)
            .unwrap_or(0.0),
        total: params.get("total").and_then(Value::as_f64),
        message: params
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned),
    });
}
