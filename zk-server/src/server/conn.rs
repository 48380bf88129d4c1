//! One client connection: four-letter-word detection, the handshake frame, request frames in,
//! batched frames out. At most `max_outstanding` requests are in flight per connection; past
//! that the task stops reading from the socket.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, Semaphore};
use zk_core::frame::FrameReader;
use zk_core::jute::{Decode, Reader};
use zk_core::proto::{ConnectRequest, RequestHeader};

use crate::core::ConnId;
use crate::fourlw;

use super::engine::{ToConn, ToEngine};

/// How long a new connection may stay silent before it is dropped.
const SESSIONLESS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Bytes read from a socket at a time.
const READ_BUFFER: usize = 64 * 1024;

/// Limits a connection enforces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnLimits {
    /// jute.maxbuffer.
    pub(crate) max_frame: usize,
    /// Requests in flight before the connection stops reading.
    pub(crate) max_outstanding: usize,
}

/// Serves one connection until either side closes it.
///
/// # Cancel safety
/// Dropping the future drops the socket; the engine learns of it only through `Closed`, which is
/// sent on every normal exit, so callers should let it run to completion.
pub(crate) async fn serve(
    stream: TcpStream,
    conn: ConnId,
    remote: SocketAddr,
    engine: mpsc::Sender<ToEngine>,
    limits: ConnLimits,
) {
    let _ = stream.set_nodelay(true);
    let (rd, wr) = stream.into_split();
    // Buffered, so a burst of pipelined requests costs one read system call, not two each.
    let mut rd = BufReader::with_capacity(READ_BUFFER, rd);
    let mut first = [0u8; 4];
    // A connection that never says anything is dropped (Apache ZooKeeper's
    // sessionlessCnxnTimeout).
    match tokio::time::timeout(SESSIONLESS_TIMEOUT, rd.read_exact(&mut first)).await {
        Ok(Ok(_)) => {}
        _ => return,
    }
    if let Some(cmd) = fourlw::detect(first) {
        let arg = if cmd == fourlw::YIELD {
            read_argument(&mut rd).await
        } else {
            String::new()
        };
        let (tx, rx) = oneshot::channel();
        if engine
            .send(ToEngine::FourLetter {
                cmd,
                arg,
                reply: tx,
            })
            .await
            .is_ok()
        {
            if let Ok(text) = rx.await {
                let mut wr = wr;
                let _ = wr.write_all(text.as_bytes()).await;
                let _ = wr.shutdown().await;
            }
        }
        return;
    }
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let queued = Arc::new(AtomicUsize::new(0));
    if engine
        .send(ToEngine::Accept {
            conn,
            remote,
            tx: out_tx,
            queued: queued.clone(),
        })
        .await
        .is_err()
    {
        return;
    }
    let permits = Arc::new(Semaphore::new(limits.max_outstanding));
    let (closed_tx, closed_rx) = oneshot::channel::<()>();
    let writer = tokio::spawn(write_loop(wr, out_rx, permits.clone(), closed_tx, queued));
    tokio::select! {
        r = read_loop(&mut rd, first, conn, &engine, limits, &permits) => {
            if let Err(reason) = r {
                tracing::debug!(?conn, %remote, reason, "closing connection");
            }
        }
        _ = closed_rx => {}
    }
    let _ = engine.send(ToEngine::Closed { conn }).await;
    let _ = writer.await;
}

/// The rest of a four-letter word's line (`ydld 3`): up to a line end, the end of the stream,
/// 64 bytes, or 200 ms of silence.
async fn read_argument(rd: &mut BufReader<OwnedReadHalf>) -> String {
    let mut arg = Vec::new();
    let read = async {
        let mut b = [0u8; 1];
        while arg.len() < 64 {
            match rd.read(&mut b).await {
                Ok(1) if b[0] != b'\n' => arg.push(b[0]),
                _ => break,
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_millis(200), read).await;
    String::from_utf8_lossy(&arg).trim().to_owned()
}

/// Reads the payload of a frame whose length prefix is `len_bytes`; a negative length or one
/// over jute.maxbuffer closes the connection.
async fn read_frame(
    rd: &mut BufReader<OwnedReadHalf>,
    len_bytes: [u8; 4],
    frames: FrameReader,
) -> Result<Vec<u8>, &'static str> {
    let len = frames
        .check_len(len_bytes)
        .map_err(|_| "frame length out of range")?;
    let mut buf = vec![0u8; len];
    rd.read_exact(&mut buf).await.map_err(|_| "eof")?;
    Ok(buf)
}

async fn read_loop(
    rd: &mut BufReader<OwnedReadHalf>,
    first: [u8; 4],
    conn: ConnId,
    engine: &mpsc::Sender<ToEngine>,
    limits: ConnLimits,
    permits: &Semaphore,
) -> Result<(), &'static str> {
    let frames = FrameReader::new(limits.max_frame);
    let frame = tokio::time::timeout(SESSIONLESS_TIMEOUT, read_frame(rd, first, frames))
        .await
        .map_err(|_| "no connect request")??;
    let req =
        ConnectRequest::decode(&mut Reader::new(&frame)).map_err(|_| "bad connect request")?;
    engine
        .send(ToEngine::Connect { conn, req })
        .await
        .map_err(|_| "engine gone")?;
    loop {
        let mut len = [0u8; 4];
        rd.read_exact(&mut len).await.map_err(|_| "eof")?;
        let frame = read_frame(rd, len, frames).await?;
        let mut r = Reader::new(&frame);
        let header = RequestHeader::decode(&mut r).map_err(|_| "short request header")?;
        // Bound in-flight requests: wait for a reply to be written before reading more.
        permits.acquire().await.map_err(|_| "closed")?.forget();
        engine
            .send(ToEngine::Request {
                conn,
                xid: header.xid,
                op: header.op_type,
                body: r.rest().to_vec(),
            })
            .await
            .map_err(|_| "engine gone")?;
    }
}

async fn write_loop(
    mut wr: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<ToConn>,
    permits: Arc<Semaphore>,
    closed: oneshot::Sender<()>,
    queued: Arc<AtomicUsize>,
) {
    while let Some(m) = rx.recv().await {
        match m {
            ToConn::Frames(buf, replies) => {
                if wr.write_all(&buf).await.is_err() {
                    break;
                }
                queued.fetch_sub(buf.len(), Ordering::AcqRel);
                permits.add_permits(replies);
            }
            ToConn::Close => break,
        }
    }
    let _ = wr.shutdown().await;
    permits.close();
    let _ = closed.send(());
}
