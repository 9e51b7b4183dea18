insert into loads (
    delivery_id, path, file_name, size_bytes, sha256, status, rule, reason,
    rows_read, rows_loaded, rows_quarantined, columns_dropped, encoding, loaded_at
)
values (
    $delivery_id, $path, $file_name, $size_bytes, $sha256, $status, $rule, $reason,
    $rows_read, $rows_loaded, $rows_quarantined, $columns_dropped, $encoding, $loaded_at
)
