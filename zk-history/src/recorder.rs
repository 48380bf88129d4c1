//! [`Recorder`]: a history that many tasks and threads append to while a workload runs.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use zk_core::SessionId;

use crate::op::{ClientId, History, Op, OpId, Operation, Outcome};

/// Records operations as they are invoked and completed, stamping each with the recorder's
/// clock. Cheap to clone; every clone appends to the same history.
///
/// The clock is read under the recorder's lock, so recording order and time order agree:
/// call [`Recorder::invoke`] right before queuing the request on its session.
///
/// ```
/// use zk_history::{ClientId, Operation, Outcome, Recorder, Reply};
/// use zk_core::Zxid;
///
/// let recorder = Recorder::monotonic();
/// let client = recorder.client();
/// let call = recorder.invoke(client, None, Operation::Read { path: "/k".into() });
/// // ... send the request, wait for its reply ...
/// let reply = Reply::Read { data: b"v".to_vec(), version: 0 };
/// recorder.complete(call, Outcome::Ok { zxid: Zxid(7), reply });
/// assert_eq!(recorder.history().len(), 1);
/// ```
#[derive(Clone)]
pub struct Recorder {
    shared: Arc<Shared>,
}

type Clock = dyn Fn() -> u64 + Send + Sync;

struct Shared {
    clock: Box<Clock>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    history: History,
    next_client: u32,
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("ops", &self.len())
            .finish_non_exhaustive()
    }
}

/// An invoked operation waiting for its outcome. Dropping it leaves the operation without a
/// completion: its outcome is unknown, as for a request whose future was dropped.
#[derive(Debug)]
#[must_use = "complete the operation with its outcome; dropped, it stays unknown"]
pub struct Pending {
    id: OpId,
}

impl Pending {
    /// The operation's id in the history.
    pub fn id(&self) -> OpId {
        self.id
    }
}

impl Recorder {
    /// A recorder whose ticks come from `clock`, which must never go backwards (a simulator's
    /// virtual time).
    pub fn new(clock: impl Fn() -> u64 + Send + Sync + 'static) -> Recorder {
        Recorder {
            shared: Arc::new(Shared {
                clock: Box::new(clock),
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// A recorder whose ticks are nanoseconds since it was made, from [`Instant`].
    pub fn monotonic() -> Recorder {
        let start = Instant::now();
        // u64 nanoseconds last 584 years.
        Recorder::new(move || start.elapsed().as_nanos() as u64)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A task that panicked while recording left whole operations only.
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A client id not handed out before by this recorder (0, 1, 2, ...).
    pub fn client(&self) -> ClientId {
        let mut s = self.lock();
        let id = ClientId(s.next_client);
        s.next_client += 1;
        id
    }

    /// Records that `client` issues `operation` now.
    pub fn invoke(
        &self,
        client: ClientId,
        session_id: Option<SessionId>,
        operation: Operation,
    ) -> Pending {
        let mut s = self.lock();
        let invoked = (self.shared.clock)();
        let id = s.history.push(Op {
            client,
            session_id,
            invoked,
            completed: None,
            operation,
            outcome: Outcome::Unknown,
        });
        Pending { id }
    }

    /// Records that the operation ended now with `outcome`.
    pub fn complete(&self, pending: Pending, outcome: Outcome) {
        let mut s = self.lock();
        let now = (self.shared.clock)();
        let op = &mut s.history.ops_mut()[pending.id.0];
        assert!(now >= op.invoked, "the recorder's clock went backwards");
        op.completed = Some(now);
        op.outcome = outcome;
    }

    /// How many operations were invoked.
    pub fn len(&self) -> usize {
        self.lock().history.len()
    }

    /// True before the first invocation.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of the history so far; operations not completed yet have an unknown outcome.
    pub fn history(&self) -> History {
        self.lock().history.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use zk_core::{ErrorCode, Zxid};

    use super::*;

    #[test]
    fn clones_share_one_history_stamped_by_the_clock() {
        let t = Arc::new(AtomicU64::new(10));
        let clock = Arc::clone(&t);
        let r = Recorder::new(move || clock.fetch_add(1, Ordering::SeqCst));
        let r2 = r.clone();
        let (a, b) = (r.client(), r2.client());
        assert_ne!(a, b);
        let read = |p: &str| Operation::Read { path: p.into() };
        let first = r.invoke(a, None, read("/x"));
        let second = r2.invoke(b, Some(SessionId(5)), read("/y"));
        let outcome = Outcome::Error {
            zxid: Zxid(3),
            code: ErrorCode::NoNode,
        };
        r2.complete(first, outcome.clone());
        drop(second);
        let h = r.history();
        assert_eq!(h.len(), 2);
        assert_eq!((h.ops()[0].invoked, h.ops()[0].completed), (10, Some(12)));
        assert_eq!(h.ops()[0].outcome, outcome);
        assert_eq!(h.ops()[1].completed, None);
        assert_eq!(h.ops()[1].outcome, Outcome::Unknown);
    }

    #[test]
    fn threads_record_concurrently() {
        let r = Recorder::monotonic();
        std::thread::scope(|s| {
            for _ in 0..4 {
                let r = r.clone();
                s.spawn(move || {
                    let c = r.client();
                    for _ in 0..100 {
                        let p = r.invoke(c, None, Operation::Read { path: "/a".into() });
                        r.complete(p, Outcome::Unknown);
                    }
                });
            }
        });
        let h = r.history();
        assert_eq!(h.len(), 400);
        assert!(h.ops().windows(2).all(|w| w[0].invoked <= w[1].invoked));
    }
}
