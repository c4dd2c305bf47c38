{{ latest_version(ref('base_parcours3__events'), record_key('events')) }}
