//! Bcc-private envelope planning.
//!
//! A single S/MIME message to To, Cc and Bcc recipients names every
//! recipient's certificate in its RecipientInfos, so anyone who receives it
//! learns every other recipient, Bcc included. sealpost instead encrypts the
//! content once and sends it in several *envelopes*, each carrying the
//! RecipientInfos of only its own readers:
//!
//! - `Separate` (default): one envelope for To+Cc, one per Bcc recipient.
//! - `Shared`: one for To+Cc, one for all Bcc recipients together (they may
//!   learn of each other, never the To/Cc side of them).
//!
//! The sender's own certificate is among the readers of every envelope (the
//! "sender copy", so that the sent folder stays readable) but the sender is
//! never an SMTP recipient. This module decides who is in which envelope and
//! nothing else: it is pure, so the privacy rules are tested here exhaustively.

use crate::smime::certs::normalize_address;

/// How Bcc recipients are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BccMode {
    Separate,
    Shared,
}

/// Who a message is from and to, as read from its headers.
#[derive(Debug, Clone, Default)]
pub struct Addressees {
    pub from: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
}

/// Whether an envelope is the visible (To/Cc) one or a Bcc one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvelopeKind {
    Visible,
    Bcc,
}

/// One envelope to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopePlan {
    pub kind: EnvelopeKind,
    /// SMTP RCPT TO: exactly the people this copy is delivered to.
    pub rcpt_to: Vec<String>,
    /// Addresses whose certificates get a RecipientInfo in this envelope.
    pub readers: Vec<String>,
    /// With `--bcc-self-header`: the one address a Bcc copy may name in a Bcc header.
    pub bcc_header: Option<String>,
}

/// Options for [`plan`].
#[derive(Debug, Clone, Copy)]
pub struct PlanOptions {
    pub mode: BccMode,
    /// Add the sender's certificate to every envelope.
    pub sender_copy: bool,
    /// Give each Bcc recipient a `Bcc:` header naming only themselves (separate mode only).
    pub bcc_self_header: bool,
}

/// Duplicates are found ignoring case in the local part too: `Bob@x` and
/// `bob@x` are one mailbox on every real system, and treating them as two
/// would only send a second copy, never reveal anything.
fn same_mailbox(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn push_unique(list: &mut Vec<String>, addr: &str) {
    let addr = normalize_address(addr);
    if !addr.is_empty() && !list.iter().any(|a| same_mailbox(a, &addr)) {
        list.push(addr);
    }
}

/// Addresses in order, each once ([`same_mailbox`]): a set beside the
/// list, so that a header naming 100,000 addresses costs linear time.
#[derive(Default)]
struct UniqueAddresses {
    list: Vec<String>,
    /// ASCII-lowercased: equal exactly when `same_mailbox` says so.
    seen: std::collections::HashSet<String>,
}

impl UniqueAddresses {
    fn push(&mut self, addr: &str) {
        let addr = normalize_address(addr);
        if !addr.is_empty() && self.seen.insert(addr.to_ascii_lowercase()) {
            self.list.push(addr);
        }
    }

    fn contains(&self, addr: &str) -> bool {
        self.seen
            .contains(&normalize_address(addr).to_ascii_lowercase())
    }
}

/// Splits the addressees into envelopes. A Bcc recipient who is also in To
/// or Cc is visible anyway and gets no separate copy; duplicates collapse.
pub fn plan(who: &Addressees, opts: PlanOptions) -> Vec<EnvelopePlan> {
    let mut visible = UniqueAddresses::default();
    for a in who.to.iter().chain(who.cc.iter()) {
        visible.push(a);
    }
    let mut hidden = UniqueAddresses::default();
    for a in &who.bcc {
        if !visible.contains(a) {
            hidden.push(a);
        }
    }
    let (visible, hidden) = (visible.list, hidden.list);
    let with_sender = |mut readers: Vec<String>| {
        if opts.sender_copy {
            push_unique(&mut readers, &who.from);
        }
        readers
    };
    let mut plans = Vec::new();
    if !visible.is_empty() {
        plans.push(EnvelopePlan {
            kind: EnvelopeKind::Visible,
            rcpt_to: visible.clone(),
            readers: with_sender(visible),
            bcc_header: None,
        });
    }
    match opts.mode {
        BccMode::Separate => {
            for addr in hidden {
                plans.push(EnvelopePlan {
                    kind: EnvelopeKind::Bcc,
                    rcpt_to: vec![addr.clone()],
                    readers: with_sender(vec![addr.clone()]),
                    bcc_header: opts.bcc_self_header.then(|| addr.clone()),
                });
            }
        }
        BccMode::Shared if !hidden.is_empty() => plans.push(EnvelopePlan {
            kind: EnvelopeKind::Bcc,
            rcpt_to: hidden.clone(),
            readers: with_sender(hidden),
            bcc_header: None,
        }),
        BccMode::Shared => {}
    }
    plans
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue #11, item 7: duplicates were found by scanning the list so
    /// far, quadratic in the number of addresses (100,000 Bcc: 5·10^9
    /// comparisons, minutes). A generous watchdog; it takes milliseconds.
    #[test]
    fn many_addresses_are_planned_in_linear_time() {
        let many = |prefix: &str| -> Vec<String> {
            (0..100_000)
                .map(|i| format!("{prefix}{i}@example.org"))
                .collect()
        };
        let who = Addressees {
            from: "alice@example.org".into(),
            to: many("to"),
            cc: Vec::new(),
            bcc: many("bcc"),
        };
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let opts = PlanOptions {
                mode: BccMode::Shared,
                sender_copy: false,
                bcc_self_header: false,
            };
            let _ = done.send(plan(&who, opts).len());
        });
        let n = finished
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("planning 200,000 addresses took more than 20 s");
        assert_eq!(n, 2);
    }

    fn who() -> Addressees {
        Addressees {
            from: "alice@example.org".into(),
            to: vec!["bob@example.org".into()],
            cc: vec!["carol@example.org".into(), "Bob@Example.ORG".into()],
            bcc: vec![
                "dave@example.org".into(),
                "erin@example.org".into(),
                "carol@example.org".into(),
            ],
        }
    }

    fn opts(mode: BccMode) -> PlanOptions {
        PlanOptions {
            mode,
            sender_copy: true,
            bcc_self_header: false,
        }
    }

    #[test]
    fn separate_mode_isolates_each_bcc_recipient() {
        let plans = plan(&who(), opts(BccMode::Separate));
        assert_eq!(plans.len(), 3);
        assert_eq!(plans[0].rcpt_to, ["bob@example.org", "carol@example.org"]);
        assert_eq!(
            plans[0].readers,
            ["bob@example.org", "carol@example.org", "alice@example.org"]
        );
        assert_eq!(plans[1].rcpt_to, ["dave@example.org"]);
        assert_eq!(plans[1].readers, ["dave@example.org", "alice@example.org"]);
        assert_eq!(plans[2].rcpt_to, ["erin@example.org"]);
        // No envelope names a Bcc recipient unless it is that recipient's own.
        for p in &plans {
            for hidden in ["dave@example.org", "erin@example.org"] {
                let own = p.rcpt_to == [hidden];
                assert_eq!(p.readers.iter().any(|r| r == hidden), own);
            }
            assert!(
                !p.rcpt_to.contains(&"alice@example.org".to_string()),
                "sender is not an SMTP recipient"
            );
        }
    }

    #[test]
    fn shared_mode_keeps_bcc_away_from_visible_side() {
        let plans = plan(&who(), opts(BccMode::Shared));
        assert_eq!(plans.len(), 2);
        assert_eq!(plans[1].rcpt_to, ["dave@example.org", "erin@example.org"]);
        assert!(!plans[0]
            .readers
            .iter()
            .any(|r| r.starts_with("dave") || r.starts_with("erin")));
        assert!(!plans[1]
            .readers
            .iter()
            .any(|r| r.starts_with("bob") || r.starts_with("carol")));
    }

    #[test]
    fn no_self_and_bcc_header_and_bcc_only() {
        let mut o = opts(BccMode::Separate);
        o.sender_copy = false;
        o.bcc_self_header = true;
        let w = Addressees {
            from: "a@x.org".into(),
            bcc: vec!["b@x.org".into()],
            ..Default::default()
        };
        let plans = plan(&w, o);
        assert_eq!(plans.len(), 1);
        assert_eq!(plans[0].readers, ["b@x.org"]);
        assert_eq!(plans[0].bcc_header.as_deref(), Some("b@x.org"));
        assert!(plan(
            &Addressees {
                from: "a@x.org".into(),
                ..Default::default()
            },
            o
        )
        .is_empty());
    }
}
