//! A real DNS server for the discovery tests: dnsmasq on a loopback port,
//! answering only from the SRV records it is started with. Each test starts
//! its own and stops it (by PID) when done.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Dns {
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

impl Dns {
    /// dnsmasq serving `records`, each `_service._tcp.domain,target,port,priority,weight`
    /// (as `--srv-host`; no target means target ".").
    pub fn start(records: &[String]) -> Dns {
        assert!(
            std::path::Path::new("/usr/sbin/dnsmasq").exists(),
            "/usr/sbin/dnsmasq is missing: apt-get install dnsmasq-base (sh tests/run.sh does)"
        );
        let mut last = String::new();
        for _ in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let port = free_udp_and_tcp_port();
            let mut cmd = Command::new("/usr/sbin/dnsmasq");
            cmd.args([
                "--keep-in-foreground",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--no-poll",
                "--bind-interfaces",
                "--listen-address=127.0.0.1",
                "--user=root",
                "--log-queries",
                // Authoritative for localhost: unknown names get NXDOMAIN.
                "--local=/localhost/",
            ])
            .arg(format!("--port={port}"))
            .arg(format!("--pid-file={}", dir.path().join("pid").display()))
            .arg(format!(
                "--log-facility={}",
                dir.path().join("log").display()
            ))
            .args(records.iter().map(|r| format!("--srv-host={r}")))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("stderr")).unwrap());
            let mut child = super::servers::spawn(cmd).unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    last = format!(
                        "dnsmasq exited ({status}): {}",
                        std::fs::read_to_string(dir.path().join("stderr")).unwrap_or_default()
                    );
                    break;
                }
                if answers(port) {
                    return Dns { port, child, dir };
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    last = "dnsmasq did not answer within 10 s".into();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("cannot start dnsmasq: {last}");
    }

    /// `SEALPOST_DNS_SERVER` for this server.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// dnsmasq's query log (for failure messages and to see TCP use).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the PID of a child we started and have not reaped.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

/// Whether something answers DNS queries on the port.
fn answers(port: u16) -> bool {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let query = sealpost::mail::srv::build_query(1, "_probe._tcp.localhost").unwrap();
    let mut buf = [0u8; 512];
    sock.send_to(&query, ("127.0.0.1", port)).is_ok() && sock.recv(&mut buf).is_ok()
}

fn free_udp_and_tcp_port() -> u16 {
    loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}
