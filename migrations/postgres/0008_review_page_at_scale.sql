-- The reviewer's page at 10 000 items: everything the page needs to order, count and page a
-- reviewer's items is on their reviewer rows, so a page reads those rows (one index range)
-- and only its own 50 items; and the peers of a holder ("2 of 41 people in Sales hold
-- this") are counted once, while the instance is filled, not on every page.

-- Sort and search keys: the holder's name and email, the access's name, lower case.
alter table review_item_reviewer add column holder_key text not null default '';
alter table review_item_reviewer add column access_key text not null default '';
-- The item has a decision / a recommendation (kept in step by the store).
alter table review_item_reviewer add column decided boolean not null default false;
alter table review_item_reviewer add column recommended boolean not null default false;

update review_item_reviewer set
    holder_key = coalesce((select lower(h.display_name) || ' ' || lower(h.email)
                           from review_item i join person h on h.id = i.person_id
                           where i.id = review_item_reviewer.review_item_id), ''),
    access_key = coalesce((select lower(coalesce(pk.name, res.name, ''))
                           from review_item i left join access_package pk on pk.id = i.access_package_id
                           left join resource res on res.id = i.resource_id
                           where i.id = review_item_reviewer.review_item_id), ''),
    decided = exists (select 1 from review_item i
                      where i.id = review_item_reviewer.review_item_id and i.decision is not null),
    recommended = exists (select 1 from review_item i
                          where i.id = review_item_reviewer.review_item_id and i.recommendation is not null);

-- A reviewer's page in either order is one range of one index.
drop index review_item_reviewer_person_instance_idx;
create index review_item_reviewer_person_holder_idx on review_item_reviewer
    (person_id, review_instance_id, stage, holder_key, access_key, review_item_id);
create index review_item_reviewer_person_access_idx on review_item_reviewer
    (person_id, review_instance_id, stage, access_key, holder_key, review_item_id);

-- Peers, as at the start of the instance: holders of each package per department, and the
-- active people of each department.
create table review_peer (
    review_instance_id bigint not null,
    access_package_id bigint not null,
    department text not null,
    holders bigint not null,
    constraint review_peer_pk primary key (review_instance_id, access_package_id, department),
    constraint review_peer_review_instance_fk foreign key (review_instance_id) references review_instance (id),
    constraint review_peer_access_package_fk foreign key (access_package_id) references access_package (id)
);
create table review_department (
    review_instance_id bigint not null,
    department text not null,
    people bigint not null,
    constraint review_department_pk primary key (review_instance_id, department),
    constraint review_department_review_instance_fk foreign key (review_instance_id) references review_instance (id)
);
