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
    review_instance_id bigint not null,
    subject text not null,
    subject_id bigint not null,
    position bigint not null,
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

alter table review_item
    drop constraint review_item_review_instance_fk,
    drop constraint review_item_assignment_fk,
    drop constraint review_item_drift_fk,
    drop constraint review_item_person_fk,
    drop constraint review_item_access_package_fk,
    drop constraint review_item_resource_fk,
    drop constraint review_item_decided_by_fk,
    drop constraint review_item_instance_stage_assignment_uq,
    drop constraint review_item_instance_stage_drift_uq,
    add column reviewer_id bigint,
    add column holder_rank bigint not null default 0,
    add column access_rank bigint not null default 0;
drop index review_item_assignment_id_idx;

update review_item set holder_rank = hr.position
from (select id, row_number() over (order by lower(display_name), lower(email), id) as position
      from person) hr
where hr.id = review_item.person_id;
update review_item set access_rank = ar.position
from (select subject, id, row_number() over (order by lower(name), subject, id) as position
      from (select 'package' as subject, id, name from access_package
            union all select 'resource', id, name from resource) x) ar
where (ar.subject = 'package' and ar.id = review_item.access_package_id)
   or (ar.subject = 'resource' and review_item.access_package_id is null and ar.id = review_item.resource_id);

drop index review_item_reviewer_person_holder_idx;
drop index review_item_reviewer_person_access_idx;
alter table review_item_reviewer
    drop constraint review_item_reviewer_review_item_fk,
    drop constraint review_item_reviewer_person_fk,
    drop column holder_key,
    drop column access_key,
    drop column decided,
    drop column recommended;

-- One item per assignment (or drift) per stage; also finds an assignment's earlier items.
create unique index review_item_assignment_instance_stage_uq on review_item (assignment_id, review_instance_id, stage);
create unique index review_item_drift_instance_stage_uq on review_item (drift_id, review_instance_id, stage)
    where drift_id is not null;
-- A reviewer's items in the page's order (by holder), one index range.
create index review_item_reviewer_id_idx on review_item (reviewer_id, review_instance_id, stage, holder_rank, access_rank, id);
create index review_item_reviewer_person_instance_idx on review_item_reviewer (person_id, review_instance_id, stage, review_item_id);

-- The policies that a batch of assignments was granted under (policy rules re-checked in a
-- review), and a policy's holders.
create index assignment_assignment_policy_id_idx on assignment (assignment_policy_id, id);

-- Batches of the snapshot (see 4. above); those of an instance still starting are its rest.
create table review_snapshot_batch (
    review_instance_id bigint not null,
    after_id bigint not null,
    upto_id bigint not null,
    done boolean not null default false,
    constraint review_snapshot_batch_pk primary key (review_instance_id, after_id),
    constraint review_snapshot_batch_review_instance_fk foreign key (review_instance_id) references review_instance (id)
);
insert into review_snapshot_batch (review_instance_id, after_id, upto_id)
select id, snapshot_after_id, snapshot_until_id from review_instance
where status = 'starting' and snapshot_after_id < snapshot_until_id;
-- Peers are counted once, when the snapshot is complete: start those over.
delete from review_peer where review_instance_id in (select id from review_instance where status = 'starting');
alter table review_instance drop column snapshot_after_id;
