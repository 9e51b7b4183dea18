-- Where a file stands among the loaded deliveries: does it sort after every other
-- loaded file, does it replace an earlier version of itself?
select
    coalesce(bool_and((file_name, path) < ($file_name, $path)) filter (where path <> $path), true) as sorts_last,
    coalesce(bool_or(path = $path), false) as replaces_earlier_version
from loads
where status = 'loaded'
