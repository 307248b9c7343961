//! The RFC 6186 policy: which SRV services to ask for a protocol (implicit
//! TLS first, RFC 8314), the order of the records (RFC 2782), and which
//! targets to trust without the user's confirmation (the mail domain and
//! names inside it), turned into [`Endpoint`]s for the existing failover.

use super::wire::canonical;
use super::{Answer, Lookup, SrvRecord};
use crate::error::{fail, fail_hint, Exit};
use crate::store::account::{Endpoint, Protocol, Security};

/// Orders records for use (RFC 2782): by priority, and within a priority by
/// a weighted random choice, `pick(total)` giving a number in 0..=total.
pub fn order(mut records: Vec<SrvRecord>, pick: &mut dyn FnMut(u32) -> u32) -> Vec<SrvRecord> {
    records.sort_by_key(|r| (r.priority, r.weight != 0));
    let mut out = Vec::with_capacity(records.len());
    while !records.is_empty() {
        let prio = records[0].priority;
        let n = records.iter().take_while(|r| r.priority == prio).count();
        let mut group: Vec<SrvRecord> = records.drain(..n).collect();
        while !group.is_empty() {
            let total: u32 = group.iter().map(|r| r.weight as u32).sum();
            let chosen = pick(total).min(total);
            let mut running = 0;
            let i = group
                .iter()
                .position(|r| {
                    running += r.weight as u32;
                    running >= chosen
                })
                .unwrap_or(0);
            out.push(group.remove(i));
        }
    }
    out
}

/// The SRV services for a protocol, implicit TLS first (RFC 8314 §5.1).
pub fn services(protocol: Protocol) -> [(&'static str, Security); 2] {
    match protocol {
        Protocol::Smtp => [
            ("_submissions", Security::Tls),
            ("_submission", Security::StartTls),
        ],
        Protocol::Imap => [("_imaps", Security::Tls), ("_imap", Security::StartTls)],
        Protocol::Pop3 => [("_pop3s", Security::Tls), ("_pop3", Security::StartTls)],
    }
}

/// Whether `host` is `domain` or a name inside it.
fn within(host: &str, domain: &str) -> bool {
    host == domain
        || host
            .strip_suffix(domain)
            .is_some_and(|rest| rest.ends_with('.'))
}

/// The servers `domain` publishes for `protocol`, in the order to try them.
/// Errors name the domain and the names looked up: [`Exit::TempFail`] when
/// DNS gave no answer, [`Exit::Unavailable`] when the domain publishes no
/// usable server.
pub fn discover(
    lookup: &dyn Lookup,
    domain: &str,
    protocol: Protocol,
    pick: &mut dyn FnMut(u32) -> u32,
) -> anyhow::Result<Vec<Endpoint>> {
    let domain = canonical(domain);
    let what = match protocol {
        Protocol::Smtp => "submission",
        Protocol::Imap => "IMAP",
        Protocol::Pop3 => "POP3",
    };
    let names: Vec<String> = services(protocol)
        .iter()
        .map(|(s, _)| format!("{s}._tcp.{domain}"))
        .collect();
    let mut endpoints = Vec::new();
    let mut outside = Vec::new();
    let mut declined = 0;
    for ((_, security), name) in services(protocol).iter().zip(&names) {
        let records = match lookup.srv(name) {
            Ok(Answer::Records(r)) => r,
            Ok(Answer::NoRecords) => continue,
            Err(why) => {
                return Err(fail_hint(
                    Exit::TempFail,
                    format!("cannot look up the SRV records of {name}: {why}"),
                    "check the network and /etc/resolv.conf (or SEALPOST_DNS_SERVER)",
                ))
            }
        };
        // RFC 2782: a single record with target "." means "decidedly not here".
        if records.iter().any(|r| r.target == ".") {
            declined += 1;
            continue;
        }
        for r in order(records, pick) {
            if r.port == 0 {
                continue;
            }
            if !within(&r.target, &domain) {
                outside.push(format!("{name} → {}:{}", r.target, r.port));
                continue;
            }
            endpoints.push(Endpoint {
                protocol,
                security: *security,
                host: r.target,
                port: r.port,
            });
        }
    }
    if !endpoints.is_empty() {
        return Ok(endpoints);
    }
    if !outside.is_empty() {
        return Err(fail_hint(
            Exit::Unavailable,
            format!(
                "the {what} servers {domain} names in DNS are outside {domain} ({}): \
                 not trusted without DNSSEC",
                outside.join(", ")
            ),
            format!(
                "if they are right, name them with `sealpost account add --replace … --{} URL`",
                protocol.name()
            ),
        ));
    }
    if declined > 0 {
        return Err(fail(
            Exit::Unavailable,
            format!(
                "{domain} offers no {what} service: its SRV records at {} say so (target \".\")",
                names.join(" and ")
            ),
        ));
    }
    Err(fail_hint(
        Exit::Unavailable,
        format!(
            "{domain} publishes no {what} server: no SRV record at {}",
            names.join(" or ")
        ),
        format!(
            "give the servers with `sealpost account add --replace … --{} URL`",
            protocol.name()
        ),
    ))
}
