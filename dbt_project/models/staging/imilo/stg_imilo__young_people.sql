{{ latest_version(ref('base_imilo__young_people'), record_key('young_people')) }}
