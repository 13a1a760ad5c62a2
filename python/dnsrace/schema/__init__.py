"""How a configuration is declared and checked, for the modules that declare one
(:mod:`dnsrace.sim.scenario`, :mod:`dnsrace.collapse.config`): bounded field types and their
validation (:mod:`~dnsrace.schema.fields`), every upper bound (:mod:`~dnsrace.schema.limits`),
the one error (:mod:`~dnsrace.schema.errors`) and TOML tables and ``--set`` overrides
(:mod:`~dnsrace.schema.tables`). It knows no field of any configuration; the public face over
both kinds is :mod:`dnsrace.config`."""
