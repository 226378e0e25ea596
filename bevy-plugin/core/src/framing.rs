//! Newline-delimited JSON framing for MCP's stdio transport.
//!
//! One JSON-RPC message per line, `\n` terminated; a trailing `\r` is stripped (the TS SDK's
//! `ReadBuffer` does the same). The reader is tolerant because a daemon's stdout is not always
//! clean: a stray `console.log`, a library banner or a half-written line before a crash must not
//! kill the connection. Such lines come back as [`Frame::NotJson`] so the caller can log and skip
//! them, and a line longer than the cap is dropped whole as [`Frame::TooLong`].

use std::io::{self, Read};

/// Per-message cap, as in the TS SDK (`STDIO_DEFAULT_MAX_BUFFER_SIZE`, 10 MiB).
pub const DEFAULT_MAX_LINE_BYTES: usize = 10 * 1024 * 1024;

const CHUNK_BYTES: usize = 64 * 1024;

/// One unit read from the stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A line that parsed as JSON.
    Json(serde_json::Value),
    /// A non-empty line that is not JSON; holds its first 200 characters for the log.
    NotJson(String),
    /// A line longer than the cap; holds its length in bytes. Its content was discarded.
    TooLong(usize),
}

/// Splits a byte stream into [`Frame`]s. Blank lines are skipped silently.
pub struct FrameReader<R> {
    source: R,
    buffer: Vec<u8>,
    /// Bytes of `buffer` already searched for `\n`, so a long line is scanned once (not O(n²)).
    scanned: usize,
    max_line_bytes: usize,
    /// Length of the over-long line being discarded, if any.
    discarding: Option<usize>,
    eof: bool,
}

impl<R: Read> FrameReader<R> {
    /// Reader with the default 10 MiB line cap.
    pub fn new(source: R) -> Self {
        Self::with_max_line_bytes(source, DEFAULT_MAX_LINE_BYTES)
    }

    /// Reader that drops lines longer than `max_line_bytes`.
    pub fn with_max_line_bytes(source: R, max_line_bytes: usize) -> Self {
        Self {
            source,
            buffer: Vec::with_capacity(CHUNK_BYTES),
            scanned: 0,
            max_line_bytes,
            discarding: None,
            eof: false,
        }
    }

    /// Next frame, `Ok(None)` at end of stream. A final line without `\n` is still returned.
    pub fn next_frame(&mut self) -> io::Result<Option<Frame>> {
        loop {
            if let Some(frame) = self.take_line() {
                match frame {
                    Some(frame) => return Ok(Some(frame)),
                    None => continue, // blank line
                }
            }
            if self.eof {
                return Ok(self.take_rest());
            }
            self.fill()?;
        }
    }

    /// Pops one complete line from the buffer: `Some(Some(frame))`, `Some(None)` for a blank
    /// line, `None` when no complete line is buffered.
    fn take_line(&mut self) -> Option<Option<Frame>> {
        let newline = self.buffer[self.scanned..].iter().position(|b| *b == b'\n');
        let Some(offset) = newline else {
            self.scanned = self.buffer.len();
            if self.buffer.len() > self.max_line_bytes {
                // Start (or continue) discarding: keep only the count, free the memory.
                let seen = self.discarding.unwrap_or(0) + self.buffer.len();
                self.discarding = Some(seen);
                self.buffer.clear();
                self.scanned = 0;
            }
            return None;
        };
        let end = self.scanned + offset;
        let line: Vec<u8> = self.buffer.drain(..=end).collect();
        self.scanned = 0;
        if let Some(seen) = self.discarding.take() {
            return Some(Some(Frame::TooLong(seen + line.len() - 1)));
        }
        Some(classify(&line[..line.len() - 1], self.max_line_bytes))
    }

    fn take_rest(&mut self) -> Option<Frame> {
        if let Some(seen) = self.discarding.take() {
            self.buffer.clear();
            return Some(Frame::TooLong(seen));
        }
        let rest = std::mem::take(&mut self.buffer);
        self.scanned = 0;
        classify(&rest, self.max_line_bytes)
    }

    fn fill(&mut self) -> io::Result<()> {
        let start = self.buffer.len();
        self.buffer.resize(start + CHUNK_BYTES, 0);
        let read = loop {
            match self.source.read(&mut self.buffer[start..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.buffer.truncate(start);
                    return Err(e);
                }
            }
        };
        self.buffer.truncate(start + read);
        if read == 0 {
            self.eof = true;
        }
        Ok(())
    }
}

fn classify(line: &[u8], max_line_bytes: usize) -> Option<Frame> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > max_line_bytes {
        return Some(Frame::TooLong(line.len()));
    }
    if line.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    match serde_json::from_slice(line) {
        Ok(value) => Some(Frame::Json(value)),
        Err(_) => {
            let text = String::from_utf8_lossy(line);
            Some(Frame::NotJson(text.chars().take(200).collect()))
        }
    }
}

/// Serialises one message as a line (`\n` terminated). serde_json never emits raw newlines.
pub fn encode_line(message: &serde_json::Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(message).expect("a serde_json::Value always serialises");
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A source that returns at most `step` bytes per read, to split lines anywhere.
    struct Trickle {
        data: Vec<u8>,
        pos: usize,
        step: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(out.len()).min(self.data.len() - self.pos);
            out[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    fn frames(data: &[u8], step: usize, cap: usize) -> Vec<Frame> {
        let source = Trickle {
            data: data.to_vec(),
            pos: 0,
            step,
        };
        let mut reader = FrameReader::with_max_line_bytes(source, cap);
        let mut out = Vec::new();
        while let Some(frame) = reader.next_frame().unwrap() {
            out.push(frame);
        }
        out
    }

    #[test]
    fn splits_lines_delivered_one_byte_at_a_time() {
        let data = b"{\"a\":1}\n{\"b\":2}\n";
        assert_eq!(
            frames(data, 1, 1024),
            vec![Frame::Json(json!({"a":1})), Frame::Json(json!({"b":2}))]
        );
    }

    #[test]
    fn strips_crlf_and_skips_blank_lines() {
        let data = b"{\"a\":1}\r\n\r\n   \n{\"b\":2}\r\n";
        assert_eq!(
            frames(data, 7, 1024),
            vec![Frame::Json(json!({"a":1})), Frame::Json(json!({"b":2}))]
        );
    }

    #[test]
    fn returns_non_json_lines_for_logging_and_keeps_going() {
        let data = b"Debugger listening\n{\"a\":1}\n{\"truncated\":\n{\"b\":2}\n";
        assert_eq!(
            frames(data, 5, 1024),
            vec![
                Frame::NotJson("Debugger listening".into()),
                Frame::Json(json!({"a":1})),
                Frame::NotJson("{\"truncated\":".into()),
                Frame::Json(json!({"b":2})),
            ]
        );
    }

    #[test]
    fn returns_a_final_line_without_newline() {
        assert_eq!(
            frames(b"{\"a\":1}", 3, 1024),
            vec![Frame::Json(json!({"a":1}))]
        );
    }

    #[test]
    fn reads_a_five_megabyte_line() {
        let big = "x".repeat(5 * 1024 * 1024);
        let mut data = serde_json::to_vec(&json!({ "big": big })).unwrap();
        data.extend_from_slice(b"\n{\"after\":true}\n");
        let out = frames(&data, CHUNK_BYTES, DEFAULT_MAX_LINE_BYTES);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0], Frame::Json(json!({ "big": big })));
        assert_eq!(out[1], Frame::Json(json!({"after": true})));
    }

    #[test]
    fn drops_a_line_over_the_cap_and_recovers_on_the_next_line() {
        let mut data = vec![b'y'; 300_000];
        data.extend_from_slice(b"\n{\"ok\":1}\n");
        let out = frames(&data, 4096, 100_000);
        assert_eq!(
            out,
            vec![Frame::TooLong(300_000), Frame::Json(json!({"ok":1}))]
        );
    }

    #[test]
    fn encode_line_round_trips_strings_with_newlines() {
        let message = json!({"text": "a\nb\r\nc"});
        let line = encode_line(&message);
        assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
        assert_eq!(frames(&line, 2, 1024), vec![Frame::Json(message)]);
    }
}
