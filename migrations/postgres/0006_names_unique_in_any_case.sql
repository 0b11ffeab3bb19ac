-- Catalog and package names are unique whatever their case ("Finance" and "finance" are
-- one name to a person). The database says so, instead of a query that looked first and
-- could race; store::constraint turns a refusal into a message next to the name field.
create unique index catalog_lower_name_uq on catalog (lower(name));
create unique index access_package_catalog_lower_name_uq on access_package (catalog_id, lower(name));
