//! The tasks of one server: every task a member spawns for its ports and links stops when the
//! server's stop flag flips, and the server can wait until the last of them is gone (so that
//! its sockets are closed and its ports free before it returns from a shutdown or a kill).

use std::future::Future;

use tokio::sync::{mpsc, watch};

/// Spawns tasks that end when the stop flag flips; cloned into everything that spawns.
#[derive(Clone)]
pub(crate) struct Tasks {
    stop: watch::Receiver<bool>,
    /// Each task holds a clone; the receiver learns that every task is gone when the last
    /// clone is dropped.
    alive: mpsc::Sender<()>,
}

/// Waits for the tasks of a [`Tasks`] group.
#[derive(Debug)]
pub(crate) struct TasksDone(mpsc::Receiver<()>);

impl Tasks {
    /// A group whose tasks stop when `stop` becomes true (or its sender is dropped).
    pub(crate) fn new(stop: watch::Receiver<bool>) -> (Tasks, TasksDone) {
        // Nothing is ever sent: the channel only counts its senders.
        let (alive, done) = mpsc::channel(1);
        (Tasks { stop, alive }, TasksDone(done))
    }

    /// Spawns `fut`, dropped (its sockets closed) as soon as the stop flag flips.
    pub(crate) fn spawn<F>(&self, fut: F) -> tokio::task::JoinHandle<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let mut stop = self.stop.clone();
        let alive = self.alive.clone();
        tokio::spawn(async move {
            let _alive = alive;
            tokio::select! {
                _ = fut => {}
                _ = stop.wait_for(|s| *s) => {}
            }
        })
    }
}

impl TasksDone {
    /// Completes once every task of the group ended and every [`Tasks`] handle was dropped.
    ///
    /// # Cancel safety
    /// Cancel safe: it only waits.
    pub(crate) async fn wait(&mut self) {
        while self.0.recv().await.is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn tasks_stop_with_the_flag_and_are_awaited() {
        let (stop_tx, stop_rx) = watch::channel(false);
        let (tasks, mut done) = Tasks::new(stop_rx);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tasks.spawn(async move {
            loop {
                let _ = listener.accept().await;
            }
        });
        drop(tasks);
        // Still running: the wait does not complete.
        assert!(tokio::time::timeout(Duration::from_millis(50), done.wait())
            .await
            .is_err());
        stop_tx.send_replace(true);
        tokio::time::timeout(Duration::from_secs(5), done.wait())
            .await
            .expect("the tasks stop");
        // The listener was dropped with its task: the port is free again.
        tokio::net::TcpListener::bind(addr).await.expect("rebind");
    }
}
