-- Email notifications (issue 5).

-- The action links a message carries, minted by the mailer at delivery so the raw token is
-- never stored: a JSON list of {purpose, subject_kind, subject_id, subject_version,
-- person_id, expires_at}; the bodies hold %ACTION_URL_<i>% where each link goes.
alter table outbound_message add column actions_json text not null default '[]';
-- The digest message an item held for a daily digest was sent in.
alter table outbound_message add column digest_message_id bigint
    constraint outbound_message_digest_message_fk references outbound_message (id);
create index outbound_message_digest_message_id_idx on outbound_message (digest_message_id);

-- A person's choice: one message per item (false) or one daily digest (true).
alter table person add column mail_digest boolean not null default false;

-- When the approver was reminded that the decision deadline is near.
alter table approval_task add column reminded_at bigint;

-- The nearest "your access ends in N days" warning the holder got (null: none yet; reset
-- when the end moves).
alter table assignment add column warned_days bigint;

-- Notices that must go out once (a person's digest of one day): the key names the notice
-- and its subject, e.g. `digest:42:2026-11-30`.
create table notice_sent (
    notice_key text primary key,
    created_at bigint not null
);
