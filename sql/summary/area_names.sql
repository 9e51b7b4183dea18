select area_code, name from areas
