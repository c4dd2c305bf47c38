{{ latest_version(ref('base_parcours3__situations'), record_key('situations')) }}
