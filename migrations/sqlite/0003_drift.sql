-- Reconciliation (issue 6): what a connector's system holds that Gatehouse does not grant
-- (added out of band, or a removal that did not stick), and what Gatehouse grants that is
-- missing downstream. A row stays open until a later reconciliation no longer finds it.
create table drift (
    id integer primary key,
    connector_id integer not null,
    resource_id integer not null,
    account_id text not null,
    person_id integer,
    kind text not null,
    found_at integer not null,
    seen_at integer not null,
    repaired_at integer,
    resolved_at integer,
    constraint drift_connector_fk foreign key (connector_id) references connector (id),
    constraint drift_resource_fk foreign key (resource_id) references resource (id),
    constraint drift_person_fk foreign key (person_id) references person (id),
    constraint drift_kind_ck check (kind in ('unexpected_member', 'missing_member'))
);
create index drift_resource_id_resolved_at_idx on drift (resource_id, resolved_at);
