//! Certificate policy processing (RFC 5280 §6.1.3 (d)–(f), §6.1.4 (a)–(b)),
//! with the default inputs: initial-policy-set anyPolicy, no explicit
//! policy required, mapping and anyPolicy not inhibited by the user. The
//! valid_policy_tree is kept level by level.

use const_oid::ObjectIdentifier;
use x509_cert::ext::pkix::{CertificatePolicies, PolicyMappings};

pub(super) const ANY_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.32.0");

/// The most nodes plus expected policies the tree may hold. Policies and
/// mappings chosen by whoever made the certificates can grow the tree
/// exponentially with the path's length (CVE-2023-0464 in OpenSSL); real
/// paths hold a handful. A tree over the cap becomes NULL, as if the
/// certificates asserted no policy: the path then fails exactly when a
/// policy is required (requireExplicitPolicy), so nothing is accepted that
/// a smaller tree would refuse.
const MAX_TREE_WEIGHT: usize = 4096;

/// The most policies, or policy mappings, one certificate may bring to the
/// tree (the same reasoning: real certificates carry a few).
const MAX_PER_CERTIFICATE: usize = 256;

fn weight(levels: &[Vec<Node>]) -> usize {
    levels.iter().flatten().map(|n| 1 + n.expected.len()).sum()
}

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
        if policies.0.len() > MAX_PER_CERTIFICATE {
            self.levels = None;
            return;
        }
        let Some(levels) = self.levels.as_mut() else {
            return;
        };
        let prev = levels.last().cloned().unwrap_or_default();
        let mut spent = weight(levels);
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
                spent += 2;
                if spent > MAX_TREE_WEIGHT {
                    self.levels = None;
                    return;
                }
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
                        spent += 2;
                        if spent > MAX_TREE_WEIGHT {
                            self.levels = None;
                            return;
                        }
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
        if mappings.0.len() > MAX_PER_CERTIFICATE {
            self.levels = None;
            return Ok(());
        }
        let Some(levels) = self.levels.as_mut() else {
            return Ok(());
        };
        let depth = levels.len() - 1;
        let mut spent = weight(levels);
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
                    spent = (spent + mapped.len()).saturating_sub(node.expected.len());
                    node.expected = mapped.clone();
                    found = true;
                }
                if !found {
                    if let Some(any) = level.iter().find(|n| n.policy == ANY_POLICY).cloned() {
                        spent += 1 + mapped.len();
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
            if spent > MAX_TREE_WEIGHT {
                self.levels = None;
                return Ok(());
            }
        }
        if !mapping_allowed {
            self.prune();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_cert::ext::pkix::certpolicy::PolicyInformation;
    use x509_cert::ext::pkix::PolicyMapping;

    fn oid(arc: u32, i: u32) -> ObjectIdentifier {
        ObjectIdentifier::new(&format!("1.3.6.1.4.1.99999.{arc}.{i}")).unwrap()
    }

    fn policies(arc: u32) -> CertificatePolicies {
        CertificatePolicies(
            (0..16)
                .map(|i| PolicyInformation {
                    policy_identifier: oid(arc, i),
                    policy_qualifiers: None,
                })
                .collect(),
        )
    }

    /// Every policy of `from` mapped to every policy of `to`: 256 mappings.
    fn all_to_all(from: u32, to: u32) -> PolicyMappings {
        PolicyMappings(
            (0..16)
                .flat_map(|i| {
                    (0..16).map(move |j| PolicyMapping {
                        issuer_domain_policy: oid(from, i),
                        subject_domain_policy: oid(to, j),
                    })
                })
                .collect(),
        )
    }

    /// Certificates whose 16 policies are each mapped to all 16 of the next
    /// grow the tree sixteenfold per certificate (16^7 nodes at depth 7).
    /// The cap makes it NULL after a few levels instead; without it this
    /// test runs out of memory.
    #[test]
    fn a_policy_tree_built_to_explode_becomes_null() {
        let mut tree = Tree::new();
        for depth in 0..8u32 {
            let (this, next) = (depth % 2, (depth + 1) % 2);
            tree.process(Some(&policies(this)), 1, depth == 7, false);
            if tree.is_null() {
                break;
            }
            tree.map(&all_to_all(this, next), true).unwrap();
        }
        assert!(tree.is_null());
    }

    /// A real path's tree (one policy, one mapping) stays well under the cap.
    #[test]
    fn a_small_policy_tree_is_kept() {
        let mut tree = Tree::new();
        let one = |arc| {
            CertificatePolicies(vec![PolicyInformation {
                policy_identifier: oid(arc, 0),
                policy_qualifiers: None,
            }])
        };
        tree.process(Some(&one(0)), 1, false, false);
        tree.map(
            &PolicyMappings(vec![PolicyMapping {
                issuer_domain_policy: oid(0, 0),
                subject_domain_policy: oid(1, 0),
            }]),
            true,
        )
        .unwrap();
        tree.process(Some(&one(1)), 1, true, false);
        assert!(!tree.is_null());
    }
}
