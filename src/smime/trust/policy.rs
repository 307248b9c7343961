//! Certificate policy processing (RFC 5280 §6.1.3 (d)–(f), §6.1.4 (a)–(b)),
//! with the default inputs: initial-policy-set anyPolicy, no explicit
//! policy required, mapping and anyPolicy not inhibited by the user. The
//! valid_policy_tree is kept level by level.

use const_oid::ObjectIdentifier;
use x509_cert::ext::pkix::{CertificatePolicies, PolicyMappings};

pub(super) const ANY_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.32.0");

#[derive(Debug, Clone)]
struct Node {
    policy: ObjectIdentifier,
    expected: Vec<ObjectIdentifier>,
    /// Index of the parent in the level above; `None` at the root.
    parent: Option<usize>,
}

/// The valid_policy_tree; `None` once it is NULL.
#[derive(Debug, Clone)]
pub(super) struct Tree {
    levels: Option<Vec<Vec<Node>>>,
}

impl Tree {
    pub(super) fn new() -> Tree {
        Tree {
            levels: Some(vec![vec![Node {
                policy: ANY_POLICY,
                expected: vec![ANY_POLICY],
                parent: None,
            }]]),
        }
    }

    pub(super) fn is_null(&self) -> bool {
        self.levels.is_none()
    }

    /// §6.1.3 (d)/(e) for certificate `i` (`last`: it is the end of the
    /// path; `self_issued`), with `inhibit_any` the current counter.
    pub(super) fn process(
        &mut self,
        policies: Option<&CertificatePolicies>,
        inhibit_any: u32,
        last: bool,
        self_issued: bool,
    ) {
        let Some(policies) = policies else {
            self.levels = None;
            return;
        };
        let Some(levels) = self.levels.as_mut() else {
            return;
        };
        let prev = levels.last().cloned().unwrap_or_default();
        let mut level: Vec<Node> = Vec::new();
        let mut any_qualifiers = false;
        for info in &policies.0 {
            let p = info.policy_identifier;
            if p == ANY_POLICY {
                any_qualifiers = true;
                continue;
            }
            let parents: Vec<usize> = prev
                .iter()
                .enumerate()
                .filter(|(_, n)| n.expected.contains(&p))
                .map(|(i, _)| i)
                .collect();
            let parents = if parents.is_empty() {
                prev.iter()
                    .enumerate()
                    .filter(|(_, n)| n.policy == ANY_POLICY)
                    .map(|(i, _)| i)
                    .collect()
            } else {
                parents
            };
            for parent in parents {
                level.push(Node {
                    policy: p,
                    expected: vec![p],
                    parent: Some(parent),
                });
            }
        }
        if any_qualifiers && (inhibit_any > 0 || (!last && self_issued)) {
            for (i, node) in prev.iter().enumerate() {
                for e in &node.expected {
                    let has = level.iter().any(|c| c.parent == Some(i) && c.policy == *e);
                    if !has {
                        level.push(Node {
                            policy: *e,
                            expected: vec![*e],
                            parent: Some(i),
                        });
                    }
                }
            }
        }
        levels.push(level);
        self.prune();
    }

    /// Removes nodes without children, from the deepest level above the
    /// last one up; an empty tree becomes NULL.
    fn prune(&mut self) {
        let Some(levels) = self.levels.as_mut() else {
            return;
        };
        for depth in (0..levels.len().saturating_sub(1)).rev() {
            let (upper, lower) = levels.split_at_mut(depth + 1);
            let keep: Vec<bool> = (0..upper[depth].len())
                .map(|i| lower[0].iter().any(|c| c.parent == Some(i)))
                .collect();
            let mut new_index = vec![None; keep.len()];
            let mut kept = Vec::new();
            for (i, node) in upper[depth].drain(..).enumerate() {
                if keep[i] {
                    new_index[i] = Some(kept.len());
                    kept.push(node);
                }
            }
            upper[depth] = kept;
            for child in lower[0].iter_mut() {
                child.parent = child.parent.and_then(|p| new_index[p]);
            }
        }
        if levels.last().is_none_or(Vec::is_empty) || levels[0].is_empty() {
            self.levels = None;
        }
    }

    /// §6.1.4 (b): policy mappings of a CA certificate. `Err` for a mapping
    /// to or from anyPolicy (§6.1.4 (a)).
    pub(super) fn map(
        &mut self,
        mappings: &PolicyMappings,
        mapping_allowed: bool,
    ) -> Result<(), ()> {
        if mappings
            .0
            .iter()
            .any(|m| m.issuer_domain_policy == ANY_POLICY || m.subject_domain_policy == ANY_POLICY)
        {
            return Err(());
        }
        let Some(levels) = self.levels.as_mut() else {
            return Ok(());
        };
        let depth = levels.len() - 1;
        let mut issuer_policies: Vec<ObjectIdentifier> =
            mappings.0.iter().map(|m| m.issuer_domain_policy).collect();
        issuer_policies.dedup();
        for p in issuer_policies {
            let mapped: Vec<ObjectIdentifier> = mappings
                .0
                .iter()
                .filter(|m| m.issuer_domain_policy == p)
                .map(|m| m.subject_domain_policy)
                .collect();
            let level = &mut levels[depth];
            if mapping_allowed {
                let mut found = false;
                for node in level.iter_mut().filter(|n| n.policy == p) {
                    node.expected = mapped.clone();
                    found = true;
                }
                if !found {
                    if let Some(any) = level.iter().find(|n| n.policy == ANY_POLICY).cloned() {
                        level.push(Node {
                            policy: p,
                            expected: mapped.clone(),
                            parent: any.parent,
                        });
                    }
                }
            } else {
                level.retain(|n| n.policy != p);
            }
        }
        if !mapping_allowed {
            self.prune();
        }
        Ok(())
    }
}
