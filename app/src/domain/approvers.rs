//! Who decides a stage. A person never approves a request for themselves or one they
//! made, even when a stage names them: the stage then goes to its fallback approvers, and
//! when none of those remain either, to the administrators.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ApproverRule {
    Manager,
    SecondLevelManager,
    PackageOwners,
    NamedPeople { person_ids: Vec<i64> },
    GroupMembers { group_ids: Vec<i64> },
}

impl ApproverRule {
    /// The spelling stored in `approval_stage.approver_kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            ApproverRule::Manager => "manager",
            ApproverRule::SecondLevelManager => "second_level_manager",
            ApproverRule::PackageOwners => "package_owners",
            ApproverRule::NamedPeople { .. } => "named_people",
            ApproverRule::GroupMembers { .. } => "group_members",
        }
    }
}

/// The people around one request, loaded by the caller.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Candidates {
    /// The person the access is for.
    pub subject_id: i64,
    /// The person who asked (the subject, or their manager asking on their behalf).
    pub requested_by_id: i64,
    pub manager_id: Option<i64>,
    pub second_level_manager_id: Option<i64>,
    pub package_owner_ids: Vec<i64>,
    /// Active members of the groups a `GroupMembers` rule names.
    pub group_member_ids: Vec<i64>,
    pub fallback_ids: Vec<i64>,
    pub administrator_ids: Vec<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApproverSource {
    Rule,
    Fallback,
    Administrators,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub approver_ids: Vec<i64>,
    pub source: ApproverSource,
}

fn eligible(ids: impl IntoIterator<Item = i64>, candidates: &Candidates) -> Vec<i64> {
    let mut chosen: Vec<i64> = Vec::new();
    for id in ids {
        if id != candidates.subject_id && id != candidates.requested_by_id && !chosen.contains(&id)
        {
            chosen.push(id);
        }
    }
    chosen
}

pub fn resolve(rule: &ApproverRule, candidates: &Candidates) -> Resolved {
    let named: Vec<i64> = match rule {
        ApproverRule::Manager => candidates.manager_id.into_iter().collect(),
        ApproverRule::SecondLevelManager => {
            candidates.second_level_manager_id.into_iter().collect()
        }
        ApproverRule::PackageOwners => candidates.package_owner_ids.clone(),
        ApproverRule::NamedPeople { person_ids } => person_ids.clone(),
        ApproverRule::GroupMembers { .. } => candidates.group_member_ids.clone(),
    };
    let from_rule = eligible(named, candidates);
    if !from_rule.is_empty() {
        return Resolved {
            approver_ids: from_rule,
            source: ApproverSource::Rule,
        };
    }
    let fallback = eligible(candidates.fallback_ids.iter().copied(), candidates);
    if !fallback.is_empty() {
        return Resolved {
            approver_ids: fallback,
            source: ApproverSource::Fallback,
        };
    }
    Resolved {
        approver_ids: eligible(candidates.administrator_ids.iter().copied(), candidates),
        source: ApproverSource::Administrators,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn around(subject: i64) -> Candidates {
        Candidates {
            subject_id: subject,
            requested_by_id: subject,
            manager_id: Some(2),
            second_level_manager_id: Some(3),
            package_owner_ids: vec![4, 5],
            group_member_ids: vec![6, subject],
            fallback_ids: vec![9],
            administrator_ids: vec![10],
        }
    }

    #[test]
    fn each_rule_names_its_people() {
        let candidates = around(1);
        assert_eq!(
            resolve(&ApproverRule::Manager, &candidates).approver_ids,
            vec![2]
        );
        assert_eq!(
            resolve(&ApproverRule::SecondLevelManager, &candidates).approver_ids,
            vec![3]
        );
        assert_eq!(
            resolve(&ApproverRule::PackageOwners, &candidates).approver_ids,
            vec![4, 5]
        );
        assert_eq!(
            resolve(
                &ApproverRule::NamedPeople {
                    person_ids: vec![8, 8, 7]
                },
                &candidates
            )
            .approver_ids,
            vec![8, 7]
        );
        assert_eq!(
            resolve(
                &ApproverRule::GroupMembers { group_ids: vec![1] },
                &candidates
            )
            .approver_ids,
            vec![6],
            "the requester is never among the approvers"
        );
    }

    #[test]
    fn an_owner_requesting_their_own_package_goes_to_the_fallback() {
        let mut candidates = around(4);
        candidates.package_owner_ids = vec![4];
        let resolved = resolve(&ApproverRule::PackageOwners, &candidates);
        assert_eq!(
            resolved,
            Resolved {
                approver_ids: vec![9],
                source: ApproverSource::Fallback
            }
        );
    }

    #[test]
    fn a_manager_requesting_for_a_report_does_not_approve_it() {
        let mut candidates = around(1);
        candidates.requested_by_id = 2;
        let resolved = resolve(&ApproverRule::Manager, &candidates);
        assert_eq!(resolved.source, ApproverSource::Fallback);
        assert_eq!(resolved.approver_ids, vec![9]);
    }

    #[test]
    fn without_a_manager_or_fallback_the_administrators_decide() {
        let mut candidates = around(1);
        candidates.manager_id = None;
        candidates.fallback_ids.clear();
        let resolved = resolve(&ApproverRule::Manager, &candidates);
        assert_eq!(
            resolved,
            Resolved {
                approver_ids: vec![10],
                source: ApproverSource::Administrators
            }
        );
    }
}
