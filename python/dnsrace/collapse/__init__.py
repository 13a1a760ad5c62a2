"""Phase 2: the lease manager's metastable collapse, driven through the store's leases.

:func:`dnsrace.collapse.managers.simulate` runs a fleet of droplets and K lease managers under
one recovery discipline (:data:`dnsrace.collapse.config.PRESETS`);
:func:`dnsrace.collapse.metrics.summary` turns a run into the per-preset JSON figures;
:mod:`dnsrace.collapse.sweep` draws the phase diagram. Needs numpy (``dnsrace[numpy]``).
"""
