-- Databases made before record keys became 128-bit integers kept the HMAC as 64 hex
-- characters: keep its first 128 bits, the same key the loader now computes.
alter table birth_records alter record_hash type uhugeint using ('0x' || left(record_hash, 32))::uhugeint;
alter table births alter record_hash type uhugeint using ('0x' || left(record_hash, 32))::uhugeint;
alter table quarantine alter record_hash type uhugeint using ('0x' || left(record_hash, 32))::uhugeint;
