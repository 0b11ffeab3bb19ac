-- Starting a review over a million assignments in seconds (issue 15). Measured before
-- this migration, a company-wide manager review took 33 s to start on SQLite and 80 s on
-- PostgreSQL; the time went to writing two rows per item (the item and its reviewer row),
-- to two text indexes that ordered the reviewer rows, and, on PostgreSQL, to the foreign
-- key checks of every row written (60 % of the item insert: each check locks the row it
-- points at).
--
-- 1. An item that has one reviewer (a manager review, a self-review) names them itself:
--    `review_item.reviewer_id`. `review_item_reviewer` keeps the other cases: several
--    reviewers (package owners, named people, a group, fallbacks) and reassignments.
--    Existing reviewer rows stay valid as they are.
-- 2. The reviewer's page orders by integer ranks of the holder's and the access's names,
--    taken when the instance is created (`review_rank`), instead of by text keys.
-- 3. Review items and reviewer rows carry no foreign keys. They are a snapshot of rows that
--    are never deleted (people, assignments, packages, resources, drift and instances only
--    change status), written only by INSERT ... SELECT from those rows.
-- 4. The snapshot is cut into batches of assignment ids, listed when the instance is
--    created (`review_snapshot_batch`); a transaction fills one batch and marks it done, so
--    a crash redoes only the batches not done, and on PostgreSQL several transactions (of
--    one Gatehouse or of several) fill different batches at once. This replaces the one
--    cursor `review_instance.snapshot_after_id`, which let only one transaction work.

create table review_rank (
    review_instance_id integer not null,
    subject text not null,
    subject_id integer not null,
    position integer not null,
    constraint review_rank_pk primary key (review_instance_id, subject, subject_id),
    constraint review_rank_review_instance_fk foreign key (review_instance_id) references review_instance (id),
    constraint review_rank_subject_ck check (subject in ('person', 'package', 'resource'))
);

-- Ranks for the instances still being filled, and for the items that exist.
insert into review_rank (review_instance_id, subject, subject_id, position)
select i.id, 'person', p.id, row_number() over (partition by i.id order by lower(p.display_name), lower(p.email), p.id)
from review_instance i cross join person p where i.status = 'starting';
insert into review_rank (review_instance_id, subject, subject_id, position)
select i.id, x.subject, x.id, row_number() over (partition by i.id order by lower(x.name), x.subject, x.id)
from review_instance i cross join (select 'package' as subject, id, name from access_package
                                   union all select 'resource', id, name from resource) x
where i.status = 'starting';

create table review_item_next (
    id integer primary key,
    review_instance_id integer not null,
    stage integer not null,
    assignment_id integer,
    drift_id integer,
    person_id integer not null,
    access_package_id integer,
    resource_id integer,
    reviewer_id integer,
    holder_rank integer not null default 0,
    access_rank integer not null default 0,
    recommendation text,
    recommendation_json text not null default '[]',
    decision text,
    reason text not null default '',
    decided_by_id integer,
    decided_at integer,
    applied_at integer,
    applied_result text,
    created_at integer not null,
    constraint review_item_subject_ck check ((assignment_id is null) <> (drift_id is null)),
    constraint review_item_recommendation_ck check (recommendation is null or recommendation in ('keep', 'remove')),
    constraint review_item_decision_ck check (decision is null or decision in ('keep', 'remove', 'not_sure'))
);
insert into review_item_next (id, review_instance_id, stage, assignment_id, drift_id, person_id,
    access_package_id, resource_id, holder_rank, access_rank, recommendation, recommendation_json,
    decision, reason, decided_by_id, decided_at, applied_at, applied_result, created_at)
select i.id, i.review_instance_id, i.stage, i.assignment_id, i.drift_id, i.person_id,
    i.access_package_id, i.resource_id,
    coalesce(hr.position, 0), coalesce(ar.position, 0),
    i.recommendation, i.recommendation_json, i.decision, i.reason, i.decided_by_id, i.decided_at,
    i.applied_at, i.applied_result, i.created_at
from review_item i
left join (select id, row_number() over (order by lower(display_name), lower(email), id) as position
           from person) hr on hr.id = i.person_id
left join (select subject, id, row_number() over (order by lower(name), subject, id) as position
           from (select 'package' as subject, id, name from access_package
                 union all select 'resource', id, name from resource)) ar
       on (ar.subject = 'package' and ar.id = i.access_package_id)
       or (ar.subject = 'resource' and i.access_package_id is null and ar.id = i.resource_id);

create table review_item_reviewer_next (
    review_item_id integer not null,
    person_id integer not null,
    review_instance_id integer not null,
    stage integer not null,
    reassigned_by_id integer,
    reassign_reason text,
    created_at integer not null,
    constraint review_item_reviewer_pk primary key (review_item_id, person_id),
    constraint review_item_reviewer_reassigned_by_fk foreign key (reassigned_by_id) references person (id)
);
insert into review_item_reviewer_next (review_item_id, person_id, review_instance_id, stage,
    reassigned_by_id, reassign_reason, created_at)
select review_item_id, person_id, review_instance_id, stage, reassigned_by_id, reassign_reason, created_at
from review_item_reviewer;

drop table review_item_reviewer;
drop table review_item;
alter table review_item_next rename to review_item;
alter table review_item_reviewer_next rename to review_item_reviewer;

-- One item per assignment (or drift) per stage; also finds an assignment's earlier items.
create unique index review_item_assignment_instance_stage_uq on review_item (assignment_id, review_instance_id, stage);
create unique index review_item_drift_instance_stage_uq on review_item (drift_id, review_instance_id, stage)
    where drift_id is not null;
create index review_item_instance_stage_decision_idx on review_item (review_instance_id, stage, decision);
-- A reviewer's items in the page's order (by holder), one index range.
create index review_item_reviewer_id_idx on review_item (reviewer_id, review_instance_id, stage, holder_rank, access_rank, id);
create index review_item_reviewer_person_instance_idx on review_item_reviewer (person_id, review_instance_id, stage, review_item_id);
create index review_item_reviewer_instance_stage_idx on review_item_reviewer (review_instance_id, stage, person_id);

-- The policies that a batch of assignments was granted under (policy rules re-checked in a
-- review), and a policy's holders.
create index assignment_assignment_policy_id_idx on assignment (assignment_policy_id, id);

-- Batches of the snapshot (see 4. above); those of an instance still starting are its rest.
create table review_snapshot_batch (
    review_instance_id integer not null,
    after_id integer not null,
    upto_id integer not null,
    done integer not null default false,
    constraint review_snapshot_batch_pk primary key (review_instance_id, after_id),
    constraint review_snapshot_batch_review_instance_fk foreign key (review_instance_id) references review_instance (id)
);
insert into review_snapshot_batch (review_instance_id, after_id, upto_id)
select id, snapshot_after_id, snapshot_until_id from review_instance
where status = 'starting' and snapshot_after_id < snapshot_until_id;
-- Peers are counted once, when the snapshot is complete: start those over.
delete from review_peer where review_instance_id in (select id from review_instance where status = 'starting');
alter table review_instance drop column snapshot_after_id;
