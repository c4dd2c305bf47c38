{{ latest_version(ref('base_imilo__scheme_enrolments'), record_key('scheme_enrolments')) }}
