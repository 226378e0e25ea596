//! The MCP lifecycle and tool calls on top of [`McpClient`]: `initialize` with version
//! negotiation, `tools/list`, `tools/call` with `isError` mapped to [`McpError::Tool`].

use std::io::{Read, Write};
use std::time::Duration;

use serde_json::{json, Value};

use super::client::{McpClient, RequestOptions};
use super::error::McpError;
use super::types::{
    ClientInfo, InitializeResult, ToolInfo, ToolOutput, SUPPORTED_PROTOCOL_VERSIONS,
};

impl McpClient {
    /// Starts a client over the streams and performs the handshake.
    pub fn connect(
        reader: impl Read + Send + 'static,
        writer: impl Write + Send + 'static,
        info: &ClientInfo,
        timeout: Duration,
    ) -> Result<(McpClient, InitializeResult), McpError> {
        let client = McpClient::start(reader, writer);
        match client.initialize(info, timeout) {
            Ok(init) => Ok((client, init)),
            Err(e) => {
                client.close();
                Err(e)
            }
        }
    }

    /// `initialize` then `notifications/initialized`. Fails with
    /// [`McpError::UnsupportedProtocolVersion`] when the server answers with a version not in
    /// [`SUPPORTED_PROTOCOL_VERSIONS`].
    pub fn initialize(
        &self,
        info: &ClientInfo,
        timeout: Duration,
    ) -> Result<InitializeResult, McpError> {
        let params = json!({
            "protocolVersion": info.protocol_version,
            "capabilities": {},
            "clientInfo": {"name": info.name, "version": info.version},
        });
        let result = self.request("initialize", Some(params), timeout)?;
        let malformed = |detail: &str| McpError::Malformed {
            method: "initialize".into(),
            detail: format!("{detail}; got {}", crate::jsonrpc::preview(&result)),
        };
        let offered = result
            .get("protocolVersion")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed("protocolVersion is missing"))?
            .to_owned();
        if !SUPPORTED_PROTOCOL_VERSIONS.contains(&offered.as_str()) {
            return Err(McpError::UnsupportedProtocolVersion {
                offered,
                supported: SUPPORTED_PROTOCOL_VERSIONS
                    .iter()
                    .map(|v| v.to_string())
                    .collect(),
            });
        }
        let server = result.get("serverInfo");
        let field = |name: &str| {
            server
                .and_then(|s| s.get(name))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let init = InitializeResult {
            protocol_version: offered,
            server_name: field("name"),
            server_version: field("version"),
            capabilities: result.get("capabilities").cloned().unwrap_or(Value::Null),
            instructions: result
                .get("instructions")
                .and_then(Value::as_str)
                .map(str::to_owned),
        };
        self.notify("notifications/initialized", None)?;
        Ok(init)
    }

    /// `tools/list`, following `nextCursor` pages.
    pub fn list_tools(&self, timeout: Duration) -> Result<Vec<ToolInfo>, McpError> {
        let mut tools = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let params = cursor.as_ref().map(|c| json!({"cursor": c}));
            let page = self.request("tools/list", params, timeout)?;
            let Some(list) = page.get("tools").and_then(Value::as_array) else {
                return Err(McpError::Malformed {
                    method: "tools/list".into(),
                    detail: "result has no 'tools' array".into(),
                });
            };
            for tool in list {
                let Some(name) = tool.get("name").and_then(Value::as_str) else {
                    continue;
                };
                tools.push(ToolInfo {
                    name: name.to_owned(),
                    description: tool
                        .get("description")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    input_schema: tool.get("inputSchema").cloned().unwrap_or(Value::Null),
                    output_schema: tool.get("outputSchema").cloned(),
                });
            }
            cursor = page
                .get("nextCursor")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if cursor.is_none() {
                return Ok(tools);
            }
        }
    }

    /// `tools/call`. A result with `isError: true` becomes [`McpError::Tool`] carrying the
    /// tool's text.
    pub fn call_tool(
        &self,
        name: &str,
        arguments: Value,
        opts: &RequestOptions,
    ) -> Result<ToolOutput, McpError> {
        let params = json!({"name": name, "arguments": arguments});
        let result = self.request_with("tools/call", Some(params), opts)?;
        tool_output(name, result)
    }
}

/// Interprets a `tools/call` result.
pub fn tool_output(tool: &str, result: Value) -> Result<ToolOutput, McpError> {
    let content: Vec<Value> = result
        .get("content")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let text: Vec<&str> = content
        .iter()
        .filter(|c| c.get("type").and_then(Value::as_str) == Some("text"))
        .filter_map(|c| c.get("text").and_then(Value::as_str))
        .collect();
    if result.get("isError").and_then(Value::as_bool) == Some(true) {
        let mut message = text.join("\n");
        if message.is_empty() {
            message = result
                .get("structuredContent")
                .map(crate::jsonrpc::preview)
                .unwrap_or_else(|| "(the tool gave no message)".into());
        }
        return Err(McpError::Tool {
            tool: tool.into(),
            message,
        });
    }
    let structured = match result.get("structuredContent") {
        Some(value) if !value.is_null() => value.clone(),
        _ => match text.first() {
            Some(first) => serde_json::from_str(first).unwrap_or_else(|_| json!(first)),
            None => Value::Null,
        },
    };
    Ok(ToolOutput {
        structured,
        content,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_error_becomes_a_tool_error_with_the_text() {
        let result = json!({"isError": true, "content": [{"type":"text","text":"Validation error in prompt: empty"}]});
        let err = tool_output("generate_sprite", result).unwrap_err();
        assert_eq!(
            err.to_string(),
            "tool 'generate_sprite' failed: Validation error in prompt: empty"
        );
    }

    #[test]
    fn prefers_structured_content_then_json_text_then_plain_text() {
        let both =
            json!({"content":[{"type":"text","text":"{\"a\":2}"}],"structuredContent":{"a":1}});
        assert_eq!(tool_output("t", both).unwrap().structured, json!({"a":1}));
        let text_json = json!({"content":[{"type":"text","text":"{\"a\":2}"}]});
        assert_eq!(
            tool_output("t", text_json).unwrap().structured,
            json!({"a":2})
        );
        let plain = json!({"content":[{"type":"text","text":"hello"}]});
        assert_eq!(tool_output("t", plain).unwrap().structured, json!("hello"));
        assert_eq!(tool_output("t", json!({})).unwrap().structured, Value::Null);
    }
}
