-- Access reviews (issue 15). The tables of 0001 were a sketch that nothing wrote to; they
-- are replaced by a definition with its packages, stages and named people, instances that
-- walk through the stages, and one item per assignment (or per unexplained downstream
-- member, from reconciliation's drift) per stage, with its reviewers in a table of their own
-- so that one item can wait on several people and be handed to another.
drop table review_item;
drop table review_instance;
drop table access_review;

create table access_review (
    id integer primary key,
    name text not null,
    description text not null default '',
    scope_kind text not null,
    catalog_id integer,
    departments_json text not null default '[]',
    employee_types_json text not null default '[]',
    held_longer_than_days integer,
    inactive_days integer,
    include_drift integer not null default false,
    start_at integer not null,
    duration_days integer not null,
    recurrence text not null default 'once',
    reminder_days_json text not null default '[]',
    reason_on_keep integer not null default false,
    reason_on_remove integer not null default true,
    default_decision text not null default 'none',
    apply_mode text not null default 'auto',
    extend_kept integer not null default false,
    sign_in_window_days integer not null default 30,
    quality_extra_stage integer not null default false,
    is_enabled integer not null default true,
    next_start_at integer,
    owner_id integer not null,
    version integer not null default 1,
    created_at integer not null,
    updated_at integer not null,
    constraint access_review_catalog_fk foreign key (catalog_id) references catalog (id),
    constraint access_review_owner_fk foreign key (owner_id) references person (id),
    constraint access_review_scope_kind_ck check (scope_kind in ('packages', 'catalog', 'all')),
    constraint access_review_scope_catalog_ck check (scope_kind <> 'catalog' or catalog_id is not null),
    constraint access_review_recurrence_ck check (recurrence in ('once', 'weekly', 'monthly', 'quarterly', 'semiannual', 'annual')),
    constraint access_review_duration_days_ck check (duration_days between 1 and 365),
    constraint access_review_default_decision_ck check (default_decision in ('none', 'keep', 'remove', 'recommendation')),
    constraint access_review_apply_mode_ck check (apply_mode in ('auto', 'confirm')),
    constraint access_review_sign_in_window_days_ck check (sign_in_window_days >= 1),
    constraint access_review_version_ck check (version >= 1)
);
create unique index access_review_lower_name_uq on access_review (lower(name));
create index access_review_next_start_at_idx on access_review (next_start_at);

create table access_review_package (
    access_review_id integer not null,
    access_package_id integer not null,
    constraint access_review_package_pk primary key (access_review_id, access_package_id),
    constraint access_review_package_access_review_fk foreign key (access_review_id) references access_review (id) on delete cascade,
    constraint access_review_package_access_package_fk foreign key (access_package_id) references access_package (id)
);

create table access_review_stage (
    access_review_id integer not null,
    position integer not null,
    reviewer_kind text not null,
    person_group_id integer,
    duration_days integer not null,
    carry text not null default 'all',
    constraint access_review_stage_pk primary key (access_review_id, position),
    constraint access_review_stage_access_review_fk foreign key (access_review_id) references access_review (id) on delete cascade,
    constraint access_review_stage_person_group_fk foreign key (person_group_id) references person_group (id),
    constraint access_review_stage_position_ck check (position between 1 and 4),
    constraint access_review_stage_reviewer_kind_ck check (reviewer_kind in ('manager', 'self', 'package_owners', 'named', 'group')),
    constraint access_review_stage_group_ck check (reviewer_kind <> 'group' or person_group_id is not null),
    constraint access_review_stage_duration_days_ck check (duration_days >= 1),
    constraint access_review_stage_carry_ck check (carry in ('all', 'kept', 'removed'))
);

-- Named reviewers and fallback reviewers of a stage.
create table access_review_person (
    access_review_id integer not null,
    stage_position integer not null,
    role text not null,
    person_id integer not null,
    constraint access_review_person_pk primary key (access_review_id, stage_position, role, person_id),
    constraint access_review_person_access_review_fk foreign key (access_review_id) references access_review (id) on delete cascade,
    constraint access_review_person_person_fk foreign key (person_id) references person (id),
    constraint access_review_person_role_ck check (role in ('reviewer', 'fallback'))
);

create table review_instance (
    id integer primary key,
    access_review_id integer not null,
    status text not null default 'starting',
    stage integer not null default 1,
    stage_count integer not null default 1,
    start_at integer not null,
    end_at integer not null,
    stage_end_at integer not null,
    stage_items integer not null default 0,
    stage_decided integer not null default 0,
    snapshot_after_id integer not null default 0,
    snapshot_until_id integer not null default 0,
    ended_at integer,
    applied_at integer,
    version integer not null default 1,
    created_at integer not null,
    updated_at integer not null,
    constraint review_instance_review_start_uq unique (access_review_id, start_at),
    constraint review_instance_access_review_fk foreign key (access_review_id) references access_review (id),
    constraint review_instance_status_ck check (status in ('starting', 'in_progress', 'ended', 'applying', 'applied', 'cancelled')),
    constraint review_instance_stage_ck check (stage between 1 and stage_count and stage_count between 1 and 4),
    constraint review_instance_period_ck check (end_at > start_at)
);
create index review_instance_status_stage_end_at_idx on review_instance (status, stage_end_at);

create table review_item (
    id integer primary key,
    review_instance_id integer not null,
    stage integer not null,
    assignment_id integer,
    drift_id integer,
    person_id integer not null,
    access_package_id integer,
    resource_id integer,
    recommendation text,
    recommendation_json text not null default '[]',
    decision text,
    reason text not null default '',
    decided_by_id integer,
    decided_at integer,
    applied_at integer,
    applied_result text,
    created_at integer not null,
    constraint review_item_instance_stage_assignment_uq unique (review_instance_id, stage, assignment_id),
    constraint review_item_instance_stage_drift_uq unique (review_instance_id, stage, drift_id),
    constraint review_item_review_instance_fk foreign key (review_instance_id) references review_instance (id),
    constraint review_item_assignment_fk foreign key (assignment_id) references assignment (id),
    constraint review_item_drift_fk foreign key (drift_id) references drift (id),
    constraint review_item_person_fk foreign key (person_id) references person (id),
    constraint review_item_access_package_fk foreign key (access_package_id) references access_package (id),
    constraint review_item_resource_fk foreign key (resource_id) references resource (id),
    constraint review_item_decided_by_fk foreign key (decided_by_id) references person (id),
    constraint review_item_subject_ck check ((assignment_id is null) <> (drift_id is null)),
    constraint review_item_recommendation_ck check (recommendation is null or recommendation in ('keep', 'remove')),
    constraint review_item_decision_ck check (decision is null or decision in ('keep', 'remove', 'not_sure'))
);
create index review_item_instance_stage_decision_idx on review_item (review_instance_id, stage, decision);
create index review_item_assignment_id_idx on review_item (assignment_id);

-- Who may decide an item: one row per reviewer (several for owners, named people, a group).
create table review_item_reviewer (
    review_item_id integer not null,
    person_id integer not null,
    review_instance_id integer not null,
    stage integer not null,
    reassigned_by_id integer,
    reassign_reason text,
    created_at integer not null,
    constraint review_item_reviewer_pk primary key (review_item_id, person_id),
    constraint review_item_reviewer_review_item_fk foreign key (review_item_id) references review_item (id),
    constraint review_item_reviewer_person_fk foreign key (person_id) references person (id),
    constraint review_item_reviewer_reassigned_by_fk foreign key (reassigned_by_id) references person (id)
);
create index review_item_reviewer_person_instance_idx on review_item_reviewer (person_id, review_instance_id, stage, review_item_id);
create index review_item_reviewer_instance_stage_idx on review_item_reviewer (review_instance_id, stage, person_id);

-- The reviewer page counts the peers of a holder (same department) who hold the same package.
create index person_department_idx on person (department);

-- Does a person hold a package? (peers on the reviewer page, one lookup per person).
create index assignment_person_id_access_package_id_idx on assignment (person_id, access_package_id, status);
