//! Real mail servers on loopback for the tests: Postfix (submission with
//! STARTTLS on one port, implicit TLS on another, SMTP AUTH through Dovecot's
//! auth socket) delivering over LMTP to Dovecot (IMAP with STARTTLS, IMAPS,
//! POP3 with STLS, POP3S, Maildir, passwd-file users, imap_zlib for
//! COMPRESS=DEFLATE).
//!
//! Everything lives in one short temporary directory (Unix socket paths are
//! limited to 108 bytes), listens on free loopback ports, and uses a test CA
//! with a CA:FALSE server leaf (rustls refuses a CA as a server certificate).
//! Postfix is told not to hide client bugs: `message_drop_headers` is empty
//! (a Bcc header would reach the mailbox), `local_header_rewrite_clients` is
//! empty (no Date/Message-ID added), `smtputf8_enable = no`.
//!
//! One set of servers is shared by every test of the binary ([`servers`]);
//! each test makes its own users with [`Servers::add_user`]. The processes
//! are started by PID and stopped (SIGTERM, then SIGKILL) when the set is
//! dropped, which an `atexit` hook does when the test binary exits; they also
//! get SIGTERM from the kernel if the test binary dies (PR_SET_PDEATHSIG).
//!
//! Recipient addresses steer Postfix for fault tests: a local part starting
//! with `reject` is refused at RCPT with 550, one starting with `defer` gets
//! 450.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

/// The mail domain every test user lives in (the fixture certificates' domain).
pub const DOMAIN: &str = "example.org";

/// Loopback ports of one server set.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    /// Postfix submission, STARTTLS (AUTH only after it).
    pub submission: u16,
    /// Postfix submission, implicit TLS.
    pub smtps: u16,
    /// The same without PIPELINING in EHLO, and refusing a client that
    /// pipelines anyway (`reject_unauth_pipelining`).
    pub smtps_nopipe: u16,
    pub imap: u16,
    pub imaps: u16,
    pub pop3: u16,
    pub pop3s: u16,
    pub lmtp: u16,
}

pub struct Servers {
    pub dir: PathBuf,
    pub ports: Ports,
    children: Mutex<Vec<Child>>,
    users: Mutex<Vec<String>>,
}

impl Servers {
    /// The test CA certificate (PEM) that signed the servers' certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("tls/ca.pem")
    }

    /// Adds a Dovecot user `local@example.org` with `password`; returns the address.
    ///
    /// Each user has their own passwd-file (`users/ADDRESS`): Dovecot re-reads
    /// a changed passwd-file at most once a second, but opens a new one at once.
    pub fn add_user(&self, local: &str, password: &str) -> String {
        let addr = format!("{local}@{DOMAIN}");
        let mut users = self.users.lock().unwrap();
        assert!(
            !users.contains(&addr),
            "user {addr} made twice: tests must use their own users"
        );
        users.push(addr.clone());
        write_group_readable(
            &self.dir.join("users").join(&addr),
            &format!("{addr}:{{PLAIN}}{password}::::::\n"),
        );
        addr
    }

    /// The Maildir Dovecot delivers `addr`'s mail to.
    pub fn maildir(&self, addr: &str) -> PathBuf {
        self.dir.join("mail").join(addr).join("Maildir")
    }

    /// Messages delivered to `addr` so far (new/ and cur/ of the INBOX).
    pub fn delivered(&self, addr: &str) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = fs::read_dir(self.maildir(addr).join(sub)) else {
                continue;
            };
            let mut paths: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
            paths.sort();
            for p in paths {
                out.push(fs::read(p).unwrap());
            }
        }
        out
    }

    /// Waits (bounded) until `addr` has at least `n` messages; returns them.
    pub fn wait_delivered(&self, addr: &str, n: usize) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.delivered(addr);
            if got.len() >= n {
                return got;
            }
            if Instant::now() > deadline {
                panic!(
                    "{addr} has {} messages, expected {n}, after 20 s\n{}",
                    got.len(),
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Delivers `data` straight into `addr`'s mailbox over Dovecot's LMTP,
    /// bypassing Postfix (for fetch tests); returns once it is in the Maildir.
    pub fn inject(&self, addr: &str, data: &[u8]) {
        let mut s = TcpStream::connect(("127.0.0.1", self.ports.lmtp)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut r = std::io::BufReader::new(s.try_clone().unwrap());
        let expect = |r: &mut std::io::BufReader<TcpStream>, code: &str| loop {
            let mut line = String::new();
            std::io::BufRead::read_line(r, &mut line).unwrap();
            assert!(
                line.starts_with(code),
                "LMTP: expected {code}, got {line:?}\n{}",
                self.logs()
            );
            if line.as_bytes().get(3) == Some(&b' ') {
                break;
            }
        };
        expect(&mut r, "220");
        s.write_all(b"LHLO test\r\n").unwrap();
        expect(&mut r, "250");
        s.write_all(b"MAIL FROM:<>\r\n").unwrap();
        expect(&mut r, "250");
        s.write_all(format!("RCPT TO:<{addr}>\r\n").as_bytes())
            .unwrap();
        expect(&mut r, "250");
        s.write_all(b"DATA\r\n").unwrap();
        expect(&mut r, "354");
        let mut body = Vec::new();
        sealpost::smime::bsmtp::write(
            &mut body,
            &[sealpost::smime::bsmtp::Transaction {
                mail_from: String::new(),
                rcpt_to: vec![addr.to_string()],
                data: data.to_vec(),
            }],
        )
        .unwrap();
        // Only the dot-stuffed data and the final dot of the Batch SMTP form.
        let start = body.windows(6).position(|w| w == b"DATA\r\n").unwrap() + 6;
        s.write_all(&body[start..]).unwrap();
        // LMTP answers a recipient after its mailbox has the message (RFC
        // 2033 §4.2; Dovecot logs "Saved" first): no need to wait. Counting
        // the mailbox instead raced with a killed `fetch --delete` whose
        // QUIT had reached the server, which expunges after the client died.
        expect(&mut r, "250");
        s.write_all(b"QUIT\r\n").unwrap();
    }

    /// Waits (bounded) until every marker appears in some message delivered
    /// to `addr`, then a little longer for stragglers; returns the messages.
    pub fn wait_for_markers(&self, addr: &str, markers: &[String]) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.delivered(addr);
            let missing: Vec<&String> = markers
                .iter()
                .filter(|m| {
                    !got.iter()
                        .any(|g| String::from_utf8_lossy(g).contains(m.as_str()))
                })
                .collect();
            if missing.is_empty() {
                std::thread::sleep(Duration::from_millis(500));
                return self.delivered(addr);
            }
            if Instant::now() > deadline {
                panic!("{addr} never got {missing:?}\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The tail of both servers' logs, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for name in [
            "postfix.log",
            "dovecot.log",
            "master.out",
            "master.err",
            "dovecot.out",
            "dovecot.err",
        ] {
            let text = fs::read_to_string(self.dir.join("log").join(name)).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(40)..];
            out.push_str(&format!("--- {name} (last {} lines)\n", tail.len()));
            for l in tail {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }

    fn stop(&self) {
        let mut children = self.children.lock().unwrap();
        for child in children.iter_mut() {
            // SAFETY: kill(2) on the PID of a child we started and have not reaped.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        }
        for child in children.iter_mut() {
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                match child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() > deadline => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        }
        children.clear();
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        self.stop();
        if std::env::var_os("SEALPOST_TEST_KEEP_SERVERS").is_none() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

static SHARED: OnceLock<Mutex<Option<Arc<Servers>>>> = OnceLock::new();

/// The server set shared by the tests of this binary, started on first use.
pub fn servers() -> Arc<Servers> {
    let cell = SHARED.get_or_init(|| Mutex::new(None));
    let mut guard = cell.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = guard.as_ref() {
        return s.clone();
    }
    let s = Arc::new(start());
    *guard = Some(s.clone());
    // SAFETY: registering a plain extern "C" function without captured state.
    unsafe { libc::atexit(stop_shared) };
    s
}

extern "C" fn stop_shared() {
    if let Some(cell) = SHARED.get() {
        let taken = cell.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(taken);
    }
}

/// Starts a server set, retrying with fresh ports if another process took one.
fn start() -> Servers {
    let mut last = String::new();
    for _ in 0..3 {
        match try_start() {
            Ok(s) => return s,
            Err(e) => last = e,
        }
    }
    panic!("cannot start the test mail servers:\n{last}");
}

fn try_start() -> Result<Servers, String> {
    for tool in [
        "/usr/sbin/postfix",
        "/usr/lib/postfix/sbin/master",
        "/usr/sbin/dovecot",
    ] {
        if !Path::new(tool).exists() {
            return Err(format!(
                "{tool} is missing: install postfix dovecot-core dovecot-imapd dovecot-pop3d \
                 dovecot-lmtpd (.ci/run does)"
            ));
        }
    }
    let dir = tempfile::Builder::new()
        .prefix("spm")
        .tempdir_in("/tmp")
        .map_err(|e| e.to_string())?
        .keep();
    // Postfix and Dovecot drop privileges: their users must reach the directory.
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    let servers = Servers {
        dir: dir.clone(),
        ports: free_ports(),
        children: Mutex::new(Vec::new()),
        users: Mutex::new(Vec::new()),
    };
    for sub in ["pf", "pfq", "pfd", "dc", "dr", "ds", "log", "tls"] {
        fs::create_dir_all(dir.join(sub)).unwrap();
    }
    fs::create_dir_all(dir.join("mail")).unwrap();
    chown(&dir.join("mail"), 65534, 65534);
    // master.lock lives in the data directory.
    let postfix_uid = user_id("postfix");
    chown(&dir.join("pfd"), postfix_uid, 0);
    make_certificates(&dir.join("tls"))?;
    fs::create_dir_all(dir.join("users")).unwrap();
    chown(&dir.join("users"), 0, group_id("dovecot"));
    fs::set_permissions(dir.join("users"), fs::Permissions::from_mode(0o750)).unwrap();
    write_dovecot_conf(&servers);
    write_postfix_conf(&servers);

    let out = |name: &str| fs::File::create(dir.join("log").join(name)).unwrap();
    let mut cmd = Command::new("/usr/sbin/dovecot");
    cmd.arg("-F")
        .arg("-c")
        .arg(dir.join("dc/dovecot.conf"))
        .stdout(out("dovecot.out"))
        .stderr(out("dovecot.err"));
    let dovecot = spawn(cmd)?;
    servers.children.lock().unwrap().push(dovecot);
    let check = Command::new("/usr/sbin/postfix")
        .arg("-c")
        .arg(dir.join("pf"))
        .arg("check")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("postfix check: {e}"))?;
    if !check.status.success() {
        return Err(format!(
            "postfix check failed: {}{}\n{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr),
            servers.logs()
        ));
    }
    let mut cmd = Command::new("/usr/lib/postfix/sbin/master");
    cmd.arg("-c")
        .arg(dir.join("pf"))
        .arg("-s")
        .stdout(out("master.out"))
        .stderr(out("master.err"));
    let master = spawn(cmd)?;
    servers.children.lock().unwrap().push(master);

    let p = servers.ports;
    let deadline = Instant::now() + Duration::from_secs(30);
    for (name, port, greeting) in [
        ("dovecot imap", p.imap, "* OK"),
        ("dovecot imaps", p.imaps, ""),
        ("dovecot pop3", p.pop3, "+OK"),
        ("dovecot pop3s", p.pop3s, ""),
        ("dovecot lmtp", p.lmtp, "220"),
        ("postfix submission", p.submission, "220"),
        ("postfix smtps", p.smtps, ""),
        ("postfix smtps without pipelining", p.smtps_nopipe, ""),
    ] {
        wait_ready(&servers, name, port, greeting, deadline)?;
    }
    Ok(servers)
}

/// Polls a port until it accepts connections and (for plaintext services)
/// greets with `greeting`; fails with the server logs at the deadline.
fn wait_ready(
    servers: &Servers,
    name: &str,
    port: u16,
    greeting: &str,
    deadline: Instant,
) -> Result<(), String> {
    let mut last = String::new();
    while Instant::now() < deadline {
        {
            let mut children = servers.children.lock().unwrap();
            for child in children.iter_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!(
                        "a server process exited early ({status}) while waiting for {name}\n{}",
                        servers.logs()
                    ));
                }
            }
        }
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) if greeting.is_empty() => {
                let _ = s.shutdown(std::net::Shutdown::Both);
                return Ok(());
            }
            Ok(mut s) => {
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut buf = [0u8; 512];
                let n = s.read(&mut buf).unwrap_or(0);
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                let _ = s.write_all(b"QUIT\r\n");
                if text.starts_with(greeting) {
                    return Ok(());
                }
                last = format!("greeting {text:?}");
            }
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!(
        "{name} on 127.0.0.1:{port} not ready in time ({last})\n{}",
        servers.logs()
    ))
}

/// Spawns a server from a thread that lives as long as the process, so that
/// PR_SET_PDEATHSIG (which fires when the spawning *thread* ends) only fires
/// when the test binary dies.
pub fn spawn(mut cmd: Command) -> Result<Child, String> {
    type SpawnRequest = (Command, mpsc::Sender<std::io::Result<Child>>);
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let sender = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        std::thread::spawn(move || {
            for (mut cmd, reply) in rx {
                let _ = reply.send(cmd.spawn());
            }
        });
        Mutex::new(tx)
    });
    let program = cmd.get_program().to_string_lossy().into_owned();
    cmd.stdin(Stdio::null());
    // SAFETY: prctl is async-signal-safe and touches only the new process.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let (reply_tx, reply_rx) = mpsc::channel();
    sender
        .lock()
        .unwrap()
        .send((cmd, reply_tx))
        .map_err(|e| e.to_string())?;
    reply_rx
        .recv()
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot start {program}: {e}"))
}

fn free_ports() -> Ports {
    let listeners: Vec<TcpListener> = (0..8)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let p: Vec<u16> = listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect();
    Ports {
        submission: p[0],
        smtps: p[1],
        imap: p[2],
        imaps: p[3],
        pop3: p[4],
        pop3s: p[5],
        lmtp: p[6],
        smtps_nopipe: p[7],
    }
}

fn make_certificates(dir: &Path) -> Result<(), String> {
    let run = |args: &[&str]| -> Result<(), String> {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run openssl: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "30",
        "-subj",
        "/CN=sealpost test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    run(&ca)?;
    let mut req = vec!["req"];
    req.extend(ec);
    req.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    run(&req)?;
    fs::write(
        dir.join("leaf.ext"),
        "basicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth\n\
         subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "30",
        "-extfile",
        "leaf.ext",
    ])?;
    fs::set_permissions(dir.join("ca.pem"), fs::Permissions::from_mode(0o644)).unwrap();
    Ok(())
}

fn write_dovecot_conf(s: &Servers) {
    let d = s.dir.display();
    let p = s.ports;
    let conf = format!(
        r#"# sealpost test Dovecot
base_dir = {d}/dr
state_dir = {d}/ds
instance_name = sealpost-{pid}-{lmtp}
protocols = imap pop3 lmtp
listen = 127.0.0.1
log_path = {d}/log/dovecot.log
ssl = yes
ssl_cert = <{d}/tls/server.pem
ssl_key = <{d}/tls/server.key
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
auth_verbose = yes
mail_location = maildir:~/Maildir
mail_uid = 65534
mail_gid = 65534
first_valid_uid = 1
first_valid_gid = 1
default_internal_user = dovecot
default_login_user = dovenull
mail_max_userip_connections = 100
pop3_uidl_format = %08Xu%08Xv
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users/%u
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/users/%u
  default_fields = uid=65534 gid=65534 home={d}/mail/%u
}}
protocol imap {{
  mail_plugins = $mail_plugins imap_zlib
}}
protocol lmtp {{
  postmaster_address = postmaster@{DOMAIN}
}}
service imap-login {{
  inet_listener imap {{
    port = {imap}
  }}
  inet_listener imaps {{
    port = {imaps}
    ssl = yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {pop3}
  }}
  inet_listener pop3s {{
    port = {pop3s}
    ssl = yes
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    port = {lmtp}
  }}
}}
service auth {{
  unix_listener auth-client {{
    mode = 0666
  }}
}}
"#,
        pid = std::process::id(),
        imap = p.imap,
        imaps = p.imaps,
        pop3 = p.pop3,
        pop3s = p.pop3s,
        lmtp = p.lmtp,
    );
    let path = s.dir.join("dc/dovecot.conf");
    fs::write(&path, conf).unwrap();
}

fn write_postfix_conf(s: &Servers) {
    let d = s.dir.display();
    let p = s.ports;
    let main = format!(
        r#"# sealpost test Postfix
compatibility_level = 3.6
queue_directory = {d}/pfq
data_directory = {d}/pfd
meta_directory = /etc/postfix
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mail.sealpost.test
mydomain = sealpost.test
myorigin = $myhostname
mydestination =
mynetworks = 127.0.0.0/8
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
maillog_file_prefixes = {d}/log
maillog_file = {d}/log/postfix.log
alias_maps =
alias_database =
biff = no
virtual_mailbox_domains = {DOMAIN}
virtual_transport = lmtp:inet:127.0.0.1:{lmtp}
smtpd_reject_unlisted_recipient = no
smtpd_sasl_type = dovecot
smtpd_sasl_path = {d}/dr/auth-client
smtpd_sasl_auth_enable = yes
smtpd_tls_cert_file = {d}/tls/server.pem
smtpd_tls_key_file = {d}/tls/server.key
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = check_recipient_access regexp:{d}/pf/rcpt_access, permit_sasl_authenticated, reject
message_drop_headers =
local_header_rewrite_clients =
smtputf8_enable = no
delay_warning_time = 0
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
"#,
        lmtp = p.lmtp,
    );
    let master = format!(
        r#"127.0.0.1:{sub} inet n - n - - smtpd
127.0.0.1:{smtps} inet n - n - - smtpd -o smtpd_tls_wrappermode=yes
127.0.0.1:{nopipe} inet n - n - - smtpd -o smtpd_tls_wrappermode=yes -o smtpd_discard_ehlo_keywords=pipelining -o smtpd_data_restrictions=reject_unauth_pipelining
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
lmtp      unix  - - n - - lmtp
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"#,
        sub = p.submission,
        smtps = p.smtps,
        nopipe = p.smtps_nopipe,
    );
    let access = "/^reject[^@]*@/ REJECT 5.1.1 no such user here (test rule)\n\
                  /^defer[^@]*@/ DEFER_IF_PERMIT 4.2.0 try again later (test rule)\n";
    for (name, text) in [
        ("main.cf", main.as_str()),
        ("master.cf", master.as_str()),
        ("rcpt_access", access),
    ] {
        let path = s.dir.join("pf").join(name);
        fs::write(&path, text).unwrap();
        // Postfix will not load a file modified in the current second; age them.
        let old = SystemTime::now() - Duration::from_secs(10);
        fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
}

/// Writes a file Dovecot's auth process (user dovecot) can read: root:dovecot 0640.
fn write_group_readable(path: &Path, text: &str) {
    let name = path.file_name().unwrap().to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    fs::write(&tmp, text).unwrap();
    let gid = group_id("dovecot");
    chown(&tmp, 0, gid);
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o640)).unwrap();
    fs::rename(&tmp, path).unwrap();
}

fn user_id(name: &str) -> u32 {
    id_from("/etc/passwd", name)
}

fn group_id(name: &str) -> u32 {
    id_from("/etc/group", name)
}

fn id_from(file: &str, name: &str) -> u32 {
    let text = fs::read_to_string(file).unwrap_or_default();
    text.lines()
        .find_map(|l| {
            let mut f = l.split(':');
            (f.next() == Some(name)).then(|| f.nth(1)?.parse().ok())?
        })
        .unwrap_or_else(|| panic!("no {name} in {file}: are postfix and dovecot-core installed?"))
}

fn chown(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
}
