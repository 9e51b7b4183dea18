-- Outboxes made before refused recipients were recorded lack the column.
alter table outbox add column refused_recipients varchar;
