//! Group key release benchmark (not a test): the release build of `sealpost
//! group serve` with an RSA-3072 group key, driven over keep-alive HTTPS on
//! loopback by 1, 8 and 64 clients, each a thread with one request
//! outstanding (a closed loop), then by 64 clients at a fixed offered rate
//! (an open loop). Compared in the same run with the physical limit: the
//! rate of the one RSA-3072 private-key operation each release costs (the
//! group key's OAEP decrypt), on one thread and on both cores.
//!
//! Requests are signed before each timed phase (the members' RSA-2048
//! signatures would otherwise compete with the server for the cores); each
//! has its own nonce. Run: `cargo bench --bench release`.
//!
//! Then anonymous release (issue 17): the same closed loop at 8 clients
//! with membership passes instead of identities, as a ratio to the
//! identity releases measured just before on the same server, with what a
//! pass costs to fetch and the issuing key's derivation once per period.
//!
//! Then the stores side by side (issue 16): the same closed loop on the
//! SQLite store, on PostgreSQL (a private cluster on loopback, the store
//! copied over with `group migrate`) with one replica, and with two
//! replicas sharing the clients, as ratios to SQLite. Skipped with a
//! printed reason when the PostgreSQL binaries are absent.

#[path = "../tests/support/postgres.rs"]
mod postgres;
#[path = "../tests/live/group/server.rs"]
mod server;

use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use aws_lc_rs::rsa::{
    OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey, OAEP_SHA256_MGF1SHA256,
};
use cms::enveloped_data::RecipientInfo;
use der::{Decode, Encode};
use rand_core::{OsRng, RngCore};
use rsa::pkcs8::EncodePrivateKey;
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use sealpost::group::keys::GroupKey;
use sealpost::group::release::client::{sign_request, Answer, ReleaseClient, ServerUrl};
use sealpost::group::release::protocol::pass::PassReleaseRequest;
use sealpost::group::release::protocol::{key_hash, ReleaseRequest};
use sealpost::group::store::{SqliteStore, Store};
use sealpost::smime::envelope::{key_trans_recipient, ContentCipher, ContentKey, RecipientOptions};
use x509_cert::Certificate;

use server::{admin, serve_command, tls_files, Served, TlsFiles};

const PASSPHRASE: &str = "bench passphrase";
const GROUP: &str = "list";
const MEMBERS: &[&str] = &["bob", "carol", "dave", "erin", "frank", "grace"];
/// How long each measurement of the RSA limit runs.
const LIMIT_TIME: Duration = Duration::from_millis(1500);
/// Roughly how long each closed-loop level runs (its request count is set
/// from the measured limit).
const LEVEL_TIME: f64 = 2.0;
/// The open loop: offered rate as a fraction of the limit, and duration.
const OPEN_LOAD: f64 = 0.5;
const OPEN_TIME: f64 = 3.0;

/// `group serve` without the limits that would stop a benchmark: 64
/// clients on one address, so the per-address limits are lifted too.
const UNLIMITED: &[&str] = &[
    "-q",
    "--rate-limit",
    "1000000/s",
    "--burst",
    "1000000",
    "--address-rate-limit",
    "1000000/s",
    "--address-burst",
    "1000000",
    "--max-connections-per-address",
    "256",
];

struct Member {
    key: RsaPrivateKey,
    cert_der: Vec<u8>,
}

fn member(name: &str) -> Member {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let pem = std::fs::read_to_string(dir.join(format!("{name}.key.pem"))).unwrap();
    let cert = std::fs::read(dir.join(format!("{name}.cert.pem"))).unwrap();
    Member {
        key: sealpost::smime::privkey::open_rsa(&pem, None, name).unwrap(),
        cert_der: sealpost::smime::certs::parse_bundle(&cert)
            .unwrap()
            .remove(0)
            .der,
    }
}

/// A message's entry for the group: its content key and the RecipientInfo DER.
struct Sealed {
    content_key: Vec<u8>,
    entry: Vec<u8>,
}

fn seal(group_cert: &Certificate) -> Sealed {
    let mut content_key = vec![0u8; 32];
    OsRng.fill_bytes(&mut content_key);
    let cek = ContentKey::from_bytes(ContentCipher::Aes256Gcm, &content_key).unwrap();
    // RSAES-OAEP SHA-256, sealpost's default.
    let ri =
        key_trans_recipient(group_cert, &cek, RecipientOptions::default(), &mut OsRng).unwrap();
    Sealed {
        content_key,
        entry: ri.to_der().unwrap(),
    }
}

fn sealpost(keystore: &Path, args: &[&str]) -> Vec<u8> {
    admin(keystore, PASSPHRASE, args)
}

/// The benchmark's group in a new store (`extra`: how its key is made),
/// with every member added; its certificate, DER.
fn make_group(keystore: &Path, extra: &[&str]) -> Vec<u8> {
    let mut create = vec!["group", "create", GROUP, "--email", "list@example.org"];
    create.extend_from_slice(extra);
    sealpost(keystore, &create);
    for name in MEMBERS {
        let cert =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/{name}.cert.pem"));
        sealpost(
            keystore,
            &["group", "add-member", GROUP, cert.to_str().unwrap()],
        );
    }
    sealpost(keystore, &["group", "cert", GROUP, "--der"])
}

/// Private-key operations per second on `threads` threads, for LIMIT_TIME.
fn private_ops_per_sec(threads: usize, op: &(dyn Fn() + Sync)) -> f64 {
    let start = Instant::now();
    let total: u64 = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0u64;
                    while start.elapsed() < LIMIT_TIME {
                        op();
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    total as f64 / start.elapsed().as_secs_f64()
}

/// One request to send: the signed request and which message it is for.
struct Job {
    request: Signed,
    message: usize,
}

/// A release request as signed: by a member, or by a membership pass's key
/// (kept to open a sample of the grants).
enum Signed {
    Identity(ReleaseRequest),
    Pass {
        request: PassReleaseRequest,
        key: Arc<RsaPrivateKey>,
    },
}

/// `count` requests spread over `clients` (round robin over the members and
/// messages), signed on both cores before anything is timed.
fn presign(count: usize, clients: usize, members: &[Member], messages: &[Sealed]) -> Vec<Vec<Job>> {
    let now = sealpost::smime::certs::now() as u64;
    let sign = |i: usize| {
        let m = &members[i % members.len()];
        let message = i % messages.len();
        let request = sign_request(
            GROUP,
            messages[message].entry.clone(),
            m.cert_der.clone(),
            &m.key,
            now,
            &mut OsRng,
        )
        .unwrap();
        Job {
            request: Signed::Identity(request),
            message,
        }
    };
    let halves: Vec<Vec<(usize, Job)>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|half| {
                s.spawn(move || {
                    (half..count)
                        .step_by(2)
                        .map(|i| (i, sign(i)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let mut per_client: Vec<Vec<Job>> = (0..clients).map(|_| Vec::new()).collect();
    for (i, job) in halves.into_iter().flatten() {
        per_client[i % clients].push(job);
    }
    per_client
}

/// What one run measured.
struct Run {
    requests: usize,
    wall: Duration,
    latencies: Vec<Duration>,
    failed: usize,
    /// Grants whose key hash is wrong, or (for the ones opened) whose key is.
    wrong: usize,
    opened: usize,
}

impl Run {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.wall.as_secs_f64()
    }

    fn percentile(&self, p: usize) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
    }

    fn mean(&self) -> Duration {
        self.latencies.iter().sum::<Duration>() / self.latencies.len().max(1) as u32
    }
}

/// Drives the server with one thread and one keep-alive connection per
/// client. With `interval`, client `c` sends its k-th request at
/// `start + (k + c / clients) × interval` (an open loop; latency counts from
/// the scheduled time, so falling behind shows); without, each sends the
/// next request as soon as the last is answered (a closed loop).
fn drive(
    client: &ReleaseClient,
    urls: &[ServerUrl],
    jobs: Vec<Vec<Job>>,
    interval: Option<Duration>,
    members: &Arc<Vec<Member>>,
    messages: &Arc<Vec<Sealed>>,
) -> Run {
    let clients = jobs.len();
    let requests = jobs.iter().map(Vec::len).sum();
    let barrier = Arc::new(Barrier::new(clients + 1));
    let threads: Vec<_> = jobs
        .into_iter()
        .enumerate()
        .map(|(c, jobs)| {
            // Client c talks to server c mod n (replicas behind a balancer).
            let url = urls[c % urls.len()].clone();
            let (client, barrier) = (client.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let mut conn = client.connect(&url).unwrap();
                barrier.wait();
                let start = Instant::now();
                let offset = interval.map(|i| i.mul_f64(c as f64 / clients as f64));
                let mut out = Vec::with_capacity(jobs.len());
                for (k, job) in jobs.into_iter().enumerate() {
                    let due = match (interval, offset) {
                        (Some(i), Some(o)) => {
                            let due = start + i * k as u32 + o;
                            // The schedule, not synchronisation: wait for the send time.
                            std::thread::sleep(due.saturating_duration_since(Instant::now()));
                            due
                        }
                        _ => Instant::now(),
                    };
                    if !conn.is_open() {
                        conn = client.connect(&url).unwrap();
                    }
                    let answer = match &job.request {
                        Signed::Identity(request) => conn.release(request),
                        Signed::Pass { request, .. } => conn.release_with_pass(request),
                    };
                    out.push((job, answer.ok(), due.elapsed()));
                }
                (out, Instant::now())
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    let mut run = Run {
        requests,
        wall: Duration::ZERO,
        latencies: Vec::with_capacity(requests),
        failed: 0,
        wrong: 0,
        opened: 0,
    };
    let mut end = start;
    for t in threads {
        let (results, done) = t.join().unwrap();
        end = end.max(done);
        for (i, (job, answer, latency)) in results.into_iter().enumerate() {
            run.latencies.push(latency);
            let Some(Answer::Granted(grant)) = answer else {
                run.failed += 1;
                continue;
            };
            let sealed = &messages[job.message];
            if grant.key_hash != key_hash(&sealed.entry) {
                run.wrong += 1;
            } else if i % 32 == 0 {
                // Open a sample with the member's own key, or the pass's
                // (RSA-2048, slow).
                run.opened += 1;
                let key = match &job.request {
                    Signed::Identity(request) => {
                        &members
                            .iter()
                            .find(|m| m.cert_der == request.certificate)
                            .unwrap()
                            .key
                    }
                    Signed::Pass { key, .. } => &**key,
                };
                if open_grant(&grant.recipient_info, key) != Some(sealed.content_key.clone()) {
                    run.wrong += 1;
                }
            }
        }
    }
    run.wall = end - start;
    run
}

fn open_grant(recipient_info: &[u8], key: &RsaPrivateKey) -> Option<Vec<u8>> {
    use cms::enveloped_data::RecipientInfo;
    let RecipientInfo::Ktri(k) = RecipientInfo::from_der(recipient_info).ok()? else {
        return None;
    };
    key.decrypt(rsa::Oaep::new::<sha2::Sha256>(), k.enc_key.as_bytes())
        .ok()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let keystore = dir.path().join("keystore");
    let tls = tls_files(&dir.path().join("tls"));
    let group_cert = Certificate::from_der(&make_group(&keystore, &["--bits", "3072"])).unwrap();
    let members: Arc<Vec<Member>> = Arc::new(MEMBERS.iter().map(|n| member(n)).collect());
    let messages: Arc<Vec<Sealed>> = Arc::new((0..16).map(|_| seal(&group_cert)).collect());

    // The group's own private key, opened as the server opens it.
    let record = SqliteStore::open(&keystore.join("groups.sqlite3"))
        .unwrap()
        .group(GROUP)
        .unwrap()
        .unwrap();
    let group_key =
        sealpost::smime::privkey::open_rsa(&record.sealed_key, Some(PASSPHRASE), GROUP).unwrap();
    let pkcs8 = group_key.to_pkcs8_der().unwrap();
    let private = PrivateDecryptingKey::from_pkcs8(pkcs8.as_bytes()).unwrap();
    let public = OaepPublicEncryptingKey::new(private.public_key()).unwrap();
    let aws_key = OaepPrivateDecryptingKey::new(private).unwrap();
    let mut ciphertext = vec![0u8; public.ciphertext_size()];
    let ciphertext = public
        .encrypt(&OAEP_SHA256_MGF1SHA256, &[7u8; 32], &mut ciphertext, None)
        .unwrap()
        .to_vec();
    let aws_decrypt = || {
        let mut out = [0u8; 384];
        let key = aws_key
            .decrypt(&OAEP_SHA256_MGF1SHA256, &ciphertext, &mut out, None)
            .unwrap();
        assert_eq!(key.len(), 32);
    };
    let rsa_decrypt = || {
        let key = group_key
            .decrypt_blinded(&mut OsRng, rsa::Oaep::new::<sha2::Sha256>(), &ciphertext)
            .unwrap();
        assert_eq!(key.len(), 32);
    };

    println!(
        "release benchmark: group key RSA-{}, {} members (RSA-2048), {} cores, requests pre-signed",
        group_key.size() * 8,
        MEMBERS.len(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("\nphysical limit: the group key's private operation (RSAES-OAEP SHA-256 decrypt), one per release");
    let limit1 = private_ops_per_sec(1, &aws_decrypt);
    let limit2 = private_ops_per_sec(2, &aws_decrypt);
    let rsa1 = private_ops_per_sec(1, &rsa_decrypt);
    println!("  {:<44} {:>8.0} ops/s", "aws-lc-rs, 1 thread", limit1);
    println!(
        "  {:<44} {:>8.0} ops/s   = the limit",
        "aws-lc-rs, 2 threads", limit2
    );
    println!(
        "  {:<44} {:>8.0} ops/s   (aws-lc-rs is {:.1}x faster)",
        "rsa 0.9 (blinded), 1 thread, for comparison",
        rsa1,
        limit1 / rsa1
    );

    let mut server = Served::start(serve_command(&keystore, PASSPHRASE, &tls, UNLIMITED));
    let ca = std::fs::read(&tls.ca).unwrap();
    let client = ReleaseClient::new(Some(&ca), Duration::from_secs(30)).unwrap();
    let url: ServerUrl = server.url().parse().unwrap();
    // Warm up: connections, the store's pages, the server's first threads.
    let warm = presign(64, 8, &members, &messages);
    drive(
        &client,
        std::slice::from_ref(&url),
        warm,
        None,
        &members,
        &messages,
    );

    println!("\nclosed loop: each client a thread with one request outstanding, one keep-alive HTTPS connection");
    println!(
        "  {:>7} {:>8} {:>11} {:>9} {:>11} {:>8} {:>8} {:>9} {:>15} {:>7}",
        "clients",
        "requests",
        "releases/s",
        "vs limit",
        "vs 1 thread",
        "p50 ms",
        "p99 ms",
        "mean ms",
        "clients/rate ms",
        "failed"
    );
    let mut at64 = None;
    let mut at8 = 0.0;
    for clients in [1, 8, 64] {
        let rate_guess = if clients == 1 { limit1 } else { limit2 };
        let count = ((rate_guess * LEVEL_TIME) as usize).max(clients * 10);
        let jobs = presign(count, clients, &members, &messages);
        let run = drive(
            &client,
            std::slice::from_ref(&url),
            jobs,
            None,
            &members,
            &messages,
        );
        println!(
            "  {:>7} {:>8} {:>11.0} {:>8.0}% {:>10.0}% {:>8.2} {:>8.2} {:>9.2} {:>15.2} {:>7}",
            clients,
            run.requests,
            run.rate(),
            100.0 * run.rate() / limit2,
            100.0 * run.rate() / limit1,
            ms(run.percentile(50)),
            ms(run.percentile(99)),
            ms(run.mean()),
            1e3 * clients as f64 / run.rate(),
            run.failed + run.wrong,
        );
        assert_eq!(run.failed + run.wrong, 0, "failed or wrong releases");
        assert!(run.opened > 0);
        if clients == 8 {
            at8 = run.rate();
        }
        if clients == 64 {
            at64 = Some(run);
        }
    }
    let run = at64.unwrap();
    let floor = 64.0 / limit2;
    println!(
        "  (the limit is both cores'; one client has one request in flight, so its bound is one thread's rate.\n   \
         A closed loop obeys Little's law, mean latency = clients / throughput: \"clients/rate\" is that mean.)"
    );
    println!("\ntargets at 64 clients: >= 70% of the limit, p99 < 20 ms");
    println!(
        "  throughput {:.0}/s = {:.0}% of the limit: {}",
        run.rate(),
        100.0 * run.rate() / limit2,
        if run.rate() >= 0.7 * limit2 {
            "met"
        } else {
            "NOT met"
        }
    );
    println!(
        "  p99 {:.1} ms: {}; by Little's law 64 clients with one request each need > {:.0} releases/s \
         for a mean under 20 ms, while the limit of {:.0}/s allows a mean of {:.1} ms at best",
        ms(run.percentile(99)),
        if run.percentile(99) < Duration::from_millis(20) { "met" } else { "NOT met" },
        64.0 / 0.020,
        limit2,
        1e3 * floor
    );

    let offered = OPEN_LOAD * limit2;
    let clients = 64;
    let count = (offered * OPEN_TIME) as usize;
    let jobs = presign(count, clients, &members, &messages);
    let interval = Duration::from_secs_f64(clients as f64 / offered);
    let run = drive(
        &client,
        std::slice::from_ref(&url),
        jobs,
        Some(interval),
        &members,
        &messages,
    );
    println!(
        "\nopen loop: {clients} clients each sending every {:.1} ms, offered {:.0} releases/s ({:.0}% of the limit), latency from the scheduled send",
        ms(interval),
        offered,
        100.0 * OPEN_LOAD
    );
    println!(
        "  served {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, mean {:.2} ms, failed {}",
        run.rate(),
        ms(run.percentile(50)),
        ms(run.percentile(99)),
        ms(run.mean()),
        run.failed + run.wrong
    );
    assert_eq!(run.failed + run.wrong, 0, "failed or wrong releases");
    pass_rows(
        &keystore, &tls, &client, &url, &members, &messages, limit2, at8,
    );
    token_rows(
        &group_key,
        &members,
        &client,
        &url,
        &messages,
        &tls,
        dir.path(),
    );

    let closed = |urls: &[ServerUrl], clients: usize| {
        let count = ((limit2 * LEVEL_TIME) as usize).max(clients * 10);
        let jobs = presign(count, clients, &members, &messages);
        let run = drive(&client, urls, jobs, None, &members, &messages);
        assert_eq!(run.failed + run.wrong, 0, "failed or wrong releases");
        run
    };
    println!(
        "
stores and replicas: closed loop as above, ratios to SQLite with one server at the same clients"
    );
    println!(
        "  {:<34} {:>7} {:>11} {:>9} {:>10} {:>8} {:>8}",
        "store", "clients", "releases/s", "vs limit", "vs SQLite", "p50 ms", "p99 ms"
    );
    let row = |name: &str, clients: usize, run: &Run, reference: f64| {
        println!(
            "  {:<34} {:>7} {:>11.0} {:>8.0}% {:>9.2}x {:>8.2} {:>8.2}",
            name,
            clients,
            run.rate(),
            100.0 * run.rate() / limit2,
            run.rate() / reference,
            ms(run.percentile(50)),
            ms(run.percentile(99)),
        );
    };
    let levels = [8, 64];
    let mut sqlite_rates = Vec::new();
    for clients in levels {
        let run = closed(std::slice::from_ref(&url), clients);
        row("SQLite, 1 server", clients, &run, run.rate());
        sqlite_rates.push(run.rate());
    }
    server.stop();
    match postgres::Postgres::start("the PostgreSQL rows") {
        None => println!("  (PostgreSQL rows skipped: no binaries)"),
        Some(pg) => {
            let db = pg.database("bench");
            let from = format!("sqlite:{}", keystore.join("groups.sqlite3").display());
            sealpost(
                &keystore,
                &["group", "migrate", "--from", &from, "--to", &db],
            );
            let replica = || {
                Served::start(serve_command(
                    &keystore,
                    PASSPHRASE,
                    &tls,
                    &[UNLIMITED, &["--store", &db]].concat(),
                ))
            };
            let mut one = replica();
            let one_url: ServerUrl = one.url().parse().unwrap();
            closed(std::slice::from_ref(&one_url), 8); // warm up
            for (clients, reference) in levels.into_iter().zip(&sqlite_rates) {
                let run = closed(std::slice::from_ref(&one_url), clients);
                row("PostgreSQL, 1 replica", clients, &run, *reference);
            }
            let mut two = replica();
            let urls: Vec<ServerUrl> = vec![one_url, two.url().parse().unwrap()];
            closed(&urls, 8);
            for (clients, reference) in levels.into_iter().zip(&sqlite_rates) {
                let run = closed(&urls, clients);
                row("PostgreSQL, 2 replicas", clients, &run, *reference);
            }
            println!(
                "  (all on this one machine: two replicas share its {} cores and the RSA limit, so their row\n   \
                 shows what sharing a database costs, not what a second machine adds; on two machines each\n   \
                 replica has its own limit and the database's commits are the shared part)",
                std::thread::available_parallelism().map_or(0, |n| n.get())
            );
            one.stop();
            two.stop();
        }
    }
}

/// The group key in memory against the same key in a PKCS#11 token
/// (SoftHSM2, imported), in the same run: the unwrap alone, then releases
/// over HTTPS at 8 clients from a second server whose group key is in the
/// token; and the token path's time for a good key, a bad padding and a
/// good padding around a length that is no key (no padding oracle: the
/// failures must not differ). Skipped, saying so, without SoftHSM2.
fn token_rows(
    group_key: &RsaPrivateKey,
    members: &Arc<Vec<Member>>,
    client: &ReleaseClient,
    memory_url: &ServerUrl,
    memory_messages: &Arc<Vec<Sealed>>,
    tls: &TlsFiles,
    dir: &Path,
) {
    const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
    println!(
        "
group key in memory vs in a PKCS#11 token (SoftHSM2), same key, same run"
    );
    if !Path::new(MODULE).exists() {
        println!("  skipped: SoftHSM2 is not installed (apt-get install softhsm2)");
        return;
    }
    let hsm = dir.join("softhsm");
    std::fs::create_dir_all(hsm.join("tokens")).unwrap();
    let conf = hsm.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            hsm.join("tokens").display()
        ),
    )
    .unwrap();
    // Set before anything loads the module (C_Initialize reads it), while
    // no other thread runs; the servers started below inherit it.
    std::env::set_var("SOFTHSM2_CONF", &conf);
    let pem = hsm.join("key.pem");
    std::fs::write(
        &pem,
        group_key
            .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    let util = |args: &[&str]| {
        let ok = std::process::Command::new("softhsm2-util")
            .args(args)
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "softhsm2-util {args:?}");
    };
    util(&[
        "--init-token",
        "--free",
        "--label",
        "bench",
        "--pin",
        "1234",
        "--so-pin",
        "123456",
    ]);
    util(&[
        "--import",
        pem.to_str().unwrap(),
        "--token",
        "bench",
        "--label",
        "list-key",
        "--id",
        "01",
        "--pin",
        "1234",
    ]);
    std::fs::remove_file(&pem).unwrap();
    let pin = hsm.join("pin");
    std::fs::write(&pin, "1234\n").unwrap();
    let uri = format!(
        "pkcs11:token=bench;object=list-key?pin-source=file:{}",
        pin.display()
    );

    // The unwrap alone: both GroupKeys on one certificate.
    let keystore = dir.join("keystore-token");
    let cert_der = make_group(&keystore, &["--pkcs11", &uri]);
    let cert = Certificate::from_der(&cert_der).unwrap();
    let parsed = sealpost::group::token::Pkcs11Uri::parse(&uri).unwrap();
    let token_key = sealpost::group::token::TokenKey::open(&parsed, Path::new(MODULE), "1234")
        .expect("the key in SoftHSM2");
    let in_token = GroupKey::in_token(token_key, &cert_der).unwrap();
    let in_memory = GroupKey::new(group_key, &cert_der).unwrap();
    let ktri = |enc: Option<Vec<u8>>| {
        let cek = ContentKey::from_bytes(ContentCipher::Aes256Gcm, &[7u8; 32]).unwrap();
        let ri = key_trans_recipient(&cert, &cek, RecipientOptions::default(), &mut OsRng).unwrap();
        let RecipientInfo::Ktri(mut k) = ri else {
            unreachable!()
        };
        if let Some(enc) = enc {
            k.enc_key = der::asn1::OctetString::new(enc).unwrap();
        }
        k
    };
    let good = ktri(None);
    let memory_op = || assert_eq!(in_memory.unwrap(&good).unwrap().len(), 32);
    let token_op = || assert_eq!(in_token.unwrap(&good).unwrap().len(), 32);
    let (m1, m2) = (
        private_ops_per_sec(1, &memory_op),
        private_ops_per_sec(2, &memory_op),
    );
    let (t1, t2) = (
        private_ops_per_sec(1, &token_op),
        private_ops_per_sec(2, &token_op),
    );
    println!(
        "  unwrap (RSA-{} OAEP SHA-256), ops/s:",
        group_key.size() * 8
    );
    println!(
        "  {:<44} {:>8} {:>8} {:>14}",
        "", "1 thread", "2 threads", "token/memory"
    );
    println!("  {:<44} {:>8.0} {:>8.0}", "in memory (aws-lc-rs)", m1, m2);
    println!(
        "  {:<44} {:>8.0} {:>8.0} {:>13.2}x",
        "in the token (CKM_RSA_X_509 + unpad here)",
        t1,
        t2,
        t2 / m2
    );

    // The token path per outcome, interleaved so that drift hits all alike.
    let public = rsa::RsaPublicKey::from(group_key);
    let odd_length = public
        .encrypt(&mut OsRng, rsa::Oaep::new::<sha2::Sha256>(), &[7u8; 20])
        .unwrap();
    let mut random = vec![0u8; group_key.size()];
    OsRng.fill_bytes(&mut random);
    random[0] = 0;
    let cases = [
        ("a good key", good.clone(), true),
        ("bad padding (a random block)", ktri(Some(random)), false),
        (
            "good padding, 20 bytes (no key length)",
            ktri(Some(odd_length)),
            false,
        ),
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    for _ in 0..300 {
        for (i, (_, k, ok)) in cases.iter().enumerate() {
            let started = Instant::now();
            let got = in_token.unwrap(k);
            times[i].push(started.elapsed().as_secs_f64() * 1e6);
            assert_eq!(got.is_ok(), *ok);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    let medians: Vec<f64> = times.iter_mut().map(median).collect();
    println!("  token unwrap by outcome, 300 each, interleaved: median us (vs the bad padding)");
    for ((name, _, _), m) in cases.iter().zip(&medians) {
        println!(
            "  {:<44} {:>8.0} {:>+8.1}%",
            name,
            m,
            100.0 * (m / medians[1] - 1.0)
        );
    }

    // End to end: the same 8-client closed loop against both servers.
    let server = Served::start(serve_command(&keystore, PASSPHRASE, tls, UNLIMITED));
    let token_url: ServerUrl = server.url().parse().unwrap();
    let token_messages: Arc<Vec<Sealed>> = Arc::new((0..16).map(|_| seal(&cert)).collect());
    let warm = presign(32, 8, members, &token_messages);
    drive(
        client,
        std::slice::from_ref(&token_url),
        warm,
        None,
        members,
        &token_messages,
    );
    println!("  releases over HTTPS, 8 clients, closed loop:");
    println!(
        "  {:<44} {:>11} {:>8} {:>8}",
        "", "releases/s", "p50 ms", "p99 ms"
    );
    let mut rates = Vec::new();
    for (name, url, messages, rate) in [
        ("group key in memory", memory_url, memory_messages, m2),
        ("group key in the token", &token_url, &token_messages, t2),
    ] {
        let count = ((rate * LEVEL_TIME) as usize).max(80);
        let jobs = presign(count, 8, members, messages);
        let run = drive(
            client,
            std::slice::from_ref(url),
            jobs,
            None,
            members,
            messages,
        );
        assert_eq!(run.failed + run.wrong, 0, "failed or wrong releases");
        println!(
            "  {:<44} {:>11.0} {:>8.2} {:>8.2}",
            name,
            run.rate(),
            ms(run.percentile(50)),
            ms(run.percentile(99))
        );
        rates.push(run.rate());
    }
    println!(
        "  token/memory: {:.2}x the releases per second",
        rates[1] / rates[0]
    );
    let mut server = server;
    server.stop();
}

/// Anonymous release (issue 17) on the running server: the group made
/// anonymous, a pass fetched per member (timed), then the closed loop at 8
/// clients with pass releases, as a ratio to `identity_rate` (identity
/// releases at 8 clients, measured just before on the same server); and
/// the issuing key's derivation. The group is made non-anonymous again.
#[allow(clippy::too_many_arguments)]
fn pass_rows(
    keystore: &Path,
    tls: &TlsFiles,
    client: &ReleaseClient,
    url: &ServerUrl,
    members: &Arc<Vec<Member>>,
    messages: &Arc<Vec<Sealed>>,
    limit2: f64,
    identity_rate: f64,
) {
    use sealpost::group::pass::derive::issuing_key;
    use sealpost::group::pass::{Period, DEFAULT_LIFETIME};
    use sealpost::group::release::client::sign;
    use sealpost::group::release::joined::JoinedGroup;
    use sealpost::group::release::passes::fetch_pass;

    sealpost(keystore, &["group", "set", GROUP, "anonymous=on"]);
    let cert_der = sealpost(keystore, &["group", "cert", GROUP, "--der"]);
    let group = JoinedGroup {
        name: GROUP.into(),
        cert: sealpost::smime::certs::CertInfo::from_der(&cert_der).unwrap(),
        servers: vec![url.clone()],
        ca_pem: Some(std::fs::read(&tls.ca).unwrap()),
        member: String::new(),
        older: Vec::new(),
        anonymous: true,
    };
    let now = sealpost::smime::certs::now() as u64;
    let mut fetch_times = Vec::new();
    let mut passes = Vec::new();
    for m in members.iter() {
        let cert = Certificate::from_der(&m.cert_der).unwrap();
        let start = Instant::now();
        let (pass, key, _) = fetch_pass(&group, &cert, &m.key, now, &mut OsRng).unwrap();
        fetch_times.push(start.elapsed());
        passes.push((pass, Arc::new(key)));
    }
    let count = ((limit2 * LEVEL_TIME) as usize).max(80);
    let clients = 8;
    let sign_one = |i: usize| {
        let (pass, key) = &passes[i % passes.len()];
        let message = i % messages.len();
        let mut request = PassReleaseRequest {
            group: GROUP.into(),
            recipient_info: messages[message].entry.clone(),
            pass: pass.to_der().to_vec(),
            timestamp: now,
            nonce: rand::random(),
            signature: Vec::new(),
        };
        request.signature = sign(key, &request.signed_bytes(), &mut OsRng).unwrap();
        Job {
            request: Signed::Pass {
                request,
                key: Arc::clone(key),
            },
            message,
        }
    };
    let mut jobs: Vec<Vec<Job>> = (0..clients).map(|_| Vec::new()).collect();
    for i in 0..count {
        jobs[i % clients].push(sign_one(i));
    }
    let run = drive(
        client,
        std::slice::from_ref(url),
        jobs,
        None,
        members,
        messages,
    );
    assert_eq!(run.failed + run.wrong, 0, "failed or wrong pass releases");
    assert!(run.opened > 0);
    let seed = [7u8; 32];
    let period = Period::containing(now, DEFAULT_LIFETIME).unwrap();
    let start = Instant::now();
    for epoch in 0..3 {
        issuing_key(&seed, GROUP, epoch, period).unwrap();
    }
    let derivation = start.elapsed() / 3;
    let fetch_mean = fetch_times.iter().sum::<Duration>() / fetch_times.len() as u32;
    println!(
        "\nanonymous release (issue 17): closed loop at {clients} clients on the same server, ratio to identity release"
    );
    println!(
        "  {:<46} {:>11} {:>9} {:>12} {:>8} {:>8}",
        "release", "releases/s", "vs limit", "vs identity", "p50 ms", "p99 ms"
    );
    println!(
        "  {:<46} {:>11.0} {:>8.0}% {:>11.2}x {:>8} {:>8}",
        "identity (the 8-client closed loop above)",
        identity_rate,
        100.0 * identity_rate / limit2,
        1.0,
        "",
        ""
    );
    println!(
        "  {:<46} {:>11.0} {:>8.0}% {:>11.2}x {:>8.2} {:>8.2}",
        "membership pass (RSA-2048 pass key)",
        run.rate(),
        100.0 * run.rate() / limit2,
        run.rate() / identity_rate,
        ms(run.percentile(50)),
        ms(run.percentile(99)),
    );
    println!(
        "  pass fetch, per member and period: {:.0} ms mean over {} (pass key RSA-2048 generated by the member,\n   \
         blinding, the public key lookup and the signed issuance call)",
        ms(fetch_mean),
        fetch_times.len()
    );
    println!(
        "  issuing key derivation (RSA-3072 from the seed), once per period and replica: {:.0} ms mean over 3",
        ms(derivation)
    );
    sealpost(keystore, &["group", "set", GROUP, "anonymous=off"]);
}
