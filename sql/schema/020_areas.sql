-- The area tree and its closure; rebuilt from areas.csv on every run.

create table if not exists areas (
    area_code   varchar primary key,
    name        varchar not null,
    parent_code varchar,
    level       varchar not null,
    depth       integer not null,        -- 0 at the root
    is_leaf     boolean not null
);

-- Every area paired with itself and each of its ancestors.
create table if not exists area_ancestors (
    area_code       varchar not null,
    ancestor_code   varchar not null,
    ancestor_depth  integer not null
);

create table if not exists adjacency (
    area_code_a varchar not null,
    area_code_b varchar not null
);
