-- Databases made before "not evaluated" rows existed held dq_results.success NOT NULL.
alter table dq_results alter column success drop not null;
