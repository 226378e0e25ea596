//! The daemon child: how to start it, one run of it, and the supervisor that keeps it up.

mod config;
mod error;
mod process;
mod supervisor;

pub use config::{DaemonConfig, RestartPolicy};
pub use error::DaemonError;
pub use process::{describe_exit, DaemonProcess, StderrTail};
pub use supervisor::{DaemonStatus, StatusSink, Supervisor};
