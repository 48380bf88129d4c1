//! The task that prints watch and session events as they come, as zkCli.sh's event thread
//! does, and can say when it has printed everything already received ([`Printer::flush`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures::stream::{BoxStream, SelectAll};
use futures::{FutureExt, Stream, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::cli::console::Console;

enum Cmd {
    /// Print every line of this stream.
    Add(BoxStream<'static, String>),
    /// Print what is ready now, then answer.
    Flush(oneshot::Sender<()>),
}

/// One task printing the lines of many event streams; stopped when dropped.
#[derive(Debug)]
pub(crate) struct Printer {
    tx: mpsc::UnboundedSender<Cmd>,
    task: JoinHandle<()>,
}

impl Printer {
    /// Starts the task; lines go to `console` while `print` is on.
    pub(crate) fn start(console: Console, print: Arc<AtomicBool>) -> Printer {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(rx, console, print));
        Printer { tx, task }
    }

    /// Prints each line of `lines` as it comes.
    pub(crate) fn add(&self, lines: impl Stream<Item = String> + Send + 'static) {
        let _ = self.tx.send(Cmd::Add(lines.boxed()));
    }

    /// Returns once every line already available (an event the client has delivered) is
    /// printed.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future only stops waiting.
    pub(crate) async fn flush(&self) {
        let (done, rx) = oneshot::channel();
        if self.tx.send(Cmd::Flush(done)).is_ok() {
            let _ = rx.await;
        }
    }
}

impl Drop for Printer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(mut rx: mpsc::UnboundedReceiver<Cmd>, console: Console, print: Arc<AtomicBool>) {
    let mut streams: SelectAll<BoxStream<'static, String>> = SelectAll::new();
    let emit = |line: String| {
        if print.load(Ordering::Relaxed) {
            console.out(&line);
        }
    };
    loop {
        tokio::select! {
            cmd = rx.recv() => match cmd {
                None => return,
                Some(Cmd::Add(s)) => streams.push(s),
                Some(Cmd::Flush(done)) => {
                    // Streams whose event was delivered are ready: poll until none is.
                    while let Some(Some(line)) = streams.next().now_or_never() {
                        emit(line);
                    }
                    let _ = done.send(());
                }
            },
            Some(line) = streams.next(), if !streams.is_empty() => emit(line),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn flush_prints_what_is_ready_and_keeps_waiting_for_the_rest() {
        let (console, out, _err) = Console::buffers();
        let printer = Printer::start(console, Arc::new(AtomicBool::new(true)));
        let (ready_tx, ready_rx) = oneshot::channel::<String>();
        let (_later_tx, later_rx) = oneshot::channel::<String>();
        for rx in [ready_rx, later_rx] {
            printer.add(futures::stream::once(rx).filter_map(|r| async move { r.ok() }));
        }
        ready_tx.send("one event\n".into()).unwrap();
        printer.flush().await;
        assert_eq!(out.contents(), "one event\n");
        printer.flush().await;
        assert_eq!(out.contents(), "one event\n");
    }
}
