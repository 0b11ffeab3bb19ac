-- HR inbound over SCIM 2.0 (issue 16): an HR system or identity provider pushes people to
-- `/scim/v2/Users`.
--
-- 1. A person gets the SCIM attributes Gatehouse did not keep: the unique `userName` (in
--    any case), the client's `externalId`, given and family names, and a `version` that
--    every change of a SCIM-visible attribute raises (the ETag: a client that read version
--    3 cannot overwrite version 4).
-- 2. `scim_removed_at`: a SCIM DELETE. The person stays (the audit trail names them) as
--    left, with their access ended; SCIM answers 404 for them from then on (RFC 7644 3.6).
-- 3. `scim_token`: the bearer tokens administrators make for HR systems, stored as their
--    SHA-256 (the token is shown once), revocable.

alter table person add column user_name text;
alter table person add column external_id text;
alter table person add column given_name text;
alter table person add column family_name text;
alter table person add column version integer not null default 1;
alter table person add column scim_removed_at integer;
-- A person without a userName (made before, by sign-in or the demo) answers with their
-- email; the two are unique together, in any case.
create unique index person_user_name_uq on person (lower(coalesce(user_name, email)));
create index person_external_id_idx on person (external_id);

create table scim_token (
    id integer primary key,
    name text not null,
    token_hash text not null,
    created_by_id integer not null,
    created_at integer not null,
    last_used_at integer,
    revoked_at integer,
    constraint scim_token_token_hash_uq unique (token_hash),
    constraint scim_token_created_by_fk foreign key (created_by_id) references person (id)
);
