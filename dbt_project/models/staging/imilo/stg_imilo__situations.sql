{{ latest_version(ref('base_imilo__situations'), record_key('situations')) }}
