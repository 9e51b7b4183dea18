select nextval('delivery_id_seq') as delivery_id
