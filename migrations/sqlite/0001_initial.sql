-- Gatehouse initial schema (SQLite dialect).
-- Kept in lock-step with migrations/postgres/0001_initial.sql: same tables, same columns
-- in the same order, same constraint and index names. See migrations/README.md.
--
-- Conventions: ids are integer (i64); timestamps are integer milliseconds since the Unix
-- epoch (UTC) in columns named *_at; booleans are integer not null default false; JSON is
-- text in columns named *_json; enums are text with a named check constraint.
-- Runs with PRAGMA foreign_keys=ON.

-- ---------------------------------------------------------------------------
-- People and groups
-- ---------------------------------------------------------------------------

create table person (
    id integer primary key,
    employee_id text,
    email text not null,
    display_name text not null,
    department text,
    job_title text,
    manager_id integer,
    status text not null default 'active',
    source text not null default 'manual',
    hire_at integer,
    leave_at integer,
    attributes_json text not null default '{}',
    oidc_subject text,
    last_sign_in_at integer,
    is_admin integer not null default false,
    is_auditor integer not null default false,
    created_at integer not null,
    updated_at integer not null,
    constraint person_employee_id_uq unique (employee_id),
    constraint person_email_uq unique (email),
    constraint person_oidc_subject_uq unique (oidc_subject),
    constraint person_manager_fk foreign key (manager_id) references person (id),
    constraint person_manager_ck check (manager_id is null or manager_id <> id),
    constraint person_status_ck check (status in ('active', 'disabled', 'left')),
    constraint person_source_ck check (source in ('manual', 'hr', 'scim', 'oidc'))
);
create index person_manager_id_idx on person (manager_id);
create index person_status_idx on person (status);
create index person_hire_at_idx on person (hire_at);
create index person_leave_at_idx on person (leave_at);

create table person_group (
    id integer primary key,
    name text not null,
    description text not null default '',
    source text not null default 'builtin',
    external_id text,
    created_at integer not null,
    updated_at integer not null,
    constraint person_group_name_uq unique (name),
    constraint person_group_source_external_id_uq unique (source, external_id),
    constraint person_group_source_ck check (source in ('builtin', 'hr', 'scim', 'oidc'))
);

create table person_group_member (
    person_group_id integer not null,
    person_id integer not null,
    created_at integer not null,
    constraint person_group_member_pk primary key (person_group_id, person_id),
    constraint person_group_member_person_group_fk foreign key (person_group_id) references person_group (id) on delete cascade,
    constraint person_group_member_person_fk foreign key (person_id) references person (id) on delete cascade
);
create index person_group_member_person_id_idx on person_group_member (person_id);

-- ---------------------------------------------------------------------------
-- Catalogs, connectors, resources, access packages
-- ---------------------------------------------------------------------------

create table catalog (
    id integer primary key,
    name text not null,
    description text not null default '',
    is_enabled integer not null default false,
    created_at integer not null,
    updated_at integer not null,
    constraint catalog_name_uq unique (name)
);

create table catalog_owner (
    catalog_id integer not null,
    person_id integer not null,
    created_at integer not null,
    constraint catalog_owner_pk primary key (catalog_id, person_id),
    constraint catalog_owner_catalog_fk foreign key (catalog_id) references catalog (id) on delete cascade,
    constraint catalog_owner_person_fk foreign key (person_id) references person (id) on delete cascade
);
create index catalog_owner_person_id_idx on catalog_owner (person_id);

create table connector (
    id integer primary key,
    name text not null,
    kind text not null,
    config_json text not null default '{}',
    secret_ref text,
    is_authoritative integer not null default false,
    is_enabled integer not null default false,
    health text not null default 'unknown',
    health_message text,
    health_checked_at integer,
    last_reconciled_at integer,
    created_at integer not null,
    updated_at integer not null,
    constraint connector_name_uq unique (name),
    constraint connector_kind_ck check (kind in ('builtin', 'scim', 'ldap', 'webhook')),
    constraint connector_health_ck check (health in ('unknown', 'ok', 'failing'))
);

-- The account a person has in a downstream system (e.g. the SCIM user id or LDAP DN),
-- needed to add/remove memberships and to disable the account.
create table connector_account (
    id integer primary key,
    connector_id integer not null,
    person_id integer not null,
    external_id text not null,
    status text not null default 'active',
    created_at integer not null,
    updated_at integer not null,
    constraint connector_account_connector_person_uq unique (connector_id, person_id),
    constraint connector_account_connector_external_id_uq unique (connector_id, external_id),
    constraint connector_account_connector_fk foreign key (connector_id) references connector (id),
    constraint connector_account_person_fk foreign key (person_id) references person (id),
    constraint connector_account_status_ck check (status in ('active', 'disabled'))
);
create index connector_account_person_id_idx on connector_account (person_id);

create table resource (
    id integer primary key,
    catalog_id integer not null,
    connector_id integer not null,
    name text not null,
    kind text not null,
    external_id text,
    description text not null default '',
    created_at integer not null,
    updated_at integer not null,
    constraint resource_connector_external_id_uq unique (connector_id, external_id),
    constraint resource_catalog_fk foreign key (catalog_id) references catalog (id),
    constraint resource_connector_fk foreign key (connector_id) references connector (id),
    constraint resource_kind_ck check (kind in ('group', 'app_role', 'team'))
);
create index resource_catalog_id_idx on resource (catalog_id);

create table access_package (
    id integer primary key,
    catalog_id integer not null,
    name text not null,
    description text not null default '',
    is_hidden integer not null default false,
    created_at integer not null,
    updated_at integer not null,
    constraint access_package_catalog_name_uq unique (catalog_id, name),
    constraint access_package_catalog_fk foreign key (catalog_id) references catalog (id)
);

create table access_package_owner (
    access_package_id integer not null,
    person_id integer not null,
    created_at integer not null,
    constraint access_package_owner_pk primary key (access_package_id, person_id),
    constraint access_package_owner_access_package_fk foreign key (access_package_id) references access_package (id) on delete cascade,
    constraint access_package_owner_person_fk foreign key (person_id) references person (id) on delete cascade
);
create index access_package_owner_person_id_idx on access_package_owner (person_id);

create table access_package_resource (
    access_package_id integer not null,
    resource_id integer not null,
    role text not null default 'member',
    created_at integer not null,
    constraint access_package_resource_pk primary key (access_package_id, resource_id),
    constraint access_package_resource_access_package_fk foreign key (access_package_id) references access_package (id) on delete cascade,
    constraint access_package_resource_resource_fk foreign key (resource_id) references resource (id)
);
create index access_package_resource_resource_id_idx on access_package_resource (resource_id);

-- ---------------------------------------------------------------------------
-- Policies, approval stages, separation of duties
-- ---------------------------------------------------------------------------

create table assignment_policy (
    id integer primary key,
    access_package_id integer not null,
    name text not null,
    description text not null default '',
    position integer not null default 1,
    requestor_scope text not null,
    requestor_rule_json text not null default '{}',
    justification_required integer not null default false,
    questions_json text not null default '[]',
    duration_kind text not null,
    duration_value integer,
    fixed_end_at integer,
    extension_allowed integer not null default false,
    extension_needs_approval integer not null default false,
    review_settings_json text not null default '{}',
    is_enabled integer not null default false,
    created_at integer not null,
    updated_at integer not null,
    constraint assignment_policy_access_package_fk foreign key (access_package_id) references access_package (id) on delete cascade,
    constraint assignment_policy_requestor_scope_ck check (requestor_scope in ('everyone', 'groups', 'attribute_rule', 'none')),
    constraint assignment_policy_duration_kind_ck check (duration_kind in ('fixed_end', 'max_days', 'max_hours', 'no_end')),
    constraint assignment_policy_duration_value_ck check (duration_value is null or duration_value >= 1),
    constraint assignment_policy_fixed_end_ck check (duration_kind <> 'fixed_end' or fixed_end_at is not null)
);
create index assignment_policy_access_package_id_position_idx on assignment_policy (access_package_id, position);

create table approval_stage (
    id integer primary key,
    assignment_policy_id integer not null,
    position integer not null,
    approver_kind text not null,
    approver_ref_json text not null default '[]',
    required_approvals integer not null default 1,
    decision_timeout_days integer not null default 14,
    escalation_after_days integer,
    escalation_approvers_json text not null default '[]',
    fallback_approvers_json text not null default '[]',
    justification_required integer not null default false,
    created_at integer not null,
    updated_at integer not null,
    constraint approval_stage_policy_position_uq unique (assignment_policy_id, position),
    constraint approval_stage_assignment_policy_fk foreign key (assignment_policy_id) references assignment_policy (id) on delete cascade,
    constraint approval_stage_position_ck check (position between 1 and 3),
    constraint approval_stage_approver_kind_ck check (approver_kind in ('manager', 'second_level_manager', 'package_owners', 'named_people', 'group_members')),
    constraint approval_stage_required_approvals_ck check (required_approvals >= 1),
    constraint approval_stage_decision_timeout_days_ck check (decision_timeout_days >= 1),
    constraint approval_stage_escalation_after_days_ck check (escalation_after_days is null or escalation_after_days >= 1)
);

-- Separation of duties. The app stores each pair once or both ways; queries should check
-- both directions.
create table incompatibility (
    access_package_id integer not null,
    incompatible_package_id integer not null,
    created_at integer not null,
    constraint incompatibility_pk primary key (access_package_id, incompatible_package_id),
    constraint incompatibility_access_package_fk foreign key (access_package_id) references access_package (id) on delete cascade,
    constraint incompatibility_incompatible_package_fk foreign key (incompatible_package_id) references access_package (id) on delete cascade,
    constraint incompatibility_distinct_ck check (access_package_id <> incompatible_package_id)
);
create index incompatibility_incompatible_package_id_idx on incompatibility (incompatible_package_id);

-- ---------------------------------------------------------------------------
-- Requests, decisions, approval tasks, assignments
-- ---------------------------------------------------------------------------

create table access_request (
    id integer primary key,
    kind text not null,
    person_id integer not null,
    requested_by_id integer not null,
    access_package_id integer not null,
    assignment_policy_id integer,
    assignment_id integer,
    status text not null default 'submitted',
    current_stage integer,
    justification text not null default '',
    answers_json text not null default '{}',
    start_at integer not null,
    end_at integer,
    version integer not null default 1,
    decided_at integer,
    delivered_at integer,
    reject_reason text,
    created_at integer not null,
    updated_at integer not null,
    constraint access_request_person_fk foreign key (person_id) references person (id),
    constraint access_request_requested_by_fk foreign key (requested_by_id) references person (id),
    constraint access_request_access_package_fk foreign key (access_package_id) references access_package (id),
    constraint access_request_assignment_policy_fk foreign key (assignment_policy_id) references assignment_policy (id),
    constraint access_request_assignment_fk foreign key (assignment_id) references assignment (id),
    constraint access_request_kind_ck check (kind in ('assign', 'extend', 'remove')),
    constraint access_request_status_ck check (status in ('submitted', 'pending_approval', 'approved', 'delivering', 'delivered', 'denied', 'timed_out', 'cancelled', 'rejected')),
    constraint access_request_current_stage_ck check (current_stage is null or current_stage between 1 and 3),
    constraint access_request_policy_ck check (kind <> 'assign' or assignment_policy_id is not null),
    constraint access_request_assignment_ck check (kind = 'assign' or assignment_id is not null),
    constraint access_request_version_ck check (version >= 1)
);
create index access_request_person_id_idx on access_request (person_id);
create index access_request_requested_by_id_idx on access_request (requested_by_id);
create index access_request_status_idx on access_request (status);
create index access_request_access_package_id_idx on access_request (access_package_id);
create index access_request_assignment_id_idx on access_request (assignment_id);

create table decision (
    id integer primary key,
    access_request_id integer not null,
    stage_position integer not null,
    approver_id integer not null,
    outcome text not null,
    justification text not null default '',
    via text not null default 'web',
    decided_at integer not null,
    constraint decision_request_stage_approver_uq unique (access_request_id, stage_position, approver_id),
    constraint decision_access_request_fk foreign key (access_request_id) references access_request (id),
    constraint decision_approver_fk foreign key (approver_id) references person (id),
    constraint decision_stage_position_ck check (stage_position between 1 and 3),
    constraint decision_outcome_ck check (outcome in ('approve', 'deny')),
    constraint decision_via_ck check (via in ('web', 'email'))
);
create index decision_approver_id_idx on decision (approver_id);

create table approval_task (
    id integer primary key,
    access_request_id integer not null,
    stage_position integer not null,
    approver_id integer not null,
    origin text not null default 'primary',
    due_at integer not null,
    escalated_at integer,
    status text not null default 'open',
    created_at integer not null,
    updated_at integer not null,
    constraint approval_task_request_stage_approver_uq unique (access_request_id, stage_position, approver_id),
    constraint approval_task_access_request_fk foreign key (access_request_id) references access_request (id),
    constraint approval_task_approver_fk foreign key (approver_id) references person (id),
    constraint approval_task_stage_position_ck check (stage_position between 1 and 3),
    constraint approval_task_origin_ck check (origin in ('primary', 'escalation', 'fallback')),
    constraint approval_task_status_ck check (status in ('open', 'done', 'expired', 'cancelled'))
);
create index approval_task_approver_id_status_idx on approval_task (approver_id, status);
create index approval_task_status_due_at_idx on approval_task (status, due_at);

create table assignment (
    id integer primary key,
    person_id integer not null,
    access_package_id integer not null,
    assignment_policy_id integer,
    access_request_id integer,
    status text not null,
    start_at integer not null,
    end_at integer,
    removal_reason text,
    removed_at integer,
    version integer not null default 1,
    created_at integer not null,
    updated_at integer not null,
    constraint assignment_person_fk foreign key (person_id) references person (id),
    constraint assignment_access_package_fk foreign key (access_package_id) references access_package (id),
    constraint assignment_assignment_policy_fk foreign key (assignment_policy_id) references assignment_policy (id),
    constraint assignment_access_request_fk foreign key (access_request_id) references access_request (id),
    constraint assignment_status_ck check (status in ('scheduled', 'active', 'ending', 'removed')),
    constraint assignment_removal_reason_ck check (removal_reason is null or removal_reason in ('expired', 'denied_in_review', 'revoked', 'released', 'user_left', 'not_eligible', 'separation_of_duties')),
    constraint assignment_version_ck check (version >= 1)
);
create index assignment_status_end_at_idx on assignment (status, end_at);
create index assignment_person_id_idx on assignment (person_id);
create index assignment_access_package_id_status_idx on assignment (access_package_id, status);

-- ---------------------------------------------------------------------------
-- Outboxes: provisioning jobs and email
-- ---------------------------------------------------------------------------

create table provisioning_job (
    id integer primary key,
    connector_id integer not null,
    resource_id integer,
    assignment_id integer,
    person_id integer,
    operation text not null,
    payload_json text not null default '{}',
    status text not null default 'pending',
    attempts integer not null default 0,
    max_attempts integer not null default 10,
    next_attempt_at integer not null,
    lease_owner text,
    lease_until integer,
    last_error text,
    verified_at integer,
    idempotency_key text not null,
    created_at integer not null,
    updated_at integer not null,
    constraint provisioning_job_idempotency_key_uq unique (idempotency_key),
    constraint provisioning_job_connector_fk foreign key (connector_id) references connector (id),
    constraint provisioning_job_resource_fk foreign key (resource_id) references resource (id),
    constraint provisioning_job_assignment_fk foreign key (assignment_id) references assignment (id),
    constraint provisioning_job_person_fk foreign key (person_id) references person (id),
    constraint provisioning_job_operation_ck check (operation in ('add_member', 'remove_member', 'create_user', 'update_user', 'enable_user', 'disable_user', 'verify_removal')),
    constraint provisioning_job_status_ck check (status in ('pending', 'running', 'succeeded', 'failed', 'dead')),
    constraint provisioning_job_attempts_ck check (attempts >= 0 and max_attempts >= 1)
);
create index provisioning_job_status_next_attempt_at_idx on provisioning_job (status, next_attempt_at);
create index provisioning_job_assignment_id_idx on provisioning_job (assignment_id);
create index provisioning_job_connector_id_status_idx on provisioning_job (connector_id, status);
create index provisioning_job_person_id_idx on provisioning_job (person_id);

create table outbound_message (
    id integer primary key,
    to_person_id integer,
    to_address text not null,
    template text not null,
    subject text not null,
    body_text text not null,
    body_html text not null default '',
    status text not null default 'queued',
    attempts integer not null default 0,
    max_attempts integer not null default 10,
    next_attempt_at integer not null,
    lease_owner text,
    lease_until integer,
    last_error text,
    sent_at integer,
    digest_key text,
    created_at integer not null,
    updated_at integer not null,
    constraint outbound_message_to_person_fk foreign key (to_person_id) references person (id),
    constraint outbound_message_status_ck check (status in ('queued', 'sending', 'sent', 'failed', 'dead')),
    constraint outbound_message_attempts_ck check (attempts >= 0 and max_attempts >= 1)
);
create index outbound_message_status_next_attempt_at_idx on outbound_message (status, next_attempt_at);
create index outbound_message_digest_key_idx on outbound_message (digest_key);
create index outbound_message_to_person_id_idx on outbound_message (to_person_id);

-- Secret in an email link. Only the hash of the token is stored. Bound to the subject's
-- version: a token for an older version of the subject is stale.
create table action_token (
    id integer primary key,
    token_hash text not null,
    purpose text not null,
    subject_kind text not null,
    subject_id integer not null,
    subject_version integer not null,
    person_id integer not null,
    expires_at integer not null,
    used_at integer,
    created_at integer not null,
    constraint action_token_token_hash_uq unique (token_hash),
    constraint action_token_person_fk foreign key (person_id) references person (id),
    constraint action_token_purpose_ck check (purpose in ('approve', 'deny', 'decide', 'extend', 'review'))
);
create index action_token_person_id_idx on action_token (person_id);
create index action_token_expires_at_idx on action_token (expires_at);

-- ---------------------------------------------------------------------------
-- Access reviews
-- ---------------------------------------------------------------------------

create table access_review (
    id integer primary key,
    name text not null,
    description text not null default '',
    scope_json text not null default '{}',
    reviewer_kind text not null,
    reviewer_ref_json text not null default '[]',
    recurrence text not null default 'once',
    duration_days integer not null default 14,
    reminder_days_json text not null default '[]',
    default_decision text not null default 'none',
    auto_apply integer not null default false,
    is_enabled integer not null default false,
    start_at integer not null,
    next_run_at integer,
    created_by_id integer not null,
    created_at integer not null,
    updated_at integer not null,
    constraint access_review_created_by_fk foreign key (created_by_id) references person (id),
    constraint access_review_reviewer_kind_ck check (reviewer_kind in ('manager', 'self', 'package_owners', 'named')),
    constraint access_review_recurrence_ck check (recurrence in ('once', 'weekly', 'monthly', 'quarterly', 'semiannual', 'annual')),
    constraint access_review_duration_days_ck check (duration_days >= 1),
    constraint access_review_default_decision_ck check (default_decision in ('keep', 'remove', 'none'))
);

create table review_instance (
    id integer primary key,
    access_review_id integer not null,
    status text not null default 'scheduled',
    start_at integer not null,
    end_at integer not null,
    completed_at integer,
    created_at integer not null,
    updated_at integer not null,
    constraint review_instance_review_start_uq unique (access_review_id, start_at),
    constraint review_instance_access_review_fk foreign key (access_review_id) references access_review (id),
    constraint review_instance_status_ck check (status in ('scheduled', 'in_progress', 'completed', 'applied', 'cancelled')),
    constraint review_instance_period_ck check (end_at > start_at)
);
create index review_instance_status_end_at_idx on review_instance (status, end_at);

create table review_item (
    id integer primary key,
    review_instance_id integer not null,
    assignment_id integer not null,
    reviewer_id integer not null,
    recommendation text,
    decision text,
    reason text not null default '',
    decided_by_id integer,
    decided_at integer,
    applied_at integer,
    created_at integer not null,
    updated_at integer not null,
    constraint review_item_instance_assignment_reviewer_uq unique (review_instance_id, assignment_id, reviewer_id),
    constraint review_item_review_instance_fk foreign key (review_instance_id) references review_instance (id),
    constraint review_item_assignment_fk foreign key (assignment_id) references assignment (id),
    constraint review_item_reviewer_fk foreign key (reviewer_id) references person (id),
    constraint review_item_decided_by_fk foreign key (decided_by_id) references person (id),
    constraint review_item_recommendation_ck check (recommendation is null or recommendation in ('keep', 'remove')),
    constraint review_item_decision_ck check (decision is null or decision in ('keep', 'remove', 'not_sure'))
);
create index review_item_reviewer_id_decision_idx on review_item (reviewer_id, decision);
create index review_item_assignment_id_idx on review_item (assignment_id);

-- ---------------------------------------------------------------------------
-- Lifecycle workflows
-- ---------------------------------------------------------------------------

create table lifecycle_workflow (
    id integer primary key,
    name text not null,
    description text not null default '',
    kind text not null,
    trigger_kind text not null,
    trigger_offset_days integer not null default 0,
    trigger_rule_json text not null default '{}',
    tasks_json text not null default '[]',
    is_enabled integer not null default false,
    created_at integer not null,
    updated_at integer not null,
    constraint lifecycle_workflow_name_uq unique (name),
    constraint lifecycle_workflow_kind_ck check (kind in ('joiner', 'mover', 'leaver', 'custom')),
    constraint lifecycle_workflow_trigger_kind_ck check (trigger_kind in ('hire_date', 'leave_date', 'attribute_change', 'on_demand'))
);

create table workflow_run (
    id integer primary key,
    lifecycle_workflow_id integer not null,
    person_id integer not null,
    status text not null default 'scheduled',
    due_at integer not null,
    started_at integer,
    finished_at integer,
    log_json text not null default '[]',
    created_at integer not null,
    updated_at integer not null,
    constraint workflow_run_workflow_person_due_uq unique (lifecycle_workflow_id, person_id, due_at),
    constraint workflow_run_lifecycle_workflow_fk foreign key (lifecycle_workflow_id) references lifecycle_workflow (id),
    constraint workflow_run_person_fk foreign key (person_id) references person (id),
    constraint workflow_run_status_ck check (status in ('scheduled', 'running', 'succeeded', 'failed', 'cancelled'))
);
create index workflow_run_status_due_at_idx on workflow_run (status, due_at);
create index workflow_run_person_id_idx on workflow_run (person_id);

-- ---------------------------------------------------------------------------
-- Scheduler
-- ---------------------------------------------------------------------------

-- One row per pending timed event (assignment end, approval timeout, escalation, reminder,
-- review start/end, workflow trigger). Re-arming updates due_at and clears fired_at.
create table deadline (
    id integer primary key,
    kind text not null,
    subject_kind text not null,
    subject_id integer not null,
    due_at integer not null,
    fired_at integer,
    lease_owner text,
    lease_until integer,
    created_at integer not null,
    updated_at integer not null,
    constraint deadline_kind_subject_uq unique (kind, subject_kind, subject_id)
);
create index deadline_fired_at_due_at_idx on deadline (fired_at, due_at);

-- ---------------------------------------------------------------------------
-- Audit
-- ---------------------------------------------------------------------------

-- APPEND-ONLY. The application never updates or deletes audit_event rows.
-- id is the sequence of the chain; hash = sha256 over prev_hash and the event's content
-- (hex, 64 characters). audit_chain_head holds the hash of the last event; update it in
-- the same transaction as the insert (this also serialises writers of the chain).
create table audit_event (
    id integer primary key,
    occurred_at integer not null,
    actor_id integer,
    actor_label text not null,
    action text not null,
    object_kind text not null,
    object_id text,
    before_json text,
    after_json text,
    prev_hash text not null,
    hash text not null,
    constraint audit_event_hash_uq unique (hash),
    constraint audit_event_actor_fk foreign key (actor_id) references person (id),
    constraint audit_event_hash_ck check (length(hash) = 64 and length(prev_hash) = 64)
);
create index audit_event_object_kind_object_id_idx on audit_event (object_kind, object_id);
create index audit_event_actor_id_idx on audit_event (actor_id);
create index audit_event_occurred_at_idx on audit_event (occurred_at);

create table audit_chain_head (
    id integer primary key,
    last_event_id integer,
    last_hash text not null,
    constraint audit_chain_head_last_event_fk foreign key (last_event_id) references audit_event (id),
    constraint audit_chain_head_single_row_ck check (id = 1)
);
insert into audit_chain_head (id, last_event_id, last_hash)
values (1, null, '0000000000000000000000000000000000000000000000000000000000000000');

-- ---------------------------------------------------------------------------
-- Sessions and settings
-- ---------------------------------------------------------------------------

-- tower-sessions store.
create table session (
    id text not null primary key,
    data blob not null,
    expiry_at integer not null
);
create index session_expiry_at_idx on session (expiry_at);

create table setting (
    key text not null primary key,
    value_json text not null,
    updated_at integer not null
);
