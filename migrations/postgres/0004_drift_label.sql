-- Drift names the account as its system shows it (a SCIM userName, an LDAP DN), read at
-- reconciliation, so that an administrator can tell who was added out of band.
alter table drift add column account_label text;
