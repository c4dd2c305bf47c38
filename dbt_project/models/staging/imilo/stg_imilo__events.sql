{{ latest_version(ref('base_imilo__events'), record_key('events')) }}
