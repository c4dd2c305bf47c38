{{ latest_version(ref('base_parcours3__young_people'), record_key('young_people')) }}
