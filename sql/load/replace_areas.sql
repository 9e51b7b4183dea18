-- Replace the area reference with the frames registered as new_areas,
-- new_area_ancestors and new_adjacency (pipeline/areas.py has checked them).
delete from areas;
insert into areas (area_code, name, parent_code, level, depth, is_leaf)
select area_code, name, parent_code, level, depth, is_leaf from new_areas;
delete from area_ancestors;
insert into area_ancestors (area_code, ancestor_code, ancestor_depth)
select area_code, ancestor_code, ancestor_depth from new_area_ancestors;
delete from adjacency;
insert into adjacency (area_code_a, area_code_b)
select area_code_a, area_code_b from new_adjacency;
