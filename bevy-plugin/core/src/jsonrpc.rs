//! JSON-RPC 2.0 message shapes used by MCP, classified from raw JSON.

use serde_json::{json, Map, Value};

/// Error object of a JSON-RPC error response.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

/// Standard code: the method does not exist (or is not supported by this client).
pub const METHOD_NOT_FOUND: i64 = -32601;

/// A message received from the peer.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A request the peer expects us to answer (`ping`, `roots/list`, …).
    Request {
        id: Value,
        method: String,
        params: Option<Value>,
    },
    /// A notification (no id).
    Notification {
        method: String,
        params: Option<Value>,
    },
    /// The answer to one of our requests.
    Response {
        id: Value,
        outcome: Result<Value, RpcError>,
    },
    /// Valid JSON that is not a JSON-RPC message; holds a reason for the log.
    Invalid(String),
}

/// Classifies one parsed line. Batches (arrays) are not used by MCP since 2025-06-18 and are
/// reported as invalid.
pub fn classify(value: Value) -> Incoming {
    let Value::Object(mut map) = value else {
        return Incoming::Invalid(format!("expected a JSON object, got {}", preview(&value)));
    };
    let id = map.remove("id").filter(|id| !id.is_null());
    let method = match map.remove("method") {
        Some(Value::String(m)) => Some(m),
        Some(other) => {
            return Incoming::Invalid(format!("method must be a string, got {}", preview(&other)))
        }
        None => None,
    };
    let params = map.remove("params");
    match (id, method) {
        (Some(id), Some(method)) => Incoming::Request { id, method, params },
        (None, Some(method)) => Incoming::Notification { method, params },
        (Some(id), None) => match (map.remove("result"), map.remove("error")) {
            (_, Some(error)) => Incoming::Response {
                id,
                outcome: Err(parse_error(error)),
            },
            (Some(result), None) => Incoming::Response {
                id,
                outcome: Ok(result),
            },
            (None, None) => Incoming::Invalid("response has neither result nor error".into()),
        },
        (None, None) => Incoming::Invalid("message has neither id nor method".into()),
    }
}

fn parse_error(error: Value) -> RpcError {
    let code = error.get("code").and_then(Value::as_i64).unwrap_or(-32603);
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("(no message)")
        .to_owned();
    RpcError {
        code,
        message,
        data: error.get("data").cloned(),
    }
}

/// `{"jsonrpc":"2.0","id":id,"method":method,"params":params}`.
pub fn request(id: u64, method: &str, params: Option<Value>) -> Value {
    let mut map = Map::new();
    map.insert("jsonrpc".into(), json!("2.0"));
    map.insert("id".into(), json!(id));
    map.insert("method".into(), json!(method));
    if let Some(params) = params {
        map.insert("params".into(), params);
    }
    Value::Object(map)
}

/// A notification (no id).
pub fn notification(method: &str, params: Option<Value>) -> Value {
    let mut map = Map::new();
    map.insert("jsonrpc".into(), json!("2.0"));
    map.insert("method".into(), json!(method));
    if let Some(params) = params {
        map.insert("params".into(), params);
    }
    Value::Object(map)
}

/// A success response to a peer's request.
pub fn result_response(id: Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// An error response to a peer's request.
pub fn error_response(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

/// Short rendering of a value for log and error messages.
pub fn preview(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 120 {
        format!("{}…", text.chars().take(120).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_message_kind() {
        let cases = [
            (
                json!({"jsonrpc":"2.0","id":1,"method":"ping"}),
                Incoming::Request {
                    id: json!(1),
                    method: "ping".into(),
                    params: None,
                },
            ),
            (
                json!({"jsonrpc":"2.0","method":"notifications/progress","params":{"p":1}}),
                Incoming::Notification {
                    method: "notifications/progress".into(),
                    params: Some(json!({"p":1})),
                },
            ),
            (
                json!({"jsonrpc":"2.0","id":"a","result":{}}),
                Incoming::Response {
                    id: json!("a"),
                    outcome: Ok(json!({})),
                },
            ),
            (
                json!({"jsonrpc":"2.0","id":3,"error":{"code":-32602,"message":"bad"}}),
                Incoming::Response {
                    id: json!(3),
                    outcome: Err(RpcError {
                        code: -32602,
                        message: "bad".into(),
                        data: None,
                    }),
                },
            ),
            (
                json!([1, 2]),
                Incoming::Invalid("expected a JSON object, got [1,2]".into()),
            ),
            (
                json!({"jsonrpc":"2.0","id":4}),
                Incoming::Invalid("response has neither result nor error".into()),
            ),
            (
                json!({"jsonrpc":"2.0"}),
                Incoming::Invalid("message has neither id nor method".into()),
            ),
            (
                json!({"id":1,"method":7}),
                Incoming::Invalid("method must be a string, got 7".into()),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(classify(input.clone()), expected, "input {input}");
        }
    }

    #[test]
    fn a_null_id_with_a_method_is_a_notification() {
        assert_eq!(
            classify(json!({"jsonrpc":"2.0","id":null,"method":"x"})),
            Incoming::Notification {
                method: "x".into(),
                params: None
            }
        );
    }

    #[test]
    fn builds_requests_without_params_field_when_absent() {
        assert_eq!(
            request(7, "tools/list", None),
            json!({"jsonrpc":"2.0","id":7,"method":"tools/list"})
        );
        assert_eq!(
            notification("notifications/initialized", None),
            json!({"jsonrpc":"2.0","method":"notifications/initialized"})
        );
    }
}
