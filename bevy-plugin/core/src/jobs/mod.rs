//! Sprite generation jobs: ids handed out at once, driven through the daemon's job tools.

mod manager;
mod model;
mod report;
mod request;

pub use manager::JobManager;
pub use model::{JobId, JobOptions, JobSnapshot, JobState};
pub use report::{interpret, result_path, Reported};
pub use request::GenerateRequest;
