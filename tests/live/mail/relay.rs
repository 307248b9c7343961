//! A TCP relay on loopback that cuts each connection after a set number of
//! bytes (both directions together): a dropped line, on demand. It also
//! counts the client's turns: how often the client spoke after the server
//! had, which is the number of round trips a lock-step client waits for.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

pub struct Relay {
    pub port: u16,
    limit: Arc<AtomicU64>,
    cuts: Arc<AtomicUsize>,
    /// Bytes relayed by the last connection (to size the cut points).
    last_total: Arc<AtomicU64>,
    /// Client turns of the last connection.
    last_turns: Arc<AtomicU64>,
}

impl Relay {
    /// Relays 127.0.0.1:port → 127.0.0.1:target; unlimited until [`Relay::cut_after`].
    pub fn new(target: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let relay = Relay {
            port: listener.local_addr().unwrap().port(),
            limit: Arc::new(AtomicU64::new(u64::MAX)),
            cuts: Arc::new(AtomicUsize::new(0)),
            last_total: Arc::new(AtomicU64::new(0)),
            last_turns: Arc::new(AtomicU64::new(0)),
        };
        let (limit, cuts, last_total, last_turns) = (
            relay.limit.clone(),
            relay.cuts.clone(),
            relay.last_total.clone(),
            relay.last_turns.clone(),
        );
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                let limit = limit.load(Ordering::SeqCst);
                let conn = Arc::new(Conn {
                    streams: [client.try_clone().unwrap(), server.try_clone().unwrap()],
                    bytes: AtomicU64::new(0),
                    limit,
                    cut: AtomicUsize::new(0),
                    last_speaker: AtomicUsize::new(SERVER),
                });
                last_total.store(0, Ordering::SeqCst);
                last_turns.store(0, Ordering::SeqCst);
                for (side, from, to) in [
                    (
                        CLIENT,
                        client.try_clone().unwrap(),
                        server.try_clone().unwrap(),
                    ),
                    (SERVER, server, client),
                ] {
                    let (conn, cuts, last_total, last_turns) = (
                        conn.clone(),
                        cuts.clone(),
                        last_total.clone(),
                        last_turns.clone(),
                    );
                    std::thread::spawn(move || {
                        pump(side, from, to, &conn, &cuts, &last_total, &last_turns)
                    });
                }
            }
        });
        relay
    }

    /// Cuts every new connection after `n` bytes; `None` relays everything.
    pub fn cut_after(&self, n: Option<u64>) {
        self.limit.store(n.unwrap_or(u64::MAX), Ordering::SeqCst);
    }

    /// How many connections were cut so far.
    pub fn cuts(&self) -> usize {
        self.cuts.load(Ordering::SeqCst)
    }

    /// Bytes the most recent connection carried.
    pub fn last_total(&self) -> u64 {
        self.last_total.load(Ordering::SeqCst)
    }

    /// How often the client of the most recent connection spoke after the server.
    pub fn last_turns(&self) -> u64 {
        self.last_turns.load(Ordering::SeqCst)
    }
}

const CLIENT: usize = 0;
const SERVER: usize = 1;

struct Conn {
    streams: [TcpStream; 2],
    bytes: AtomicU64,
    limit: u64,
    cut: AtomicUsize,
    last_speaker: AtomicUsize,
}

fn pump(
    side: usize,
    mut from: TcpStream,
    mut to: TcpStream,
    conn: &Conn,
    cuts: &AtomicUsize,
    total: &AtomicU64,
    turns: &AtomicU64,
) {
    let mut buf = [0u8; 4096];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n as u64,
        };
        if conn.last_speaker.swap(side, Ordering::SeqCst) != side && side == CLIENT {
            turns.fetch_add(1, Ordering::SeqCst);
        }
        let before = conn.bytes.fetch_add(n, Ordering::SeqCst);
        total.fetch_add(n, Ordering::SeqCst);
        if before + n > conn.limit {
            let keep = conn.limit.saturating_sub(before) as usize;
            let _ = to.write_all(&buf[..keep]);
            if conn.cut.fetch_add(1, Ordering::SeqCst) == 0 {
                cuts.fetch_add(1, Ordering::SeqCst);
            }
            for s in &conn.streams {
                let _ = s.shutdown(Shutdown::Both);
            }
            return;
        }
        if to.write_all(&buf[..n as usize]).is_err() {
            break;
        }
    }
    // One side closed: pass the close on.
    let _ = to.shutdown(Shutdown::Write);
}
