-- The audit chain is keyed (HMAC-SHA-256 with a key from configuration that the database
-- never holds). Events written before carry the plain SHA-256 and are marked unkeyed.
alter table audit_event add column keyed boolean not null default false;

-- How far the chain was verified, so that the audit page checks only what came after.
-- Signed with the audit key, so it cannot be moved forward over events never verified.
create table audit_verification (
    id bigint primary key,
    verified_event_id bigint not null,
    verified_hash text not null,
    verified_events bigint not null,
    verified_at bigint not null,
    mac text not null,
    constraint audit_verification_single_row_ck check (id = 1)
);

-- The message an email link was minted for: a new attempt or a resend of the message
-- replaces its earlier, unused links instead of adding valid ones.
alter table action_token add column outbound_message_id bigint
    constraint action_token_outbound_message_fk references outbound_message (id);
create index action_token_outbound_message_id_idx on action_token (outbound_message_id);

-- Which downstream groups a catalog's owners may add as resources, per connector, as the
-- administrators decided: exact group ids (JSON list; "*" for every group) and where the
-- groups lie (a name prefix, or an LDAP base DN).
create table catalog_connector (
    catalog_id bigint not null,
    connector_id bigint not null,
    groups_json text not null default '[]',
    within text,
    created_at bigint not null,
    updated_at bigint not null,
    constraint catalog_connector_pk primary key (catalog_id, connector_id),
    constraint catalog_connector_catalog_fk foreign key (catalog_id) references catalog (id),
    constraint catalog_connector_connector_fk foreign key (connector_id) references connector (id)
);
create index catalog_connector_connector_id_idx on catalog_connector (connector_id);
