//! Dispatch tests: a scripted peer on the other end of a real socket pair.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::*;

/// The server side of a connection, driven by the test.
struct Peer {
    lines: BufReader<UnixStream>,
    out: UnixStream,
}

impl Peer {
    fn recv(&mut self) -> Value {
        let mut line = String::new();
        let n = self.lines.read_line(&mut line).expect("peer read");
        assert!(
            n > 0,
            "peer: client closed the connection while a message was expected"
        );
        serde_json::from_str(&line).expect("client wrote invalid JSON")
    }
    fn send(&mut self, message: Value) {
        self.send_raw(&format!("{message}\n"));
    }
    fn send_raw(&mut self, text: &str) {
        self.out.write_all(text.as_bytes()).expect("peer write");
    }
}

fn pair() -> (McpClient, Peer) {
    // One socket per direction, so dropping a writer is a real EOF for the other side.
    let (to_client, client_in) = UnixStream::pair().expect("socket pair");
    let (client_out, from_client) = UnixStream::pair().expect("socket pair");
    let client = McpClient::start(client_in, client_out);
    let peer = Peer {
        lines: BufReader::new(from_client),
        out: to_client,
    };
    (client, peer)
}

const SECOND: Duration = Duration::from_secs(1);

#[test]
fn replies_reach_the_right_caller_when_answered_out_of_order() {
    let (client, mut peer) = pair();
    let a = {
        let c = client.clone();
        thread::spawn(move || c.request("a", None, 5 * SECOND))
    };
    let first = peer.recv();
    let b = {
        let c = client.clone();
        thread::spawn(move || c.request("b", None, 5 * SECOND))
    };
    let second = peer.recv();
    peer.send(json!({"jsonrpc":"2.0","id":second["id"],"result":{"m":second["method"]}}));
    peer.send(json!({"jsonrpc":"2.0","id":first["id"],"result":{"m":first["method"]}}));
    assert_eq!(a.join().unwrap().unwrap(), json!({"m":"a"}));
    assert_eq!(b.join().unwrap().unwrap(), json!({"m":"b"}));
}

#[test]
fn answers_server_ping_and_refuses_other_server_requests() {
    let (_client, mut peer) = pair();
    peer.send(json!({"jsonrpc":"2.0","id":"s1","method":"ping"}));
    assert_eq!(peer.recv(), json!({"jsonrpc":"2.0","id":"s1","result":{}}));
    peer.send(json!({"jsonrpc":"2.0","id":9,"method":"sampling/createMessage","params":{}}));
    let reply = peer.recv();
    assert_eq!(reply["id"], json!(9));
    assert_eq!(reply["error"]["code"], json!(-32601));
    assert_eq!(
        reply["error"]["message"],
        json!("client does not support 'sampling/createMessage'")
    );
}

#[test]
fn skips_garbage_lines_and_still_delivers_the_reply() {
    let (client, mut peer) = pair();
    let call = {
        let c = client.clone();
        thread::spawn(move || c.request("x", None, 5 * SECOND))
    };
    let req = peer.recv();
    peer.send_raw("npm WARN something\r\n[1,2]\n{\"jsonrpc\":\"2.0\",\"id\":99999,\"result\":1}\n");
    peer.send(json!({"jsonrpc":"2.0","id":req["id"],"result":"ok"}));
    assert_eq!(call.join().unwrap().unwrap(), json!("ok"));
    assert_eq!(
        client.skipped_lines(),
        2,
        "the text line and the array are skipped"
    );
}

#[test]
fn progress_is_routed_by_token_and_keeps_the_request_alive() {
    let (client, mut peer) = pair();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let opts = RequestOptions {
        idle_timeout: Duration::from_millis(300),
        total_timeout: Some(10 * SECOND),
        progress: Some({
            let seen = Arc::clone(&seen);
            Arc::new(move |p: Progress| seen.lock().unwrap().push(p))
        }),
        cancel: None,
    };
    let call = {
        let c = client.clone();
        thread::spawn(move || c.request_with("slow", Some(json!({"k":1})), &opts))
    };
    let req = peer.recv();
    let token = req["params"]["_meta"]["progressToken"].clone();
    assert_eq!(
        req["params"]["k"],
        json!(1),
        "caller params kept beside _meta"
    );
    // 6 × 150 ms = 900 ms, three times the idle time-out: only progress keeps it alive.
    for step in 1..=6 {
        thread::sleep(Duration::from_millis(150));
        peer.send(json!({"jsonrpc":"2.0","method":"notifications/progress",
            "params":{"progressToken":token,"progress":step,"total":6,"message":format!("step {step}")}}));
    }
    peer.send(json!({"jsonrpc":"2.0","id":req["id"],"result":"done"}));
    assert_eq!(call.join().unwrap().unwrap(), json!("done"));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 6);
    assert_eq!(seen[5].fraction(), Some(1.0));
    assert_eq!(seen[0].message.as_deref(), Some("step 1"));
}

#[test]
fn a_timed_out_request_is_cancelled_on_the_server_and_its_late_reply_ignored() {
    let (client, mut peer) = pair();
    let started = Instant::now();
    let call = {
        let c = client.clone();
        thread::spawn(move || c.request("hang", None, Duration::from_millis(200)))
    };
    let req = peer.recv();
    let cancel = peer.recv();
    let err = call.join().unwrap().unwrap_err();
    assert!(matches!(err, McpError::Timeout { .. }), "got {err:?}");
    assert!(started.elapsed() < 2 * SECOND);
    assert_eq!(cancel["method"], json!("notifications/cancelled"));
    assert_eq!(cancel["params"]["requestId"], req["id"]);
    peer.send(json!({"jsonrpc":"2.0","id":req["id"],"result":"late"}));
    let next = {
        let c = client.clone();
        thread::spawn(move || c.request("next", None, 5 * SECOND))
    };
    let req2 = peer.recv();
    peer.send(json!({"jsonrpc":"2.0","id":req2["id"],"result":"fresh"}));
    assert_eq!(next.join().unwrap().unwrap(), json!("fresh"));
}

#[test]
fn a_cancel_token_stops_the_wait_and_notifies_the_server() {
    let (client, mut peer) = pair();
    let token = CancelToken::new();
    let opts = RequestOptions {
        cancel: Some(token.clone()),
        ..RequestOptions::timeout(30 * SECOND)
    };
    let call = {
        let c = client.clone();
        thread::spawn(move || c.request_with("long", None, &opts))
    };
    let req = peer.recv();
    token.cancel();
    let cancel = peer.recv();
    assert_eq!(
        cancel["params"],
        json!({"requestId": req["id"], "reason": "cancelled by the client"})
    );
    let err = call.join().unwrap().unwrap_err();
    assert_eq!(
        err.to_string(),
        "MCP request 'long' was cancelled by the caller"
    );
}

#[test]
fn eof_fails_pending_and_later_requests_with_the_reason() {
    let (client, mut peer) = pair();
    let call = {
        let c = client.clone();
        thread::spawn(move || c.request("x", None, 30 * SECOND))
    };
    let _ = peer.recv();
    drop(peer);
    let err = call.join().unwrap().unwrap_err();
    assert_eq!(
        err.to_string(),
        "MCP server disconnected (the server closed its stdout) while waiting for 'x'"
    );
    assert!(client.is_closed());
    let err = client.request("y", None, SECOND).unwrap_err();
    assert!(err.is_disconnect(), "got {err:?}");
}

#[test]
fn rpc_errors_carry_method_code_and_message() {
    let (client, mut peer) = pair();
    let call = {
        let c = client.clone();
        thread::spawn(move || c.request("nope", None, 5 * SECOND))
    };
    let req = peer.recv();
    peer.send(json!({"jsonrpc":"2.0","id":req["id"],"error":{"code":-32601,"message":"Method not found"}}));
    let err = call.join().unwrap().unwrap_err();
    assert_eq!(
        err.to_string(),
        "MCP server answered 'nope' with error -32601: Method not found"
    );
}

fn handshake(answer_version: &str) -> (Result<InitializeResult, McpError>, Vec<Value>) {
    let (client, mut peer) = pair();
    let init = {
        let c = client.clone();
        thread::spawn(move || c.initialize(&ClientInfo::default(), 5 * SECOND))
    };
    let req = peer.recv();
    assert_eq!(
        req["params"]["protocolVersion"],
        json!(LATEST_PROTOCOL_VERSION)
    );
    assert_eq!(req["params"]["capabilities"], json!({}));
    peer.send(json!({"jsonrpc":"2.0","id":req["id"],"result":{
        "protocolVersion": answer_version, "capabilities": {"tools":{}},
        "serverInfo": {"name":"fake","version":"9"}}}));
    let result = init.join().unwrap();
    client.close();
    let mut rest = Vec::new();
    let mut line = String::new();
    while peer.lines.read_line(&mut line).unwrap_or(0) > 0 {
        rest.push(serde_json::from_str(&line).unwrap());
        line.clear();
    }
    (result, rest)
}

#[test]
fn initialize_accepts_an_older_supported_version_and_sends_initialized() {
    let (result, rest) = handshake("2025-06-18");
    let init = result.unwrap();
    assert_eq!(init.protocol_version, "2025-06-18");
    assert_eq!(init.server_name, "fake");
    assert_eq!(
        rest,
        vec![json!({"jsonrpc":"2.0","method":"notifications/initialized"})]
    );
}

#[test]
fn initialize_refuses_an_unknown_version_and_sends_nothing_more() {
    let (result, rest) = handshake("1999-01-01");
    assert_eq!(
        result.unwrap_err().to_string(),
        "MCP server offered protocol version '1999-01-01'; this client supports 2025-11-25, 2025-06-18, 2025-03-26, 2024-11-05"
    );
    assert!(
        rest.is_empty(),
        "no initialized notification after a refused version: {rest:?}"
    );
}
