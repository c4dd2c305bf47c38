{{ latest_version(ref('base_parcours3__scheme_enrolments'), record_key('scheme_enrolments')) }}
