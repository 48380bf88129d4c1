//! Where the shell writes: standard output and standard error, or two in-memory buffers.
//!
//! zkCli.sh writes results on stdout and messages (`Created /x`, errors, usage) on stderr; the
//! shell keeps that split so scripts and the comparison test can rely on it.

use std::io::Write;
use std::sync::{Arc, Mutex};

type Sink = Arc<Mutex<Box<dyn Write + Send>>>;

/// The shell's two output streams. Cheap to clone: watch tasks print through a clone.
#[derive(Clone)]
pub struct Console {
    out: Sink,
    err: Sink,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Console")
    }
}

/// A shared in-memory buffer, for tests.
#[derive(Clone, Default, Debug)]
pub struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    /// Everything written so far, as text.
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn write_to(sink: &Sink, text: &str) {
    let mut w = sink.lock().unwrap_or_else(|e| e.into_inner());
    // A closed terminal or pipe is not the shell's problem: drop the output.
    let _ = w.write_all(text.as_bytes());
    let _ = w.flush();
}

impl Console {
    /// The process's stdout and stderr.
    pub fn stdio() -> Console {
        Console {
            out: Arc::new(Mutex::new(Box::new(std::io::stdout()))),
            err: Arc::new(Mutex::new(Box::new(std::io::stderr()))),
        }
    }

    /// Two in-memory buffers (stdout, stderr).
    pub fn buffers() -> (Console, Buffer, Buffer) {
        let (out, err) = (Buffer::default(), Buffer::default());
        let console = Console {
            out: Arc::new(Mutex::new(Box::new(out.clone()))),
            err: Arc::new(Mutex::new(Box::new(err.clone()))),
        };
        (console, out, err)
    }

    /// Writes `text` on stdout as is.
    pub fn out(&self, text: &str) {
        write_to(&self.out, text);
    }

    /// Writes `line` and a newline on stdout.
    pub fn outln(&self, line: &str) {
        write_to(&self.out, &format!("{line}\n"));
    }

    /// Writes `text` on stderr as is.
    pub fn err(&self, text: &str) {
        write_to(&self.err, text);
    }

    /// Writes `line` and a newline on stderr.
    pub fn errln(&self, line: &str) {
        write_to(&self.err, &format!("{line}\n"));
    }
}
