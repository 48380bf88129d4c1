//! Every bound and pause of the recipes, in one place.

use std::time::Duration;

/// How many connection-state events a slow recipe may lag behind before it sees `Lagged`
/// (and then treats the gap as a suspension).
pub const STATE_EVENT_CAPACITY: usize = 64;

/// First pause between two attempts of a guaranteed delete; it doubles up to
/// [`GUARANTEED_DELETE_MAX_PAUSE`].
pub const GUARANTEED_DELETE_FIRST_PAUSE: Duration = Duration::from_millis(50);
/// The longest pause between two attempts of a guaranteed delete.
pub const GUARANTEED_DELETE_MAX_PAUSE: Duration = Duration::from_secs(2);

/// First pause between two attempts to open a new session after LOST; it doubles up to
/// [`NEW_SESSION_MAX_PAUSE`].
pub const NEW_SESSION_FIRST_PAUSE: Duration = Duration::from_millis(100);
/// The longest pause between two attempts to open a new session.
pub const NEW_SESSION_MAX_PAUSE: Duration = Duration::from_secs(2);

/// How long a waiting lock or semaphore pauses after a connection failure when no
/// connection-state event comes first.
pub const WAITER_FAILURE_PAUSE: Duration = Duration::from_millis(500);

/// How long the latch's task pauses after a failed request when no connection-state event
/// comes first.
pub const LATCH_FAILURE_PAUSE: Duration = Duration::from_secs(1);

/// How long a leader selector pauses after a failed acquire before queueing again.
pub const SELECTOR_FAILURE_PAUSE: Duration = Duration::from_millis(200);

/// How many times a create retries after its parent vanished between creating the parents
/// and creating the node (a container reaped in between).
pub const PARENT_VANISHED_RETRIES: usize = 3;

/// The default retry policy's base sleep and retry count (exponential backoff).
pub const DEFAULT_RETRY_BASE: Duration = Duration::from_millis(100);
/// See [`DEFAULT_RETRY_BASE`].
pub const DEFAULT_RETRY_COUNT: u32 = 10;
