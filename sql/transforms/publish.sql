-- Swap the staged outputs in. The caller wraps this file in one transaction, so
-- readers see either the old outputs or the new, never a mix.
delete from main.srb_estimates;
insert into main.srb_estimates select * from staging.srb_estimates;
delete from main.alerts;
insert into main.alerts select * from staging.alerts;
delete from main.cusum_paths;
insert into main.cusum_paths select * from staging.cusum_paths;
delete from main.detectability;
insert into main.detectability select * from staging.detectability;
